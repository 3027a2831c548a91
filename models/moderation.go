package models

import (
	"context"
	"time"

	"github.com/uptrace/bun"
)

// Flag states.
const (
	FlagOpen      = "open"
	FlagAgreed    = "agreed"
	FlagDisagreed = "disagreed"
	FlagRetracted = "retracted"
)

// Flag is one member's report of one post.
type Flag struct {
	bun.BaseModel `bun:"table:flags"`

	ID           int64      `bun:"id,pk,autoincrement" json:"id"`
	PostID       int64      `bun:"post_id" json:"post_id"`
	UserID       int64      `bun:"user_id" json:"user_id"`
	PostUserID   int64      `bun:"post_user_id" json:"-"` // the post's author, for their history
	Reason       string     `bun:"reason" json:"reason"`
	Note         string     `bun:"note" json:"note"`
	Weight       int        `bun:"weight" json:"weight"`
	LevelPart    int        `bun:"level_part" json:"level_part"`
	AccuracyPart int        `bun:"accuracy_part" json:"accuracy_part"`
	Status       string     `bun:"status" json:"status"`
	Outcome      string     `bun:"outcome" json:"outcome"`
	ResolvedBy   *int64     `bun:"resolved_by" json:"resolved_by"`
	ResolvedAt   *time.Time `bun:"resolved_at" json:"resolved_at"`
	CreatedAt    time.Time  `bun:"created_at" json:"created_at"`
}

// ModAction is one entry of the append-only moderation log. Hash covers the
// entry's content and PrevHash, chaining every entry to the one before.
type ModAction struct {
	bun.BaseModel `bun:"table:moderation_actions"`

	ID           int64     `bun:"id,pk,autoincrement" json:"id"`
	ModeratorID  *int64    `bun:"moderator_id" json:"moderator_id"` // nil: the system (auto-hide)
	Action       string    `bun:"action" json:"action"`
	TargetType   string    `bun:"target_type" json:"target_type"`
	TargetID     int64     `bun:"target_id" json:"target_id"`
	TargetUserID *int64    `bun:"target_user_id" json:"target_user_id"`
	Guideline    string    `bun:"guideline" json:"guideline"`
	Reason       string    `bun:"reason" json:"reason"`
	Details      string    `bun:"details" json:"details"` // JSON: before/after and the like
	PrevHash     string    `bun:"prev_hash" json:"prev_hash"`
	Hash         string    `bun:"hash" json:"hash"`
	CreatedAt    time.Time `bun:"created_at" json:"created_at"`
}

// Suspension is one suspension of a member; EndsAt nil is indefinite.
type Suspension struct {
	bun.BaseModel `bun:"table:suspensions"`

	ID          int64      `bun:"id,pk,autoincrement" json:"id"`
	UserID      int64      `bun:"user_id" json:"user_id"`
	ModeratorID *int64     `bun:"moderator_id" json:"moderator_id"`
	Reason      string     `bun:"reason" json:"reason"`
	Notified    bool       `bun:"notified" json:"notified"`
	StartsAt    time.Time  `bun:"starts_at" json:"starts_at"`
	EndsAt      *time.Time `bun:"ends_at" json:"ends_at"`
	LiftedAt    *time.Time `bun:"lifted_at" json:"lifted_at"`
	LiftedBy    *int64     `bun:"lifted_by" json:"lifted_by"`
	CreatedAt   time.Time  `bun:"created_at" json:"created_at"`
}

// UserNote is a staff-only note about a member.
type UserNote struct {
	bun.BaseModel `bun:"table:user_notes"`

	ID        int64     `bun:"id,pk,autoincrement" json:"id"`
	UserID    int64     `bun:"user_id" json:"user_id"`
	AuthorID  int64     `bun:"author_id" json:"author_id"`
	Body      string    `bun:"body" json:"body"`
	CreatedAt time.Time `bun:"created_at" json:"created_at"`
}

// FlagByID returns the flag or ErrNotFound.
func FlagByID(ctx context.Context, db bun.IDB, id int64) (*Flag, error) {
	f := new(Flag)
	err := db.NewSelect().Model(f).Where("id = ?", id).Scan(ctx)
	return f, notFound(err, "load flag")
}

// FlagsOnPosts returns the flags on those posts with the given statuses, oldest first.
func FlagsOnPosts(ctx context.Context, db bun.IDB, postIDs []int64, statuses ...string) ([]*Flag, error) {
	var fs []*Flag
	if len(postIDs) == 0 {
		return fs, nil
	}
	q := db.NewSelect().Model(&fs).Where("post_id IN (?)", bun.List(postIDs)).Order("id")
	if len(statuses) > 0 {
		q.Where("status IN (?)", bun.List(statuses))
	}
	return fs, notFound(q.Scan(ctx), "load flags")
}

// OpenFlagWeight sums the weight of a post's open flags.
func OpenFlagWeight(ctx context.Context, db bun.IDB, postID int64) (int, error) {
	var w int
	err := db.NewSelect().Model((*Flag)(nil)).ColumnExpr("COALESCE(SUM(weight), 0)").
		Where("post_id = ?", postID).Where("status = ?", FlagOpen).Scan(ctx, &w)
	return w, notFound(err, "sum flag weight")
}

// LastModAction returns the newest log entry (for chaining), or nil when the log is empty.
func LastModAction(ctx context.Context, db bun.IDB) (*ModAction, error) {
	a := new(ModAction)
	err := db.NewSelect().Model(a).OrderExpr("id DESC").Limit(1).Scan(ctx)
	if err = notFound(err, "load last log entry"); IsNotFound(err) {
		return nil, nil
	}
	return a, err
}

// OpenFlagsBy returns userID's open flags among postIDs, keyed by post.
func OpenFlagsBy(ctx context.Context, db bun.IDB, userID int64, postIDs []int64) (map[int64]*Flag, error) {
	out := map[int64]*Flag{}
	if userID == 0 || len(postIDs) == 0 {
		return out, nil
	}
	var fs []*Flag
	if err := db.NewSelect().Model(&fs).Where("user_id = ?", userID).Where("post_id IN (?)", bun.List(postIDs)).
		Where("status = ?", FlagOpen).Scan(ctx); err != nil {
		return nil, notFound(err, "load the member's open flags")
	}
	for _, f := range fs {
		out[f.PostID] = f
	}
	return out, nil
}

// FlagsBy returns a page of the flags userID raised, newest first, and their total.
func FlagsBy(ctx context.Context, db bun.IDB, userID int64, page, perPage int) ([]*Flag, int, error) {
	var fs []*Flag
	n, err := db.NewSelect().Model(&fs).Where("user_id = ?", userID).OrderExpr("id DESC").
		Limit(int64(perPage)).Offset(int64((page - 1) * perPage)).ScanAndCount(ctx)
	return fs, int(n), notFound(err, "load the member's flags")
}

// OpenQueueSize counts the posts with open flags.
func OpenQueueSize(ctx context.Context, db bun.IDB) (int, error) {
	var n int
	err := db.NewSelect().Model((*Flag)(nil)).ColumnExpr("count(DISTINCT post_id)").
		Where("status = ?", FlagOpen).Scan(ctx, &n)
	return n, notFound(err, "count open queue entries")
}

// SuspendedUsers returns up to limit members suspended at now, whose
// suspension ends first first.
func SuspendedUsers(ctx context.Context, db bun.IDB, now time.Time, limit int) ([]*User, error) {
	var us []*User
	err := db.NewSelect().Model(&us).Where("suspended_until > ?", now).Where("deleted_at IS NULL").
		OrderExpr("suspended_until ASC, id ASC").Limit(int64(limit)).Scan(ctx)
	return us, notFound(err, "load suspended members")
}
