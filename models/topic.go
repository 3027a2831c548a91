package models

import (
	"context"
	"time"

	"github.com/uptrace/bun"
)

// Topic is a question or discussion; its first post holds the body.
type Topic struct {
	bun.BaseModel `bun:"table:topics"`

	ID             int64      `bun:"id,pk,autoincrement" json:"id"`
	CategoryID     int64      `bun:"category_id" json:"category_id"`
	UserID         int64      `bun:"user_id" json:"user_id"`
	Title          string     `bun:"title" json:"title"`
	Slug           string     `bun:"slug" json:"slug"`
	FirstPostID    *int64     `bun:"first_post_id" json:"first_post_id"`
	SolvedPostID   *int64     `bun:"solved_post_id" json:"solved_post_id"`
	ReplyCount     int        `bun:"reply_count" json:"reply_count"`
	LikeCount      int        `bun:"like_count" json:"like_count"`
	ViewCount      int        `bun:"view_count" json:"view_count"`
	LastPostedAt   time.Time  `bun:"last_posted_at" json:"last_posted_at"`
	LastPostUserID *int64     `bun:"last_post_user_id" json:"last_post_user_id"`
	Locked         bool       `bun:"locked" json:"locked"`
	Pinned         bool       `bun:"pinned" json:"pinned"`
	RemovedAt      *time.Time `bun:"removed_at" json:"removed_at,omitempty"`
	CreatedAt      time.Time  `bun:"created_at" json:"created_at"`
	UpdatedAt      time.Time  `bun:"updated_at" json:"updated_at"`
}

// TopicListOptions selects a page of a topic list.
type TopicListOptions struct {
	CategoryID int64 // 0: every category
	Page       int   // from 1
	PerPage    int
}

// LatestTopics returns a page of visible topics by last activity (pinned first) and the total.
func LatestTopics(ctx context.Context, db bun.IDB, o TopicListOptions) ([]*Topic, int, error) {
	var topics []*Topic
	q := db.NewSelect().Model(&topics).Where("topic.removed_at IS NULL").
		Where("topic.category_id IN (SELECT id FROM categories WHERE archived = ?)", false).
		OrderExpr("topic.pinned DESC, topic.last_posted_at DESC, topic.id DESC").
		Limit(int64(o.PerPage)).Offset(int64((o.Page - 1) * o.PerPage))
	if o.CategoryID != 0 {
		q.Where("topic.category_id = ?", o.CategoryID)
	}
	total, err := q.ScanAndCount(ctx)
	if err != nil {
		return nil, 0, notFound(err, "list topics")
	}
	return topics, int(total), nil
}
