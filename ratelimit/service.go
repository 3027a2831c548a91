package ratelimit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"sync"
	"time"

	"agora/policy"
)

// Service applies policy's limits over a Store.
type Service struct {
	store Store
	now   func() time.Time

	mu     sync.Mutex
	leases map[string]*lease // Take's, by key
}

// lease is a share of a counter's budget taken from the store at once, spent
// in this process without asking the store again.
type lease struct {
	left  int       // events still allowed
	n     int       // the shared count when it was taken
	until time.Time // the window's end
}

// leaseShare is the part of a limit one lease takes: 1/50, so a node asks
// the store once every 12 requests of a client at 600 a minute, and a
// client meets its limit at most 2 % early for each node it spreads over.
const leaseShare = 50

// New returns the service over store; now may be nil for time.Now.
func New(store Store, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, now: now, leases: map[string]*lease{}}
}

// Result is where a client stands after a hit: what the X-RateLimit-*
// headers tell.
type Result struct {
	Limit, Remaining int
	Reset            time.Duration // until the window ends
}

// Take counts one event of key against l, for limits of every request (the
// API, search): budgets of 50 or more are taken from the store a fiftieth at
// a time (a lease), so a busy client costs one store write per fiftieth of
// its budget, not one per request. Past the limit it returns the Result with
// the refusal (*models.RateLimitError) saying what, as in "search", was limited.
func (s *Service) Take(ctx context.Context, key string, l policy.Limit, what string) (Result, error) {
	chunk := l.Max / leaseShare
	if chunk <= 1 {
		return s.TakeOne(ctx, key, l, what)
	}
	now := s.now()
	s.mu.Lock()
	if le := s.leases[key]; le != nil && now.Before(le.until) {
		r := Result{Limit: l.Max, Reset: le.until.Sub(now)}
		switch {
		case le.left > 0:
			le.left--
			r.Remaining = max(l.Max-le.n+le.left, 0)
			s.mu.Unlock()
			return r, nil
		case le.n >= l.Max:
			// The shared count reached the limit, and it only grows until
			// the window ends: refused here, without asking the store.
			s.mu.Unlock()
			return r, policy.TooOften(l, what, max(r.Reset.Round(time.Second), time.Second))
		}
	}
	s.mu.Unlock()
	n, until, err := s.store.Hit(ctx, key, l.Per, chunk)
	if err != nil {
		return Result{}, err
	}
	granted := min(chunk, l.Max-(n-chunk)) // the part of the chunk still under the limit
	r := Result{Limit: l.Max, Remaining: max(l.Max-n, 0), Reset: max(until.Sub(now), 0)}
	le := &lease{left: max(granted-1, 0), n: min(n, l.Max), until: until}
	s.mu.Lock()
	if old := s.leases[key]; old != nil && old.until.Equal(until) {
		// Requests that ran out together each took a lease: keep every share.
		le.left += old.left
		le.n = max(le.n, old.n)
	}
	s.leases[key] = le
	s.mu.Unlock()
	if granted <= 0 {
		return r, policy.TooOften(l, what, max(r.Reset.Round(time.Second), time.Second))
	}
	r.Remaining = max(l.Max-le.n+le.left, 0)
	return r, nil
}

// TakeOne counts one event of key against l in the store itself: exact,
// and Undo can take it back (the limits of writes).
func (s *Service) TakeOne(ctx context.Context, key string, l policy.Limit, what string) (Result, error) {
	n, until, err := s.store.Hit(ctx, key, l.Per, 1)
	if err != nil {
		return Result{}, err
	}
	r := Result{Limit: l.Max, Remaining: max(l.Max-n, 0), Reset: max(until.Sub(s.now()), 0)}
	if n > l.Max {
		return r, policy.TooOften(l, what, max(r.Reset.Round(time.Second), time.Second))
	}
	return r, nil
}

// Undo takes back a TakeOne event that did not happen after all (the form was
// refused), so only what landed counts.
func (s *Service) Undo(ctx context.Context, key string) error { return s.store.Undo(ctx, key) }

// Key names a counter: its kind and the client, hashed to a fixed length
// (not secret: an address or a name is easily guessed back from it).
func Key(kind, client string) string {
	sum := sha256.Sum256([]byte(client))
	return kind + ":" + hex.EncodeToString(sum[:12])
}

// loginKeys are the failure counter and the lock of sign-ins to account
// from addr. Keyed by both, failures from one address never lock the
// account anywhere else: a stranger who knows a member's name can't lock
// them out.
func loginKeys(account, addr string) (base, fails, lock string) {
	base = account + "\x00" + addr
	return base, Key("login-fails", base), Key("login-lock", base)
}

// LoginAttempt claims one check of a password for account (named by
// accounts.Login.Key, so username and email count together) from
// addr (policy.LoginBackoff), or refuses with the wait
// (*models.RateLimitError). The attempt is counted before the password is
// checked, so guesses sent together can't all pass before the first
// failure is recorded: beyond the free failures only one attempt per lock
// gets through. done records the outcome: a success forgets the failures,
// a failure may lock.
func (s *Service) LoginAttempt(ctx context.Context, account, addr string) (done func(ctx context.Context, ok bool) error, err error) {
	base, fails, lock := loginKeys(account, addr)
	n, _, err := s.store.Hit(ctx, fails, policy.LoginFailureWindow, 1)
	if err != nil {
		return nil, err
	}
	if n > policy.LoginFreeFailures {
		if err := s.lockedOut(ctx, base, lock); err != nil {
			if uerr := s.store.Undo(ctx, fails); uerr != nil { // a refused attempt is no failure
				return nil, uerr
			}
			return nil, err
		}
	}
	return func(ctx context.Context, ok bool) error {
		if ok {
			if err := s.store.Delete(fails); err != nil {
				return err
			}
			return s.store.Delete(lock)
		}
		wait := policy.LoginBackoff(n)
		if wait == 0 {
			return nil
		}
		// Kept past the wait: the attempts after it are told apart by it.
		return s.store.Set(lock, []byte(strconv.FormatInt(s.now().Add(wait).UnixMilli(), 10)), wait+policy.LoginFailureWindow)
	}, nil
}

// lockedOut refuses an attempt while the lock holds, and every attempt but
// the first once it is over (until that one's outcome is known).
func (s *Service) lockedOut(ctx context.Context, base, lock string) error {
	v, err := s.store.Get(lock)
	if err != nil {
		return err
	}
	if until, perr := strconv.ParseInt(string(v), 10, 64); perr == nil {
		if wait := time.UnixMilli(until).Sub(s.now()); wait > 0 {
			return policy.LoginLocked(max(wait.Round(time.Second), time.Second))
		}
	}
	first, _, err := s.store.Hit(ctx, Key("login-try", base+"\x00"+string(v)), policy.LoginFailureWindow, 1)
	if err != nil {
		return err
	}
	if first > 1 {
		return policy.LoginLocked(time.Second)
	}
	return nil
}

// Run purges expired entries and leases every interval until ctx ends.
func (s *Service) Run(ctx context.Context, every time.Duration, report func(error)) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.dropLeases()
			if err := s.store.Purge(ctx); err != nil && ctx.Err() == nil {
				report(err)
			}
		}
	}
}

// dropLeases forgets the leases whose window has ended.
func (s *Service) dropLeases() {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, le := range s.leases {
		if !now.Before(le.until) {
			delete(s.leases, k)
		}
	}
}
