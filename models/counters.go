package models

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
)

// The denormalised counters, each changed by a typed call inside the
// write's transaction. Deltas may be negative; every statement names its
// columns here, so no SQL travels between packages.

// LockUsers takes the row locks of the members a write transaction will
// count, in id order, before it touches a post, topic or category. Every path
// that writes several keeps one order: members, then topic, then category,
// then the reactions (models.React: badges and levels), whose new level or
// badge count bumps the single site_rev row (its flair trigger). So two
// writers never wait on each other in a circle: a like that took site_rev
// before the topic, while a reply took them the other way round, deadlocked
// on PostgreSQL (internal/durability found it).
// SQLite runs one writer at a time, so only PostgreSQL needs the locks.
func LockUsers(ctx context.Context, tx bun.IDB, ids ...int64) error {
	if len(ids) == 0 || tx.Dialect().Name() != dialect.PG {
		return nil
	}
	_, err := tx.NewSelect().Model((*User)(nil)).Column("id").Where("id IN (?)", bun.List(ids)).
		Order("id").For("NO KEY UPDATE").Exec(ctx)
	if err != nil {
		return fmt.Errorf("lock members: %w", err)
	}
	return nil
}

// CountCategory adds topics and posts to a category's counters.
func CountCategory(ctx context.Context, db bun.IDB, id int64, topics, posts int) error {
	_, err := db.NewUpdate().Model((*Category)(nil)).Set("topic_count = topic_count + ?", topics).
		Set("post_count = post_count + ?", posts).Where("id = ?", id).Exec(ctx)
	return counted(err, "category", id)
}

// CountTopicInCategory adds (sign 1) or takes (sign -1) a topic with its
// posts (the topic's reply_count + 1, read in the same statement) to or
// from a category's counters: what removing, restoring or moving a topic does.
func CountTopicInCategory(ctx context.Context, db bun.IDB, topicID, categoryID int64, sign int) error {
	_, err := db.NewUpdate().Model((*Category)(nil)).Set("topic_count = topic_count + ?", sign).
		Set("post_count = post_count + ? * (SELECT reply_count + 1 FROM topics WHERE id = ?)", sign, topicID).
		Where("id = ?", categoryID).Exec(ctx)
	return counted(err, "category", categoryID)
}

// UserCounts are the changes to a member's activity counters.
type UserCounts struct {
	Topics, Posts, LikesGiven, LikesReceived int
}

// CountUser adds c to a member's counters.
func CountUser(ctx context.Context, db bun.IDB, id int64, c UserCounts) error {
	_, err := db.NewUpdate().Model((*User)(nil)).Set("topic_count = topic_count + ?", c.Topics).
		Set("post_count = post_count + ?", c.Posts).Set("likes_given = likes_given + ?", c.LikesGiven).
		Set("likes_received = likes_received + ?", c.LikesReceived).Where("id = ?", id).Exec(ctx)
	return counted(err, "user", id)
}

// CountFlagOutcome adds one agreed (or disagreed) flag to each member's track record.
func CountFlagOutcome(ctx context.Context, db bun.IDB, userIDs []int64, agreed bool) error {
	if len(userIDs) == 0 {
		return nil
	}
	q := db.NewUpdate().Model((*User)(nil)).Where("id IN (?)", bun.List(userIDs))
	if agreed {
		q.Set("flags_agreed = flags_agreed + 1")
	} else {
		q.Set("flags_disagreed = flags_disagreed + 1")
	}
	_, err := q.Exec(ctx)
	return counted(err, "flaggers", 0)
}

// CountReplies adds delta to a topic's reply count.
func CountReplies(ctx context.Context, db bun.IDB, topicID int64, delta int) error {
	_, err := db.NewUpdate().Model((*Topic)(nil)).Set("reply_count = reply_count + ?", delta).
		Where("id = ?", topicID).Exec(ctx)
	return counted(err, "topic", topicID)
}

// CountPostLike adds delta to a post's like count. Its row lock takes the
// topic's too (the posts trigger bumps the topic's version).
func CountPostLike(ctx context.Context, db bun.IDB, postID int64, delta int) error {
	_, err := db.NewUpdate().Model((*Post)(nil)).Set("like_count = like_count + ?", delta).
		Where("id = ?", postID).Exec(ctx)
	return counted(err, "post", postID)
}

// CountTopicLike adds delta to a topic's like count. Its trigger locks the
// category's row, the hottest there is, so it comes last in a transaction.
func CountTopicLike(ctx context.Context, db bun.IDB, topicID int64, delta int) error {
	_, err := db.NewUpdate().Model((*Topic)(nil)).Set("like_count = like_count + ?", delta).
		Where("id = ?", topicID).Exec(ctx)
	return counted(err, "topic", topicID)
}

func counted(err error, what string, id int64) error {
	if err != nil {
		return fmt.Errorf("update %s %d counters: %w", what, id, err)
	}
	return nil
}
