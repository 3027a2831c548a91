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
	"agora/moderation"
	"agora/notify"
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
	Search     *search.Service
	// Views buffers topic view counts; whoever serves runs its flush loop.
	Views *forum.ViewCounter
}

// New builds the services over db with the clock now (nil: time.Now) and
// the search index ix (nil: search answers that it is unavailable).
func New(ctx context.Context, db *bun.DB, now func() time.Time, ix *search.Index) (Set, error) {
	acc := accounts.New(db, now)
	st, err := site.New(ctx, db, now, acc)
	if err != nil {
		return Set{}, err
	}
	return Set{Accounts: acc, Forum: forum.New(db, now), Moderation: moderation.New(db, now), Site: st,
		Notify: notify.New(db, now), Badges: badges.New(db), Search: search.NewService(db, ix),
		Views: forum.NewViewCounter(db, now)}, nil
}
