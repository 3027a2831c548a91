package models

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"

	"github.com/uptrace/bun"
)

// Versions of what pages show, for the rendered-page cache. Triggers
// (migration 20261122000001_cache_revs) bump them in the same transaction as
// every write that changes a page: topics.rev for a topic page, the sum of
// categories.rev for topic lists, site_rev for authors, categories and
// settings, which every page shows. Each only ever grows, and a writer holds
// the row until it commits, so a page read after its version is at least as
// new as that version.

// TopicVersion returns a topic's slug and the version of its pages. It
// reads no post, and returns ErrNotFound for an unknown id.
func TopicVersion(ctx context.Context, db bun.IDB, topicID int64) (slug, version string, err error) {
	var rev, site int64
	err = db.QueryRowContext(ctx,
		"SELECT t.slug, t.rev, s.rev FROM topics AS t, site_rev AS s WHERE t.id = ?", topicID).Scan(&slug, &rev, &site)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", ErrNotFound
	}
	if err != nil {
		return "", "", fmt.Errorf("topic %d version: %w", topicID, err)
	}
	return slug, strconv.FormatInt(rev, 10) + "." + strconv.FormatInt(site, 10), nil
}

// ListsVersion returns the version of every topic list.
func ListsVersion(ctx context.Context, db bun.IDB) (string, error) {
	var cats, site int64
	err := db.QueryRowContext(ctx,
		"SELECT (SELECT COALESCE(SUM(rev), 0) FROM categories), (SELECT rev FROM site_rev)").Scan(&cats, &site)
	if err != nil {
		return "", fmt.Errorf("lists version: %w", err)
	}
	return strconv.FormatInt(cats, 10) + "." + strconv.FormatInt(site, 10), nil
}
