package models

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// Watch levels of a topic or category; no row is the default ("normal":
// replies to the member's own topics and posts, and mentions, notify).
const (
	WatchNormal   = "normal"
	WatchWatching = "watching" // every new reply notifies
	WatchMuted    = "muted"    // nothing from it notifies
)

// ValidWatch reports whether level is a watch level.
func ValidWatch(level string) bool {
	return level == WatchNormal || level == WatchWatching || level == WatchMuted
}

// Watch is a member's watch level of a topic (CategoryID 0) or a category (TopicID 0).
type Watch struct {
	UserID     int64     `bun:"user_id" json:"-"`
	TopicID    int64     `bun:"topic_id" json:"topic_id,omitempty"`
	CategoryID int64     `bun:"category_id" json:"category_id,omitempty"`
	Level      string    `bun:"level" json:"level"`
	CreatedAt  time.Time `bun:"created_at" json:"created_at"`
}

// watchTable returns the table and key column for a topic or a category watch.
func watchTable(category bool) (table, column string) {
	if category {
		return "category_watches", "category_id"
	}
	return "topic_watches", "topic_id"
}

// SetWatch sets a member's level for a topic (category false) or a category
// (true); WatchNormal removes the row.
func SetWatch(ctx context.Context, db bun.IDB, userID, id int64, category bool, level string, now time.Time) error {
	table, column := watchTable(category)
	if level == WatchNormal {
		_, err := db.NewRaw("DELETE FROM ? WHERE user_id = ? AND ? = ?", bun.Ident(table), userID, bun.Ident(column), id).
			Exec(ctx)
		return notFound(err, "clear watch")
	}
	// One statement, so two changes at once cannot clash on the key.
	_, err := db.NewRaw(`INSERT INTO ? (user_id, ?, level, created_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (user_id, ?) DO UPDATE SET level = excluded.level, created_at = excluded.created_at`,
		bun.Ident(table), bun.Ident(column), userID, id, level, now, bun.Ident(column)).Exec(ctx)
	return notFound(err, "set watch")
}

// WatchLevel returns a member's level for a topic or a category (WatchNormal without a row).
func WatchLevel(ctx context.Context, db bun.IDB, userID, id int64, category bool) (string, error) {
	table, column := watchTable(category)
	var levels []string
	if err := db.NewRaw("SELECT level FROM ? WHERE user_id = ? AND ? = ?", bun.Ident(table), userID, bun.Ident(column), id).
		Scan(ctx, &levels); err != nil {
		return "", fmt.Errorf("load watch: %w", err)
	}
	if len(levels) == 0 {
		return WatchNormal, nil
	}
	return levels[0], nil
}

// WatchesOf returns every topic and category a member watches or muted, newest first.
func WatchesOf(ctx context.Context, db bun.IDB, userID int64) ([]*Watch, error) {
	var ws []*Watch
	err := db.NewRaw(`SELECT user_id, topic_id, 0 AS category_id, level, created_at FROM topic_watches WHERE user_id = ?
		UNION ALL SELECT user_id, 0, category_id, level, created_at FROM category_watches WHERE user_id = ?
		ORDER BY created_at DESC`, userID, userID).Scan(ctx, &ws)
	return ws, notFound(err, "list watches")
}

// Audience is who hears of a new post in a topic: the members watching the
// topic, or its category without having muted the topic, and everyone who
// muted the topic, or its category without watching the topic.
type Audience struct {
	Watching, Muted map[int64]bool
}

// AudienceOf returns the watchers and muters of topicID in categoryID: one query.
func AudienceOf(ctx context.Context, db bun.IDB, topicID, categoryID int64) (Audience, error) {
	var rows []struct {
		UserID int64  `bun:"user_id"`
		Level  string `bun:"level"`
		Topic  bool   `bun:"topic"`
	}
	err := db.NewRaw(`SELECT user_id, level, TRUE AS topic FROM topic_watches WHERE topic_id = ?
		UNION ALL SELECT user_id, level, FALSE FROM category_watches WHERE category_id = ?`, topicID, categoryID).
		Scan(ctx, &rows)
	if err != nil {
		return Audience{}, fmt.Errorf("load watchers: %w", err)
	}
	a := Audience{Watching: map[int64]bool{}, Muted: map[int64]bool{}}
	topicLevel := map[int64]string{}
	for _, r := range rows {
		if r.Topic {
			topicLevel[r.UserID] = r.Level
		}
	}
	for _, r := range rows {
		level := r.Level
		if l, ok := topicLevel[r.UserID]; ok {
			level = l // the topic's own level wins over its category's
		}
		switch level {
		case WatchWatching:
			a.Watching[r.UserID] = true
		case WatchMuted:
			a.Muted[r.UserID] = true
		}
	}
	return a, nil
}
