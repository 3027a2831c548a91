package models

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// Digest choices.
const (
	DigestNever  = "never"
	DigestDaily  = "daily"
	DigestWeekly = "weekly"
)

// EmailPreferences is what mail a member agreed to; nothing but the
// verification of an address and a password reset is sent before opt-in.
type EmailPreferences struct {
	bun.BaseModel `bun:"table:email_preferences"`

	UserID int64 `bun:"user_id,pk" json:"-"`
	// OptedIn is whether any kind (or the digest) is on, kept by SaveEmailPreferences.
	OptedIn          bool       `bun:"opted_in" json:"opted_in"`
	NotifyReplies    bool       `bun:"notify_replies" json:"replies"`
	NotifyMentions   bool       `bun:"notify_mentions" json:"mentions"`
	NotifySolution   bool       `bun:"notify_solution" json:"solution"`
	NotifyModeration bool       `bun:"notify_moderation" json:"moderation"`
	NotifyStaff      bool       `bun:"notify_staff" json:"staff_alerts"`
	Digest           string     `bun:"digest" json:"digest"`
	DigestSentAt     *time.Time `bun:"digest_sent_at" json:"-"`
	UnsubscribeToken string     `bun:"unsubscribe_token" json:"-"`
	BounceCount      int        `bun:"bounce_count" json:"bounce_count"`
	BouncingAt       *time.Time `bun:"bouncing_at" json:"bouncing_at"`
	BounceReason     string     `bun:"bounce_reason" json:"bounce_reason,omitempty"`
	UpdatedAt        time.Time  `bun:"updated_at" json:"updated_at"`
}

// Mail kinds: what a message is, and the preference that lets it be sent.
const (
	MailVerify     = "verify"     // service: confirm an address
	MailReset      = "reset"      // service: a password reset link
	MailReplies    = "replies"    // replies to the member's topics and posts, watched topics and categories
	MailMentions   = "mentions"   // @mentions
	MailSolution   = "solution"   // the member's reply chosen as the best answer
	MailModeration = "moderation" // moderation notices about the member's own account and posts
	MailStaff      = "staff"      // staff alerts: a post hidden by flags, a severe flag
	MailDigest     = "digest"     // the daily or weekly digest of popular topics
)

// Service reports whether a mail kind is a service mail, sent whatever the
// preferences (and the only kinds an unverified address may get).
func ServiceMail(kind string) bool { return kind == MailVerify || kind == MailReset }

// flag is the preference that lets mail of kind be sent (nil: the digest,
// a service mail or an unknown kind).
func (p *EmailPreferences) flag(kind string) *bool {
	switch kind {
	case MailReplies:
		return &p.NotifyReplies
	case MailMentions:
		return &p.NotifyMentions
	case MailSolution:
		return &p.NotifySolution
	case MailModeration:
		return &p.NotifyModeration
	case MailStaff:
		return &p.NotifyStaff
	}
	return nil
}

// Wants reports whether p lets mail of kind be sent.
func (p *EmailPreferences) Wants(kind string) bool {
	if kind == MailDigest {
		return p.Digest == DigestDaily || p.Digest == DigestWeekly
	}
	if f := p.flag(kind); f != nil {
		return *f
	}
	return ServiceMail(kind)
}

// Unsubscribe turns kind off and reports whether it was on.
func (p *EmailPreferences) Unsubscribe(kind string) bool {
	was := p.Wants(kind)
	if kind == MailDigest {
		p.Digest = DigestNever
	} else if f := p.flag(kind); f != nil {
		*f = false
	}
	return was
}

// CreateEmailPreferences stores the defaults for a new member: every kind off.
func CreateEmailPreferences(ctx context.Context, db bun.IDB, userID int64, unsubscribeToken string, now time.Time) error {
	p := &EmailPreferences{UserID: userID, Digest: DigestNever, UnsubscribeToken: unsubscribeToken, UpdatedAt: now}
	_, err := db.NewInsert().Model(p).Exec(ctx)
	return notFound(err, "create email preferences")
}

// EmailPreferencesOf returns a member's preferences. Errors: ErrNotFound.
func EmailPreferencesOf(ctx context.Context, db bun.IDB, userID int64) (*EmailPreferences, error) {
	p := new(EmailPreferences)
	err := db.NewSelect().Model(p).Where("user_id = ?", userID).Scan(ctx)
	return p, notFound(err, "load email preferences")
}

// EmailPreferencesByIDs returns the preferences of the given members by id.
func EmailPreferencesByIDs(ctx context.Context, db bun.IDB, ids []int64) (map[int64]*EmailPreferences, error) {
	out := make(map[int64]*EmailPreferences, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	var ps []*EmailPreferences
	if err := db.NewSelect().Model(&ps).Where("user_id IN (?)", bun.List(ids)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("load email preferences: %w", err)
	}
	for _, p := range ps {
		out[p.UserID] = p
	}
	return out, nil
}

// SaveEmailPreferences writes the member's choices (the kinds and digest).
func SaveEmailPreferences(ctx context.Context, db bun.IDB, p *EmailPreferences, now time.Time) error {
	p.OptedIn = p.NotifyReplies || p.NotifyMentions || p.NotifySolution || p.NotifyModeration || p.NotifyStaff ||
		p.Wants(MailDigest)
	p.UpdatedAt = now
	res, err := db.NewUpdate().Model(p).
		Column("opted_in", "notify_replies", "notify_mentions", "notify_solution", "notify_moderation",
			"notify_staff", "digest", "updated_at").WherePK().Exec(ctx)
	if err != nil {
		return fmt.Errorf("save email preferences: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("email preferences of %d: %w", p.UserID, ErrNotFound)
	}
	return nil
}

// MarkBouncing records a permanent delivery failure to the member's address:
// no more mail goes to it until ClearBouncing.
func MarkBouncing(ctx context.Context, db bun.IDB, userID int64, reason string, now time.Time) error {
	_, err := db.NewUpdate().Model((*EmailPreferences)(nil)).Set("bouncing_at = ?", now).
		Set("bounce_reason = ?", reason).Set("bounce_count = bounce_count + 1").
		Where("user_id = ?", userID).Exec(ctx)
	return notFound(err, "mark address bouncing")
}

// VerifyEmail marks the member's address verified (when it is still
// address) and clears a bounce. It reports whether the address matched.
func VerifyEmail(ctx context.Context, db bun.IDB, userID int64, address string, now time.Time) (bool, error) {
	res, err := db.NewUpdate().Model((*User)(nil)).Set("email_verified_at = ?", now).
		Where("id = ?", userID).Where("lower(email) = lower(?)", address).Where("email <> ''").Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("verify email: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return false, nil
	}
	_, err = db.NewUpdate().Model((*EmailPreferences)(nil)).Set("bouncing_at = NULL").Set("bounce_reason = ''").
		Where("user_id = ?", userID).Exec(ctx)
	return true, notFound(err, "clear bounce")
}

// DigestDue returns up to limit members whose digest of kind (daily or
// weekly) was last sent before since, with their preferences.
func DigestDue(ctx context.Context, db bun.IDB, kind string, since time.Time, limit int) ([]*EmailPreferences, error) {
	var ps []*EmailPreferences
	err := db.NewSelect().Model(&ps).Where("digest = ?", kind).
		Where("digest_sent_at IS NULL OR digest_sent_at < ?", since).Where("bouncing_at IS NULL").
		OrderExpr("user_id").Limit(int64(limit)).Scan(ctx)
	return ps, notFound(err, "list digests due")
}

// DigestSent records that the member's digest went out (or had nothing to say) at now.
func DigestSent(ctx context.Context, db bun.IDB, userID int64, now time.Time) error {
	_, err := db.NewUpdate().Model((*EmailPreferences)(nil)).Set("digest_sent_at = ?", now).
		Where("user_id = ?", userID).Exec(ctx)
	return notFound(err, "record digest")
}
