package models

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
)

// Versions of what pages show, for the rendered-page cache. Triggers
// (migration 20261122000001_cache_revs) bump them in the same transaction as
// every write that changes a page: topics.rev for a topic page, the sum of
// categories.rev for topic lists, site_rev.rev for authors, categories and
// settings, which every page shows, site_rev.lists for the list changes
// that must show at once (see the migration), and site_rev.flair for
// members' levels and badge counts, which may show a grace late
// (20261207000002_flair_rev). Each only ever grows, and a
// writer holds the row until it commits, so a page read after its version is
// at least as new as that version.

// Versions reads page versions with statements prepared once: they run
// before every cached page, where parsing the SQL again would cost as much as
// the rest of a cache hit.
type Versions struct {
	topic, lists, personal *sql.Stmt
}

// personalSQL finds whether a member has anything of their own on posts
// from..to of a topic or its best answer: a post, a like or an open flag, or
// the topic itself, or a watch level of the topic (the page shows it). Each
// post costs two primary-key probes.
const personalSQL = `SELECT EXISTS (SELECT 1 FROM topics AS t JOIN posts AS p ON p.topic_id = t.id
	WHERE t.id = ?1 AND (p.post_number BETWEEN ?2 AND ?3 OR p.id = t.solved_post_id)
	AND (t.user_id = ?4 OR p.user_id = ?4
		OR EXISTS (SELECT 1 FROM likes AS l WHERE l.post_id = p.id AND l.user_id = ?4)
		OR EXISTS (SELECT 1 FROM flags AS f WHERE f.post_id = p.id AND f.user_id = ?4 AND f.status = 'open')))
	OR EXISTS (SELECT 1 FROM topic_watches AS w WHERE w.user_id = ?4 AND w.topic_id = ?1)`

// PrepareVersions prepares the version queries on db.
func PrepareVersions(ctx context.Context, db *bun.DB) (*Versions, error) {
	topicSQL, personal := "SELECT t.slug, t.rev, s.rev, s.flair FROM topics AS t, site_rev AS s WHERE t.id = ?1", personalSQL
	if db.Dialect().Name() == dialect.PG {
		topicSQL, personal = strings.ReplaceAll(topicSQL, "?", "$"), strings.ReplaceAll(personal, "?", "$")
	}
	v := &Versions{}
	var err error
	if v.topic, err = db.DB.PrepareContext(ctx, topicSQL); err != nil {
		return nil, fmt.Errorf("prepare topic version: %w", err)
	}
	if v.lists, err = db.DB.PrepareContext(ctx,
		"SELECT (SELECT COALESCE(SUM(rev), 0) FROM categories), rev, lists, flair FROM site_rev"); err != nil {
		v.topic.Close()
		return nil, fmt.Errorf("prepare lists version: %w", err)
	}
	if v.personal, err = db.DB.PrepareContext(ctx, personal); err != nil {
		v.topic.Close()
		v.lists.Close()
		return nil, fmt.Errorf("prepare personal check: %w", err)
	}
	return v, nil
}

// Topic returns a topic's slug and the version of its pages, with the part
// of it that only the changes that must show at once move (strict: all but
// flair). It reads no post, and returns ErrNotFound for an unknown id.
func (v *Versions) Topic(ctx context.Context, topicID int64) (slug, full, strict string, err error) {
	var rev, site, flair int64
	err = v.topic.QueryRowContext(ctx, topicID).Scan(&slug, &rev, &site, &flair)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", "", ErrNotFound
	}
	if err != nil {
		return "", "", "", fmt.Errorf("topic %d version: %w", topicID, err)
	}
	strict = strconv.FormatInt(rev, 10) + "." + strconv.FormatInt(site, 10)
	return slug, strict + "." + strconv.FormatInt(flair, 10), strict, nil
}

// Lists returns the version of every topic list, and the part of it that
// only the changes that must show at once move (strict).
func (v *Versions) Lists(ctx context.Context) (full, strict string, err error) {
	var cats, site, lists, flair int64
	if err := v.lists.QueryRowContext(ctx).Scan(&cats, &site, &lists, &flair); err != nil {
		return "", "", fmt.Errorf("lists version: %w", err)
	}
	strict = strconv.FormatInt(site, 10) + "." + strconv.FormatInt(lists, 10)
	return strconv.FormatInt(cats, 10) + "." + strconv.FormatInt(flair, 10) + "." + strict, strict, nil
}

// Personal reports whether userID has anything of their own on posts
// from..to of a topic (see personalSQL): then their view of the page is
// theirs alone.
func (v *Versions) Personal(ctx context.Context, topicID int64, from, to int, userID int64) (bool, error) {
	var found bool
	if err := v.personal.QueryRowContext(ctx, topicID, from, to, userID).Scan(&found); err != nil {
		return false, fmt.Errorf("personal check of topic %d: %w", topicID, err)
	}
	return found, nil
}
