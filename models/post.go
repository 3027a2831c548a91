package models

import (
	"context"
	"time"

	"github.com/uptrace/bun"
)

// Post is one message in a topic; post_number 1 is the topic's question.
// Body is the Markdown as written, HTML its sanitized rendering (made once, at write time).
type Post struct {
	bun.BaseModel `bun:"table:posts"`

	ID            int64      `bun:"id,pk,autoincrement" json:"id"`
	TopicID       int64      `bun:"topic_id" json:"topic_id"`
	UserID        int64      `bun:"user_id" json:"user_id"`
	PostNumber    int        `bun:"post_number" json:"post_number"`
	ReplyToPostID *int64     `bun:"reply_to_post_id" json:"reply_to_post_id"`
	Body          string     `bun:"body" json:"body"`
	HTML          string     `bun:"html" json:"html"`
	RenderVersion int        `bun:"render_version" json:"-"`
	LikeCount     int        `bun:"like_count" json:"like_count"`
	RevisionCount int        `bun:"revision_count" json:"revision_count"`
	EditedAt      *time.Time `bun:"edited_at" json:"edited_at"`
	HiddenAt      *time.Time `bun:"hidden_at" json:"hidden_at,omitempty"`
	RemovedAt     *time.Time `bun:"removed_at" json:"removed_at,omitempty"`
	RemovedBy     *int64     `bun:"removed_by" json:"-"`
	RemovedReason string     `bun:"removed_reason" json:"removed_reason,omitempty"`
	CreatedAt     time.Time  `bun:"created_at" json:"created_at"`
	UpdatedAt     time.Time  `bun:"updated_at" json:"updated_at"`
}

// Revision is one saved version of a post: number 0 is the original, each
// edit adds the new body with who changed it and why.
type Revision struct {
	bun.BaseModel `bun:"table:post_revisions"`

	ID        int64     `bun:"id,pk,autoincrement" json:"id"`
	PostID    int64     `bun:"post_id" json:"post_id"`
	UserID    int64     `bun:"user_id" json:"user_id"`
	Number    int       `bun:"number" json:"number"`
	Body      string    `bun:"body" json:"body"`
	Reason    string    `bun:"reason" json:"reason"`
	CreatedAt time.Time `bun:"created_at" json:"created_at"`
}

// Like is one member's like of one post.
type Like struct {
	bun.BaseModel `bun:"table:likes"`

	PostID    int64     `bun:"post_id,pk"`
	UserID    int64     `bun:"user_id,pk"`
	CreatedAt time.Time `bun:"created_at"`
}

// Search outbox entities and operations.
const (
	OutboxPost     = "post"     // one post
	OutboxTopic    = "topic"    // every post of a topic (title, state, category)
	OutboxCategory = "category" // every post of a category (slug, archived)
	// OutboxUpsert is the only operation written: the indexer drops what it
	// can no longer load.
	OutboxUpsert = "upsert"
)

// OutboxEntry asks the search indexer to refresh (or drop) one entity.
type OutboxEntry struct {
	bun.BaseModel `bun:"table:search_outbox"`

	ID          int64      `bun:"id,pk,autoincrement"`
	Entity      string     `bun:"entity"` // OutboxPost, OutboxTopic or OutboxCategory
	EntityID    int64      `bun:"entity_id"`
	Op          string     `bun:"op"` // OutboxUpsert
	CreatedAt   time.Time  `bun:"created_at"`
	ProcessedAt *time.Time `bun:"processed_at"`
}

// PostByID returns the post or ErrNotFound.
func PostByID(ctx context.Context, db bun.IDB, id int64) (*Post, error) {
	p := new(Post)
	err := db.NewSelect().Model(p).Where("id = ?", id).Scan(ctx)
	return p, notFound(err, "load post")
}

// PostsWithTopics returns the posts with those ids and their topics, each keyed by id.
func PostsWithTopics(ctx context.Context, db bun.IDB, ids []int64) (map[int64]*Post, map[int64]*Topic, error) {
	posts, err := PostsByIDs(ctx, db, ids)
	if err != nil {
		return nil, nil, err
	}
	topicIDs := make([]int64, 0, len(posts))
	for _, p := range posts {
		topicIDs = append(topicIDs, p.TopicID)
	}
	topics, err := TopicsByIDs(ctx, db, topicIDs)
	if err != nil {
		return nil, nil, err
	}
	return posts, topics, nil
}

// PostsByIDs returns the posts with those ids keyed by id.
func PostsByIDs(ctx context.Context, db bun.IDB, ids []int64) (map[int64]*Post, error) {
	out := make(map[int64]*Post, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	var posts []*Post
	if err := db.NewSelect().Model(&posts).Where("id IN (?)", bun.List(ids)).Scan(ctx); err != nil {
		return nil, notFound(err, "load posts")
	}
	for _, p := range posts {
		out[p.ID] = p
	}
	return out, nil
}

// TopicPosts returns the posts of a topic numbered from..to (inclusive), in order.
// Paging by post_number keeps page links stable and uses the (topic_id, post_number) index.
func TopicPosts(ctx context.Context, db bun.IDB, topicID int64, from, to int) ([]*Post, error) {
	var posts []*Post
	err := db.NewSelect().Model(&posts).Where("topic_id = ?", topicID).
		Where("post_number BETWEEN ? AND ?", from, to).Order("post_number").Scan(ctx)
	return posts, notFound(err, "load topic posts")
}

// LastPostNumber returns the highest post_number in a topic (0 when empty).
func LastPostNumber(ctx context.Context, db bun.IDB, topicID int64) (int, error) {
	var n int
	err := db.NewSelect().Model((*Post)(nil)).ColumnExpr("COALESCE(MAX(post_number), 0)").
		Where("topic_id = ?", topicID).Scan(ctx, &n)
	return n, notFound(err, "last post number")
}

// LikedPostIDs returns which of postIDs userID has liked.
func LikedPostIDs(ctx context.Context, db bun.IDB, userID int64, postIDs []int64) (map[int64]bool, error) {
	out := map[int64]bool{}
	if len(postIDs) == 0 || userID == 0 {
		return out, nil
	}
	var ids []int64
	err := db.NewSelect().Model((*Like)(nil)).Column("post_id").Where("user_id = ?", userID).
		Where("post_id IN (?)", bun.List(postIDs)).Scan(ctx, &ids)
	if err != nil {
		return nil, notFound(err, "load likes")
	}
	for _, id := range ids {
		out[id] = true
	}
	return out, nil
}

// PostRevisions returns a post's revisions, oldest first.
func PostRevisions(ctx context.Context, db bun.IDB, postID int64) ([]*Revision, error) {
	var revs []*Revision
	err := db.NewSelect().Model(&revs).Where("post_id = ?", postID).Order("number").Scan(ctx)
	return revs, notFound(err, "load revisions")
}

// Reindex adds a search outbox row asking to refresh entity (an Outbox
// constant) id; call it inside the write's transaction.
func Reindex(ctx context.Context, db bun.IDB, entity string, id int64, now time.Time) error {
	_, err := db.NewInsert().Model(&OutboxEntry{Entity: entity, EntityID: id, Op: OutboxUpsert, CreatedAt: now}).Exec(ctx)
	return notFound(err, "enqueue search update")
}

// ApplyPostEdit replaces p's body and HTML inside tx and records the
// revisions (the original first, on a post's first edit) and the search
// update. A concurrent edit that landed first makes it a *ConflictError.
func ApplyPostEdit(ctx context.Context, tx bun.IDB, p *Post, editorID int64, body, html string, renderVersion int, reason string, now time.Time) error {
	res, err := tx.NewUpdate().Model((*Post)(nil)).
		Set("body = ?", body).Set("html = ?", html).Set("render_version = ?", renderVersion).
		Set("revision_count = revision_count + 1").Set("edited_at = ?", now).Set("updated_at = ?", now).
		Where("id = ?", p.ID).Where("revision_count = ?", p.RevisionCount).Exec(ctx)
	if err != nil {
		return notFound(err, "update post")
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return &ConflictError{Field: "body", Message: "the post was edited by someone else meanwhile; reload it and try again"}
	}
	revs := []*Revision{}
	if p.RevisionCount == 0 {
		revs = append(revs, &Revision{PostID: p.ID, UserID: p.UserID, Number: 0, Body: p.Body, Reason: "original", CreatedAt: p.CreatedAt})
	}
	revs = append(revs, &Revision{PostID: p.ID, UserID: editorID, Number: p.RevisionCount + 1, Body: body, Reason: reason, CreatedAt: now})
	if _, err := tx.NewInsert().Model(&revs).Exec(ctx); err != nil {
		return notFound(err, "insert revision")
	}
	return Reindex(ctx, tx, OutboxPost, p.ID, now)
}
