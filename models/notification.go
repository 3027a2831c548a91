package models

import (
	"context"
	"time"

	"github.com/uptrace/bun"
)

// Notification kinds.
const (
	NotifyReply       = "reply"        // a reply to the member's topic or post
	NotifySolution    = "solution"     // the member's reply was chosen as the best answer
	NotifyPostHidden  = "post_hidden"  // community flags hid the member's post pending review
	NotifyPostEdited  = "post_edited"  // a moderator edited the member's post
	NotifyPostRemoved = "post_removed" // a moderator removed the member's post
	NotifySuspended   = "suspended"    // the member's account was suspended
	NotifyFlagOutcome = "flag_outcome" // a moderator reviewed the member's flag
	NotifyLevel       = "level"        // the member's level changed
	NotifyBadge       = "badge"        // the member earned a badge
)

// Notification tells a member that something happened to them.
type Notification struct {
	bun.BaseModel `bun:"table:notifications"`

	ID        int64      `bun:"id,pk,autoincrement" json:"id"`
	UserID    int64      `bun:"user_id" json:"-"`
	Kind      string     `bun:"kind" json:"kind"`
	ActorID   *int64     `bun:"actor_id" json:"actor_id"`
	TopicID   *int64     `bun:"topic_id" json:"topic_id"`
	PostID    *int64     `bun:"post_id" json:"post_id"`
	Message   string     `bun:"message" json:"message"`
	ReadAt    *time.Time `bun:"read_at" json:"read_at"`
	CreatedAt time.Time  `bun:"created_at" json:"created_at"`
}

// CreateNotification inserts n.
func CreateNotification(ctx context.Context, db bun.IDB, n *Notification) error {
	_, err := db.NewInsert().Model(n).Exec(ctx)
	return notFound(err, "create notification")
}

// ListNotifications returns a page of a member's notifications, newest first, and the total.
func ListNotifications(ctx context.Context, db bun.IDB, userID int64, page, perPage int) ([]*Notification, int, error) {
	var ns []*Notification
	total, err := db.NewSelect().Model(&ns).Where("user_id = ?", userID).OrderExpr("id DESC").
		Limit(int64(perPage)).Offset(int64((page - 1) * perPage)).ScanAndCount(ctx)
	return ns, int(total), notFound(err, "list notifications")
}

// UnreadNotifications counts a member's unread notifications.
func UnreadNotifications(ctx context.Context, db bun.IDB, userID int64) (int, error) {
	n, err := db.NewSelect().Model((*Notification)(nil)).Where("user_id = ?", userID).Where("read_at IS NULL").Count(ctx)
	return int(n), notFound(err, "count notifications")
}

// MarkNotificationsRead marks all of a member's notifications read.
func MarkNotificationsRead(ctx context.Context, db bun.IDB, userID int64, now time.Time) error {
	_, err := db.NewUpdate().Model((*Notification)(nil)).Set("read_at = ?", now).
		Where("user_id = ?", userID).Where("read_at IS NULL").Exec(ctx)
	return notFound(err, "mark notifications read")
}
