// Package ratelimit counts what clients do in a store that every node
// shares, so a limit holds however many nodes serve: the database by default
// (the shared_store table), or Redis. It knows nothing of HTTP; the limits
// themselves are policy's.
//
// Counting is one atomic statement in the store (an upsert that returns the
// new count, or a Redis script), not a read followed by a write: two nodes
// reading the same count and each writing count+1 would let through twice
// the limit, which is what Fiber's limiter does over a shared fiber.Storage.
package ratelimit

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/uptrace/bun"
)

// Store holds short-lived values and counters. Its first five methods are
// fiber.Storage's, so any Fiber middleware can keep its state there too.
type Store interface {
	// Get returns key's value, or nil when it has none or it expired.
	Get(key string) ([]byte, error)
	// Set stores val under key for exp (0: without expiry).
	Set(key string, val []byte, exp time.Duration) error
	Delete(key string) error
	// Reset deletes everything the store holds for Agora.
	Reset() error
	Close() error
	// Hit adds by to key's counter and returns the count and when the
	// counter's window ends; a window starts at the first hit after the last
	// one ended and lasts window.
	Hit(ctx context.Context, key string, window time.Duration, by int) (int, time.Time, error)
	// Undo takes one hit back, if the window is still open.
	Undo(ctx context.Context, key string) error
	// Purge deletes what has expired.
	Purge(ctx context.Context) error
}

// DB is the Store over the shared_store table, on SQLite and PostgreSQL.
// Times are Unix milliseconds, compared in SQL, so the nodes' clocks must
// agree to well under a window (NTP).
type DB struct {
	db  *bun.DB
	now func() time.Time
}

// NewDB returns the store over db; now may be nil for time.Now.
func NewDB(db *bun.DB, now func() time.Time) *DB {
	if now == nil {
		now = time.Now
	}
	return &DB{db: db, now: now}
}

func (s *DB) ms() int64 { return s.now().UnixMilli() }

// opTimeout bounds one store operation of fiber.Storage, which has no context.
const opTimeout = 5 * time.Second

func (s *DB) Get(key string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	var v []byte
	err := s.db.NewRaw("SELECT v FROM shared_store WHERE k = ? AND (expires_at = 0 OR expires_at > ?)", key, s.ms()).Scan(ctx, &v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return v, err
}

func (s *DB) Set(key string, val []byte, exp time.Duration) error {
	if key == "" || len(val) == 0 {
		return nil // fiber.Storage: ignored
	}
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	var until int64
	if exp > 0 {
		until = s.now().Add(exp).UnixMilli()
	}
	_, err := s.db.NewRaw(`INSERT INTO shared_store (k, v, n, expires_at) VALUES (?, ?, 0, ?)
		ON CONFLICT (k) DO UPDATE SET v = excluded.v, n = 0, expires_at = excluded.expires_at`, key, val, until).Exec(ctx)
	return err
}

func (s *DB) Delete(key string) error {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	_, err := s.db.NewRaw("DELETE FROM shared_store WHERE k = ?", key).Exec(ctx)
	return err
}

func (s *DB) Reset() error {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	_, err := s.db.NewRaw("DELETE FROM shared_store").Exec(ctx)
	return err
}

// Close does nothing: the database belongs to whoever opened it.
func (s *DB) Close() error { return nil }

// Hit is one upsert: a new or expired counter starts a window at by, a
// live one counts on; the row lock (PostgreSQL) or the single writer (SQLite)
// makes concurrent hits from every node add up exactly.
func (s *DB) Hit(ctx context.Context, key string, window time.Duration, by int) (int, time.Time, error) {
	now := s.now()
	var n int
	var until int64
	err := s.db.NewRaw(`INSERT INTO shared_store (k, n, expires_at) VALUES (?0, ?3, ?1)
		ON CONFLICT (k) DO UPDATE SET
			n = CASE WHEN shared_store.expires_at <= ?2 THEN ?3 ELSE shared_store.n + ?3 END,
			expires_at = CASE WHEN shared_store.expires_at <= ?2 THEN ?1 ELSE shared_store.expires_at END
		RETURNING n, expires_at`, key, now.Add(window).UnixMilli(), now.UnixMilli(), by).Scan(ctx, &n, &until)
	return n, time.UnixMilli(until), err
}

func (s *DB) Undo(ctx context.Context, key string) error {
	_, err := s.db.NewRaw("UPDATE shared_store SET n = n - 1 WHERE k = ? AND n > 0 AND expires_at > ?", key, s.ms()).Exec(ctx)
	return err
}

func (s *DB) Purge(ctx context.Context) error {
	_, err := s.db.NewRaw("DELETE FROM shared_store WHERE expires_at > 0 AND expires_at <= ?", s.ms()).Exec(ctx)
	return err
}
