// Package seed fills a database with forum content: Demo writes a small,
// hand-written customer community to show the product; Synthetic generates a
// large forum fast, for benchmarks and load tests.
package seed

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"agora/accounts"
	"agora/models"
)

// ErrNotEmpty reports that Demo found categories already in the database.
var ErrNotEmpty = errors.New("the database is not empty (it has categories); demo data goes into a fresh database only")

// Summary counts the rows one seeding run created.
type Summary struct {
	Categories, Users, Topics, Posts int
	Elapsed                          time.Duration
}

// String reads like "5 categories, 8 users, 15 topics, 48 posts in 1.2s".
func (s Summary) String() string {
	return fmt.Sprintf("%d categories, %d users, %d topics, %d posts in %s",
		s.Categories, s.Users, s.Topics, s.Posts, s.Elapsed.Round(time.Millisecond))
}

// PostsPerSecond is the posts written per second of Elapsed (0 when nothing was timed).
func (s Summary) PostsPerSecond() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Posts) / s.Elapsed.Seconds()
}

// categoryDef is one of the categories both seeds create in an empty database.
type categoryDef struct {
	name, slug, color, description string
}

var defaultCategories = []categoryDef{
	{"Getting Started", "getting-started", "#2f855a",
		"New to Tasklane? Setting up a workspace, inviting your team and finding your way around."},
	{"Questions & Answers", "questions", "#3b6ea8",
		"Ask how to do something in Tasklane and help others with what you know. Mark the reply that solved it."},
	{"Integrations & API", "integrations-api", "#805ad5",
		"Webhooks, the REST API, Slack, GitHub, calendars and everything else that talks to Tasklane."},
	{"Feature Requests", "feature-requests", "#dd6b20",
		"Ideas for what Tasklane should do next. Search first, then like the request you want most."},
	{"Announcements", "announcements", "#c53030",
		"Release notes, maintenance windows and news from the Tasklane team."},
}

// createDefaultCategories inserts defaultCategories in order and returns them with their ids.
func createDefaultCategories(ctx context.Context, db bun.IDB, now time.Time) ([]*models.Category, error) {
	cats := make([]*models.Category, len(defaultCategories))
	for i, d := range defaultCategories {
		c := &models.Category{Name: d.name, Slug: d.slug, Description: d.description, Color: d.color,
			Position: i + 1, CreatedAt: now, UpdatedAt: now}
		if err := models.CreateCategory(ctx, db, c); err != nil {
			return nil, fmt.Errorf("category %s: %w", d.slug, err)
		}
		cats[i] = c
	}
	return cats, nil
}

// hashPassword hashes the seed users' shared password once: argon2id costs
// tens of milliseconds, far too much to pay per user.
func hashPassword(pw string) (string, error) {
	h, err := accounts.HashPassword(pw)
	if err != nil {
		return "", fmt.Errorf("hash seed password: %w", err)
	}
	return h, nil
}
