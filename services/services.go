// Package services builds Agora's domain services over one database. The
// web layer and the commands are given these, never the database handle,
// so every read and write goes through the package that owns its rules.
package services

import (
	"context"
	"time"

	"github.com/uptrace/bun"

	"agora/accounts"
	"agora/badges"
	"agora/forum"
	"agora/levels"
	"agora/mailer"
	"agora/models"
	"agora/moderation"
	"agora/notify"
	"agora/privacy"
	"agora/ratelimit"
	"agora/schedule"
	"agora/search"
	"agora/site"
)

// Set is every domain service.
type Set struct {
	Accounts   *accounts.Service
	Forum      *forum.Service
	Moderation *moderation.Service
	Site       *site.Service
	Notify     *notify.Service
	Badges     *badges.Service
	Levels     *levels.Service
	Search     *search.Service
	// Views buffers topic views, reads and visits; whoever serves runs its flush loop.
	Views *forum.ViewCounter
	// Schedule runs the durable background passes; whoever serves runs it.
	Schedule *schedule.Runner
	// Mail queues and delivers mail; whoever serves runs its delivery loop.
	Mail *mailer.Service
	// Privacy exports a member's data.
	Privacy *privacy.Service
	// Limits counts what clients do against policy's limits, in the store
	// every node shares; whoever serves runs its purge loop.
	Limits *ratelimit.Service
}

// Schedule names of the durable passes.
const (
	NightlyLevels = "nightly_levels"
	MailDigests   = "mail_digests"
	Retention     = "retention"
)

// Options are the installation's settings the services need.
type Options struct {
	// Mail: an empty Community is the site's name; a nil Sender logs mail.
	Mail mailer.Config
	// RetentionDays is privacy.Retention's Days (0: DefaultRetentionDays).
	RetentionDays int
	// Limits is where rate limits count (nil: the database; Redis with AGORA_REDIS_URL).
	Limits ratelimit.Store
}

// DefaultRetentionDays is AGORA_RETENTION_DAYS's default.
const DefaultRetentionDays = 90

// New builds the services over db with the clock now (nil: time.Now) and
// the search index ix (nil: search answers that it is unavailable).
func New(ctx context.Context, db *bun.DB, now func() time.Time, ix *search.Index, opts Options) (Set, error) {
	mail := opts.Mail
	if opts.RetentionDays == 0 {
		opts.RetentionDays = DefaultRetentionDays
	}
	acc := accounts.New(db, now)
	st, err := site.New(ctx, db, now, acc)
	if err != nil {
		return Set{}, err
	}
	bs, err := badges.New(ctx, db, now, badges.Rules)
	if err != nil {
		return Set{}, err
	}
	lv := levels.New(db, now)
	lv.Changed = func(ctx context.Context, tx bun.Tx, cs []levels.Change) error {
		ids := make([]int64, len(cs))
		for i, c := range cs {
			ids[i] = c.UserID
		}
		return bs.Check(ctx, tx, models.Event{Kind: models.EventLevel, Users: ids})
	}
	if mail.Community == nil {
		mail.Community = st.Name
	}
	ml, err := mailer.New(ctx, db, now, mail)
	if err != nil {
		return Set{}, err
	}
	acc.Joined = func(ctx context.Context, tx bun.Tx, u *models.User) error { return ml.QueueVerification(ctx, tx, u) }
	r := reactor{levels: lv, badges: bs}
	set := Set{Accounts: acc, Forum: forum.New(db, now), Moderation: moderation.New(db, now), Site: st,
		Notify: notify.New(db, now), Badges: bs, Levels: lv, Search: search.NewService(db, ix),
		Views: forum.NewViewCounter(db, now), Mail: ml, Privacy: privacy.New(db, now)}
	if opts.Limits == nil {
		opts.Limits = ratelimit.NewDB(db, now)
	}
	set.Limits = ratelimit.New(opts.Limits, now)
	set.Forum.Events, set.Moderation.Events, set.Views.Events = r, r, r
	set.Schedule = schedule.New(db, now,
		schedule.Job{Name: NightlyLevels, Next: schedule.Daily(3), Lease: time.Hour,
			Run: func(ctx context.Context) error { _, err := lv.Nightly(ctx); return err }},
		schedule.Job{Name: MailDigests, Next: schedule.Hourly, Lease: 30 * time.Minute, Run: ml.DigestPass},
		schedule.Job{Name: Retention, Next: schedule.Hourly, Lease: 30 * time.Minute, Run: func(ctx context.Context) error {
			_, err := set.Privacy.Retain(ctx, privacy.Retention{Days: opts.RetentionDays, Expired: acc.PurgeExpired})
			return err
		}})
	return set, nil
}

// reactor is what every event sets off, in its transaction: the members'
// levels are recomputed (two indexed queries each), then the badges the
// event may have earned are granted.
type reactor struct {
	levels *levels.Service
	badges *badges.Service
}

func (r reactor) React(ctx context.Context, tx bun.Tx, ev models.Event) error {
	switch ev.Kind {
	case models.EventViews, models.EventGuidelines: // nothing levels count
	default:
		if _, err := r.levels.Recompute(ctx, tx, ev.Users); err != nil {
			return err
		}
	}
	return r.badges.Check(ctx, tx, ev)
}
