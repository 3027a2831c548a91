package ratelimit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"time"

	"agora/policy"
)

// Service applies policy's limits over a Store.
type Service struct {
	store Store
	now   func() time.Time
}

// New returns the service over store; now may be nil for time.Now.
func New(store Store, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, now: now}
}

// Store is where the service counts.
func (s *Service) Store() Store { return s.store }

// Result is where a client stands after a hit: what the X-RateLimit-*
// headers tell.
type Result struct {
	Limit, Remaining int
	Reset            time.Duration // until the window ends
}

// Take counts one event of key against l. Past the limit it returns the
// Result with the refusal (*models.RateLimitError) saying what, as in
// "search", was limited.
func (s *Service) Take(ctx context.Context, key string, l policy.Limit, what string) (Result, error) {
	n, until, err := s.store.Hit(ctx, key, l.Per)
	if err != nil {
		return Result{}, err
	}
	r := Result{Limit: l.Max, Remaining: max(l.Max-n, 0), Reset: max(until.Sub(s.now()), 0)}
	if n > l.Max {
		return r, policy.TooOften(l, what, max(r.Reset.Round(time.Second), time.Second))
	}
	return r, nil
}

// Undo takes back an event that did not happen after all (the form was
// refused), so only what landed counts.
func (s *Service) Undo(ctx context.Context, key string) error { return s.store.Undo(ctx, key) }

// Key names a counter: its kind and the client, hashed so the store holds
// no address or login name.
func Key(kind, client string) string {
	sum := sha256.Sum256([]byte(client))
	return kind + ":" + hex.EncodeToString(sum[:12])
}

// loginKeys are an account's failure counter and lock, by the login typed.
func loginKeys(login string) (fails, lock string) {
	l := strings.ToLower(strings.TrimSpace(login))
	return Key("login-fails", l), Key("login-lock", l)
}

// LoginAllowed refuses, with the wait (*models.RateLimitError), a sign-in
// to an account that failed too often (policy.LoginBackoff).
func (s *Service) LoginAllowed(ctx context.Context, login string) error {
	_, lock := loginKeys(login)
	v, err := s.store.Get(lock)
	if err != nil || v == nil {
		return err
	}
	until, err := strconv.ParseInt(string(v), 10, 64)
	if wait := time.UnixMilli(until).Sub(s.now()); err == nil && wait > 0 {
		return policy.LoginLocked(max(wait.Round(time.Second), time.Second))
	}
	return nil
}

// LoginFailed counts a failed sign-in to login's account and locks it for
// the backoff that many failures earn.
func (s *Service) LoginFailed(ctx context.Context, login string) error {
	fails, lock := loginKeys(login)
	n, _, err := s.store.Hit(ctx, fails, policy.LoginFailureWindow)
	if err != nil {
		return err
	}
	wait := policy.LoginBackoff(n)
	if wait == 0 {
		return nil
	}
	return s.store.Set(lock, []byte(strconv.FormatInt(s.now().Add(wait).UnixMilli(), 10)), wait)
}

// LoginSucceeded forgets login's failures.
func (s *Service) LoginSucceeded(ctx context.Context, login string) error {
	fails, lock := loginKeys(login)
	if err := s.store.Delete(fails); err != nil {
		return err
	}
	return s.store.Delete(lock)
}

// Run purges expired entries every interval until ctx ends.
func (s *Service) Run(ctx context.Context, every time.Duration, report func(error)) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := s.store.Purge(ctx); err != nil && ctx.Err() == nil {
				report(err)
			}
		}
	}
}
