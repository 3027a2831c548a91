package models

import (
	"context"
	"fmt"
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
	NotifyMention     = "mention"      // the member was @mentioned in a post
	NotifyLike        = "like"         // the member's post was liked (one per post while unread: Count)
	NotifyWatching    = "watching"     // a new reply in a topic or category the member watches
	NotifyStaffHidden = "staff_hidden" // staff: community flags hid a post pending review
	NotifyStaffFlag   = "staff_flag"   // staff: a new flag of a severe kind
)

// MailKind returns the kind of mail (and preference) a notification of kind
// may become, or "" for those shown in the app only.
func MailKind(kind string) string {
	switch kind {
	case NotifyReply, NotifyWatching:
		return MailReplies
	case NotifyMention:
		return MailMentions
	case NotifySolution:
		return MailSolution
	case NotifyPostHidden, NotifyPostEdited, NotifyPostRemoved, NotifySuspended:
		return MailModeration
	case NotifyStaffHidden, NotifyStaffFlag:
		return MailStaff
	}
	return ""
}

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
	Count     int        `bun:"count" json:"count"`
	ReadAt    *time.Time `bun:"read_at" json:"read_at"`
	CreatedAt time.Time  `bun:"created_at" json:"created_at"`
}

// CreateNotification inserts n (see CreateNotifications).
func CreateNotification(ctx context.Context, db bun.IDB, n *Notification) error {
	return CreateNotifications(ctx, db, []*Notification{n})
}

// CreateNotifications inserts ns in one statement, and puts those that may
// become mail (MailKind) in the mail outbox in the same transaction, so the
// mail pass sees each exactly once.
func CreateNotifications(ctx context.Context, db bun.IDB, ns []*Notification) error {
	if len(ns) == 0 {
		return nil
	}
	for _, n := range ns {
		if n.Count == 0 {
			n.Count = 1
		}
	}
	if _, err := db.NewInsert().Model(&ns).Returning("id").Exec(ctx); err != nil {
		return fmt.Errorf("create notifications: %w", err)
	}
	var out []*mailOutbox
	for _, n := range ns {
		if MailKind(n.Kind) != "" {
			out = append(out, &mailOutbox{NotificationID: n.ID})
		}
	}
	if len(out) == 0 {
		return nil
	}
	_, err := db.NewInsert().Model(&out).Exec(ctx)
	return notFound(err, "queue notifications for mail")
}

// NotifyLiked tells the author of post that liker liked it: the author's
// unread like notification of the post grows by one and names liker as the
// latest, or a new one is made. message builds the text from the latest
// liker and the count.
func NotifyLiked(ctx context.Context, db bun.IDB, authorID, likerID, topicID, postID int64, message func(count int) string, now time.Time) error {
	var ns []*Notification
	if err := db.NewSelect().Model(&ns).Where("user_id = ?", authorID).Where("read_at IS NULL").
		Where("kind = ?", NotifyLike).Where("post_id = ?", postID).Limit(1).Scan(ctx); err != nil {
		return fmt.Errorf("find like notification: %w", err)
	}
	if len(ns) == 0 {
		return CreateNotification(ctx, db, &Notification{UserID: authorID, Kind: NotifyLike, ActorID: &likerID,
			TopicID: &topicID, PostID: &postID, Message: message(1), Count: 1, CreatedAt: now})
	}
	n := ns[0]
	if n.ActorID != nil && *n.ActorID == likerID {
		return nil // liked, unliked and liked again: still one
	}
	n.Count++
	_, err := db.NewUpdate().Model(n).Set("count = ?", n.Count).Set("actor_id = ?", likerID).
		Set("message = ?", message(n.Count)).Set("created_at = ?", now).WherePK().Exec(ctx)
	return notFound(err, "update like notification")
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

// MarkNotificationRead marks one of a member's notifications read and
// returns it. Errors: ErrNotFound (none of theirs has that id).
func MarkNotificationRead(ctx context.Context, db bun.IDB, userID, id int64, now time.Time) (*Notification, error) {
	n := new(Notification)
	if err := db.NewSelect().Model(n).Where("id = ?", id).Where("user_id = ?", userID).Scan(ctx); err != nil {
		return nil, notFound(err, "load notification")
	}
	if n.ReadAt == nil {
		n.ReadAt = &now
		if _, err := db.NewUpdate().Model(n).Set("read_at = ?", now).WherePK().Exec(ctx); err != nil {
			return nil, fmt.Errorf("mark notification read: %w", err)
		}
	}
	return n, nil
}

// unreadCap is the most unread notifications counted: the bell shows "99+".
const unreadCap = 100

// UnreadNotificationsCapped counts a member's unread notifications up to
// unreadCap, reading no more index entries than that.
func UnreadNotificationsCapped(ctx context.Context, db bun.IDB, userID int64) (int, error) {
	var n int
	err := db.NewRaw("SELECT count(*) FROM (SELECT 1 FROM notifications WHERE user_id = ? AND read_at IS NULL LIMIT ?) AS u",
		userID, unreadCap).Scan(ctx, &n)
	return n, notFound(err, "count unread notifications")
}

// MarkNotificationsRead marks all of a member's notifications read.
func MarkNotificationsRead(ctx context.Context, db bun.IDB, userID int64, now time.Time) error {
	_, err := db.NewUpdate().Model((*Notification)(nil)).Set("read_at = ?", now).
		Where("user_id = ?", userID).Where("read_at IS NULL").Exec(ctx)
	return notFound(err, "mark notifications read")
}
