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

// Topic list filters.
const (
	FilterLatest     = "latest"
	FilterUnanswered = "unanswered"
	FilterSolved     = "solved"
	FilterTop        = "top"
)

// ValidFilter reports whether f names a topic list.
func ValidFilter(f string) bool {
	return f == FilterLatest || f == FilterUnanswered || f == FilterSolved || f == FilterTop
}

// TopicListOptions selects a page of a topic list.
type TopicListOptions struct {
	CategoryID int64  // 0: every category that is not archived
	Filter     string // one of the Filter constants; empty means latest
	Page       int    // from 1
	PerPage    int
}

// ListTopics returns a page of visible topics and the list's total. Each
// filter is served by its own partial index (see the init migration).
func ListTopics(ctx context.Context, db bun.IDB, o TopicListOptions) ([]*Topic, int, error) {
	var topics []*Topic
	q := db.NewSelect().Model(&topics).Where("topic.removed_at IS NULL").
		Limit(int64(o.PerPage)).Offset(int64((o.Page - 1) * o.PerPage))
	if o.CategoryID != 0 {
		q.Where("topic.category_id = ?", o.CategoryID)
	} else {
		q.Where("topic.category_id NOT IN (SELECT id FROM categories WHERE archived = ?)", true)
	}
	switch o.Filter {
	case FilterUnanswered:
		q.Where("topic.reply_count = 0").OrderExpr("topic.created_at DESC, topic.id DESC")
	case FilterSolved:
		q.Where("topic.solved_post_id IS NOT NULL").OrderExpr("topic.last_posted_at DESC, topic.id DESC")
	case FilterTop:
		q.OrderExpr("topic.like_count DESC, topic.id DESC")
	default:
		if o.CategoryID != 0 {
			q.OrderExpr("topic.category_id, topic.pinned DESC, topic.last_posted_at DESC, topic.id DESC")
		} else {
			q.OrderExpr("topic.pinned DESC, topic.last_posted_at DESC, topic.id DESC")
		}
	}
	if o.Filter == FilterUnanswered || o.Filter == FilterSolved {
		total, err := q.ScanAndCount(ctx) // partial indexes keep these counts small
		return topics, int(total), notFound(err, "list topics")
	}
	if err := q.Scan(ctx); err != nil {
		return nil, 0, notFound(err, "list topics")
	}
	// Every visible topic is listed: the category counters (kept in each
	// write's transaction) give the total without counting 100,000 rows.
	var total int
	cq := db.NewSelect().Model((*Category)(nil)).ColumnExpr("COALESCE(SUM(topic_count), 0)")
	if o.CategoryID != 0 {
		cq.Where("id = ?", o.CategoryID)
	} else {
		cq.Where("archived = ?", false)
	}
	if err := cq.Scan(ctx, &total); err != nil {
		return nil, 0, notFound(err, "count topics")
	}
	return topics, total, nil
}

// TopicByID returns the topic (removed ones too) or ErrNotFound.
func TopicByID(ctx context.Context, db bun.IDB, id int64) (*Topic, error) {
	t := new(Topic)
	err := db.NewSelect().Model(t).Where("id = ?", id).Scan(ctx)
	return t, notFound(err, "load topic")
}

// TopicsByIDs returns the topics with those ids keyed by id.
func TopicsByIDs(ctx context.Context, db bun.IDB, ids []int64) (map[int64]*Topic, error) {
	out := make(map[int64]*Topic, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	var topics []*Topic
	if err := db.NewSelect().Model(&topics).Where("id IN (?)", bun.List(ids)).Scan(ctx); err != nil {
		return nil, notFound(err, "load topics")
	}
	for _, t := range topics {
		out[t.ID] = t
	}
	return out, nil
}

// PopularTopics returns up to limit topics with posts since then, the most
// replied to and liked first, leaving out removed topics and archived categories.
func PopularTopics(ctx context.Context, db bun.IDB, since time.Time, limit int) ([]*Topic, error) {
	var ts []*Topic
	err := db.NewSelect().Model(&ts).Where("removed_at IS NULL").Where("last_posted_at >= ?", since).
		Where("category_id IN (SELECT id FROM categories WHERE NOT archived)").
		OrderExpr("reply_count * 2 + like_count DESC, id DESC").Limit(int64(limit)).Scan(ctx)
	return ts, notFound(err, "list popular topics")
}
