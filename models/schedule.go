package models

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// ClaimSchedule claims the pass name when it is due at now and nobody holds
// it, for lease: it reports whether this caller runs it. A pass never seen
// before is due at once.
func ClaimSchedule(ctx context.Context, db bun.IDB, name string, now time.Time, lease time.Duration) (bool, error) {
	if _, err := db.NewRaw("INSERT INTO schedules (name, next_run_at) VALUES (?, ?) ON CONFLICT DO NOTHING", name, now).
		Exec(ctx); err != nil {
		return false, fmt.Errorf("add schedule %s: %w", name, err)
	}
	res, err := db.NewRaw(`UPDATE schedules SET claimed_until = ? WHERE name = ? AND next_run_at <= ?
		AND (claimed_until IS NULL OR claimed_until < ?)`, now.Add(lease), name, now, now).Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("claim schedule %s: %w", name, err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// FinishSchedule records that name ran at now and is next due at next.
func FinishSchedule(ctx context.Context, db bun.IDB, name string, now, next time.Time) error {
	_, err := db.NewRaw("UPDATE schedules SET last_run_at = ?, next_run_at = ?, claimed_until = NULL WHERE name = ?",
		now, next, name).Exec(ctx)
	if err != nil {
		return fmt.Errorf("finish schedule %s: %w", name, err)
	}
	return nil
}

// ScheduleLastRun returns when name last finished (nil: never).
func ScheduleLastRun(ctx context.Context, db bun.IDB, name string) (*time.Time, error) {
	var at []*time.Time
	err := db.NewRaw("SELECT last_run_at FROM schedules WHERE name = ?", name).Scan(ctx, &at)
	if err != nil || len(at) == 0 {
		return nil, notFound(err, "load schedule")
	}
	return at[0], nil
}
