package models

import (
	"context"
	"time"

	"github.com/uptrace/bun"
)

// EmailPreferences is what mail a member agreed to; nothing is sent before opt-in.
type EmailPreferences struct {
	bun.BaseModel `bun:"table:email_preferences"`

	UserID           int64     `bun:"user_id,pk" json:"-"`
	OptedIn          bool      `bun:"opted_in" json:"opted_in"`
	NotifyReplies    bool      `bun:"notify_replies" json:"notify_replies"`
	NotifyMentions   bool      `bun:"notify_mentions" json:"notify_mentions"`
	NotifyModeration bool      `bun:"notify_moderation" json:"notify_moderation"`
	Digest           string    `bun:"digest" json:"digest"`
	UnsubscribeToken string    `bun:"unsubscribe_token" json:"-"`
	BounceCount      int       `bun:"bounce_count" json:"bounce_count"`
	UpdatedAt        time.Time `bun:"updated_at" json:"updated_at"`
}

// CreateEmailPreferences stores the defaults for a new member: opted out.
func CreateEmailPreferences(ctx context.Context, db bun.IDB, userID int64, unsubscribeToken string, now time.Time) error {
	p := &EmailPreferences{UserID: userID, NotifyReplies: true, NotifyMentions: true, NotifyModeration: true,
		Digest: "never", UnsubscribeToken: unsubscribeToken, UpdatedAt: now}
	_, err := db.NewInsert().Model(p).Exec(ctx)
	return notFound(err, "create email preferences")
}
