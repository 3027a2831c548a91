// Package site is the community as a whole: its name, the first admin's
// setup, whether the database answers, and the versions of what pages
// show (for the page cache). It knows nothing of HTTP.
package site

import (
	"cmp"
	"context"
	"crypto/subtle"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/uptrace/bun"

	"agora/accounts"
	"agora/models"
	"agora/moderation"
)

// DefaultName is the community's name until setup gives it one.
const DefaultName = "Agora Community"

// nameTTL bounds how long a node shows an old name after another node changed it.
const nameTTL = 30 * time.Second

// Service is the site over one database.
type Service struct {
	db       *bun.DB
	now      func() time.Time
	accounts *accounts.Service
	// Versions reads the versions of cached pages (see models.Versions).
	Versions *models.Versions

	mu        sync.Mutex
	name      string
	nameUntil time.Time
}

// New prepares the version statements on db. now may be nil for time.Now.
func New(ctx context.Context, db *bun.DB, now func() time.Time, acc *accounts.Service) (*Service, error) {
	if now == nil {
		now = time.Now
	}
	v, err := models.PrepareVersions(ctx, db)
	if err != nil {
		return nil, err
	}
	return &Service{db: db, now: now, accounts: acc, Versions: v}, nil
}

// Ping reports whether the database answers.
func (s *Service) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// Name returns the community's name, cached briefly (DefaultName when it
// cannot be read: a header is no reason to fail a page).
func (s *Service) Name(ctx context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if now.Before(s.nameUntil) {
		return s.name, nil
	}
	name, err := models.GetSetting(ctx, s.db, models.SettingCommunityName, DefaultName)
	if err != nil {
		return DefaultName, err
	}
	s.name, s.nameUntil = name, now.Add(nameTTL)
	return name, nil
}

// SetupOpen reports whether the first-admin setup may be used with token:
// only with the one-time token printed at start (want) and only while no
// admin exists.
func (s *Service) SetupOpen(ctx context.Context, want, token string) (bool, error) {
	if want == "" || subtle.ConstantTimeCompare([]byte(token), []byte(want)) != 1 {
		return false, nil
	}
	exists, err := models.AdminExists(ctx, s.db)
	return !exists, err
}

// SetupInput is what the setup form submits.
type SetupInput struct {
	Community string
	Admin     accounts.RegisterInput // its role is set to admin
}

// Setup names the community and creates the first admin, with a log
// entry, in one transaction. Only one setup ever commits, even when several
// are submitted at once: the others get a *models.ConflictError.
// Errors: *models.ValidationError, *models.ConflictError.
func (s *Service) Setup(ctx context.Context, in SetupInput) (*models.User, error) {
	in.Community = strings.TrimSpace(in.Community)
	in.Admin.Role, in.Admin.AgeConfirmed = models.RoleAdmin, true
	v := &models.ValidationError{}
	if n := utf8.RuneCountInString(in.Community); n < 2 || n > 80 {
		v.Add("community", "give the community a name of 2 to 80 characters")
	}
	if err := in.Admin.Validate(); err != nil {
		for k, why := range err.(*models.ValidationError).Fields {
			v.Add(k, why)
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	now := s.now().UTC()
	u, err := s.accounts.RegisterWith(ctx, in.Admin, func(ctx context.Context, tx bun.Tx, u *models.User) error {
		// Setups take turns (SQLite's write transactions do anyway); the
		// second finds the first one's admin and gives up.
		if err := models.AdvisoryLock(ctx, tx, models.LockSetup); err != nil {
			return err
		}
		if taken, err := models.AdminExistsBesides(ctx, tx, u.ID); err != nil || taken {
			return cmp.Or(err, errSetupDone)
		}
		if err := models.PutSetting(ctx, tx, models.SettingCommunityName, in.Community, now); err != nil {
			return err
		}
		_, err := moderation.Record(ctx, tx, moderation.Entry{ModeratorID: &u.ID, Action: moderation.ActSetup,
			TargetType: moderation.TargetSite, Details: map[string]any{"community": in.Community, "admin": u.Username}}, now)
		return err
	})
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.nameUntil = time.Time{}
	s.mu.Unlock()
	return u, nil
}

// errSetupDone: another setup committed first.
var errSetupDone error = &models.ConflictError{Message: "this community is already set up; sign in instead"}
