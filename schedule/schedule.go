// Package schedule runs background passes from the durable schedules table:
// each pass has a name and a next run time there, a node claims a due pass
// for a lease before running it, and a pass that fails or whose node dies is
// claimed again once the lease ends. So a restart neither skips nor doubles
// a pass, and several nodes run each pass once.
package schedule

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"agora/models"
)

// Job is one pass.
type Job struct {
	Name string
	// Next returns when the pass is due again after a run at now.
	Next func(now time.Time) time.Time
	// Lease is how long a claim lasts: longer than the pass takes.
	Lease time.Duration
	Run   func(ctx context.Context) error
}

// Daily returns a Next that is due every day at hour:00 UTC.
func Daily(hour int) func(time.Time) time.Time {
	return func(now time.Time) time.Time {
		now = now.UTC()
		next := time.Date(now.Year(), now.Month(), now.Day(), hour, 0, 0, 0, time.UTC)
		if !next.After(now) {
			next = next.AddDate(0, 0, 1)
		}
		return next
	}
}

// Hourly is a Next that is due at the start of the next hour.
func Hourly(now time.Time) time.Time { return now.UTC().Truncate(time.Hour).Add(time.Hour) }

// Runner runs the due jobs over one database.
type Runner struct {
	db   *bun.DB
	now  func() time.Time
	jobs []Job
}

// New returns a Runner; now may be nil for time.Now.
func New(db *bun.DB, now func() time.Time, jobs ...Job) *Runner {
	if now == nil {
		now = time.Now
	}
	return &Runner{db: db, now: now, jobs: jobs}
}

// Tick runs every job that is due now and unclaimed, and returns the names
// of those it ran. A failed job keeps its due time and is retried after its lease.
func (r *Runner) Tick(ctx context.Context) ([]string, error) {
	var ran []string
	for _, j := range r.jobs {
		now := r.now().UTC()
		ok, err := models.ClaimSchedule(ctx, r.db, j.Name, now, j.Lease)
		if err != nil {
			return ran, err
		}
		if !ok {
			continue
		}
		if err := j.Run(ctx); err != nil {
			return ran, fmt.Errorf("pass %s: %w", j.Name, err)
		}
		if err := models.FinishSchedule(ctx, r.db, j.Name, r.now().UTC(), j.Next(now)); err != nil {
			return ran, err
		}
		ran = append(ran, j.Name)
	}
	return ran, nil
}

// Run ticks every interval until ctx ends.
func (r *Runner) Run(ctx context.Context, every time.Duration, onErr func(error)) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		if _, err := r.Tick(ctx); err != nil && ctx.Err() == nil {
			onErr(err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
