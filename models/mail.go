package models

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
)

// mailOutbox is a notification waiting for the mail pass (CreateNotifications).
type mailOutbox struct {
	bun.BaseModel `bun:"table:mail_outbox"`

	NotificationID int64 `bun:"notification_id,pk"`
}

// TakeMailOutbox deletes up to limit notifications from the mail outbox,
// oldest first, and returns them: inside the mail pass's transaction, so
// they leave the outbox exactly when their mail is queued. On PostgreSQL
// rows another pass holds are skipped, so two nodes never take the same one.
func TakeMailOutbox(ctx context.Context, tx bun.Tx, limit int) ([]*Notification, error) {
	next := tx.NewSelect().Model((*mailOutbox)(nil)).Column("notification_id").
		OrderExpr("notification_id").Limit(int64(limit))
	if tx.Dialect().Name() == dialect.PG {
		next = next.For("UPDATE SKIP LOCKED")
	}
	// A CTE, which runs once: PostgreSQL may run a LIMIT … FOR UPDATE subquery
	// under IN more than once and take more rows than the limit.
	var ids []int64
	if _, err := tx.NewDelete().With("next", next).Model((*mailOutbox)(nil)).
		Where("notification_id IN (SELECT notification_id FROM next)").
		Returning("notification_id").Exec(ctx, &ids); err != nil {
		return nil, fmt.Errorf("take from mail outbox: %w", err)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	var ns []*Notification
	err := tx.NewSelect().Model(&ns).Where("id IN (?)", bun.List(ids)).OrderExpr("id").Scan(ctx)
	return ns, notFound(err, "load notifications to mail")
}

// Mail statuses.
const (
	MailPending = "pending" // waiting for its next attempt
	MailSent    = "sent"
	MailFailed  = "failed"  // a permanent failure, or too many temporary ones
	MailSkipped = "skipped" // no longer wanted when its turn came (opted out, bouncing, unverified)
)

// Mail is one message in the durable queue, rendered when queued.
type Mail struct {
	bun.BaseModel `bun:"table:mail_queue"`

	ID             int64      `bun:"id,pk,autoincrement"`
	UserID         *int64     `bun:"user_id"`
	Kind           string     `bun:"kind"`
	To             string     `bun:"to_address"`
	Subject        string     `bun:"subject"`
	Text           string     `bun:"body"`
	HTML           string     `bun:"html"`
	UnsubscribeURL string     `bun:"unsubscribe_url"`
	Status         string     `bun:"status"`
	Attempts       int        `bun:"attempts"`
	LastError      string     `bun:"last_error"`
	NextAttemptAt  time.Time  `bun:"next_attempt_at"`
	ClaimedUntil   *time.Time `bun:"claimed_until"`
	SentAt         *time.Time `bun:"sent_at"`
	CreatedAt      time.Time  `bun:"created_at"`
}

// QueueMail inserts ms as pending, due at once.
func QueueMail(ctx context.Context, db bun.IDB, ms []*Mail, now time.Time) error {
	if len(ms) == 0 {
		return nil
	}
	for _, m := range ms {
		m.Status, m.NextAttemptAt, m.CreatedAt = MailPending, now, now
	}
	_, err := db.NewInsert().Model(&ms).Returning("id").Exec(ctx)
	return notFound(err, "queue mail")
}

// ClaimMail claims up to limit pending messages that are due and unclaimed
// (or whose sender's claim ran out) until now+lease, oldest first. On
// PostgreSQL rows another sender is claiming are skipped, not waited for.
func ClaimMail(ctx context.Context, db bun.IDB, now time.Time, lease time.Duration, limit int) ([]*Mail, error) {
	due := db.NewSelect().Model((*Mail)(nil)).Column("id").Where("status = ?", MailPending).
		Where("next_attempt_at <= ?", now).Where("claimed_until IS NULL OR claimed_until < ?", now).
		OrderExpr("next_attempt_at, id").Limit(int64(limit))
	if db.Dialect().Name() == dialect.PG {
		due = due.For("UPDATE SKIP LOCKED")
	}
	// A CTE, which runs once (see TakeMailOutbox).
	var ms []*Mail
	_, err := db.NewUpdate().With("due", due).Model(&ms).Set("claimed_until = ?", now.Add(lease)).
		Where("id IN (SELECT id FROM due)").Where("status = ?", MailPending).
		Where("claimed_until IS NULL OR claimed_until < ?", now).Returning("*").Exec(ctx, &ms)
	if err != nil {
		return nil, fmt.Errorf("claim mail: %w", err)
	}
	return ms, nil
}

// FinishMail records the outcome of one attempt at m: its Status, Attempts,
// LastError, NextAttemptAt and SentAt as set by the caller; the claim ends.
func FinishMail(ctx context.Context, db bun.IDB, m *Mail) error {
	m.ClaimedUntil = nil
	_, err := db.NewUpdate().Model(m).
		Column("status", "attempts", "last_error", "next_attempt_at", "sent_at", "claimed_until").WherePK().Exec(ctx)
	return notFound(err, "record mail attempt")
}

// MailOf returns the messages queued for a member, newest first (tests, the export).
func MailOf(ctx context.Context, db bun.IDB, userID int64) ([]*Mail, error) {
	var ms []*Mail
	err := db.NewSelect().Model(&ms).Where("user_id = ?", userID).OrderExpr("id DESC").Scan(ctx)
	return ms, notFound(err, "list mail")
}

// RecentMail counts the messages of kind queued for a member since then.
func RecentMail(ctx context.Context, db bun.IDB, userID int64, kind string, since time.Time) (int, error) {
	n, err := db.NewSelect().Model((*Mail)(nil)).Where("user_id = ?", userID).Where("kind = ?", kind).
		Where("created_at >= ?", since).Count(ctx)
	return int(n), notFound(err, "count recent mail")
}

// ReleaseMail ends the claim on ms unsent, for another pass to take.
func ReleaseMail(ctx context.Context, db bun.IDB, ms []*Mail) error {
	ids := make([]int64, len(ms))
	for i, m := range ms {
		ids[i] = m.ID
	}
	_, err := db.NewUpdate().Model((*Mail)(nil)).Set("claimed_until = NULL").Where("id IN (?)", bun.List(ids)).
		Where("status = ?", MailPending).Exec(ctx)
	return notFound(err, "release mail")
}
