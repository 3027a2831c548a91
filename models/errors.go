// Package models holds the bun table structs and the query functions over
// them. Query functions take bun.IDB so they run inside or outside a
// transaction. Failures are reported with the sentinel errors below, which
// app/errors.go maps to HTTP statuses in one place.
package models

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
)

var (
	// ErrNotFound: the object does not exist (or the caller may not know it does).
	ErrNotFound = errors.New("not found")
	// ErrConflict: the write clashes with existing state (duplicate, concurrent change).
	ErrConflict = errors.New("conflict")
	// ErrUnauthenticated: the caller must sign in.
	ErrUnauthenticated = errors.New("sign in required")
	// ErrForbidden: the caller is known but may not do this.
	ErrForbidden = errors.New("forbidden")
)

// ValidationError lists the input fields that were rejected and why.
type ValidationError struct {
	Fields map[string]string
}

func (e *ValidationError) Error() string {
	keys := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + ": " + e.Fields[k]
	}
	return "invalid input: " + strings.Join(parts, "; ")
}

// Add records a problem with field, keeping the first one reported.
func (e *ValidationError) Add(field, why string) {
	if e.Fields == nil {
		e.Fields = map[string]string{}
	}
	if _, ok := e.Fields[field]; !ok {
		e.Fields[field] = why
	}
}

// Err returns e when it holds a problem, nil otherwise.
func (e *ValidationError) Err() error {
	if len(e.Fields) == 0 {
		return nil
	}
	return e
}

// ConflictError is an ErrConflict that names what clashed, so the client can say so.
type ConflictError struct {
	Field   string
	Message string
}

func (e *ConflictError) Error() string { return e.Message }
func (e *ConflictError) Unwrap() error { return ErrConflict }

// SuspendedError is an ErrForbidden for a suspended member; Until is nil for
// an indefinite suspension.
type SuspendedError struct {
	Until  *time.Time
	Reason string
}

func (e *SuspendedError) Error() string {
	if e.Until == nil {
		return "your account is suspended indefinitely"
	}
	return fmt.Sprintf("your account is suspended until %s", e.Until.UTC().Format(time.RFC3339))
}
func (e *SuspendedError) Unwrap() error { return ErrForbidden }

// notFound turns sql.ErrNoRows into ErrNotFound with context.
func notFound(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// IsUniqueViolation reports whether err is a unique-constraint failure on
// SQLite or PostgreSQL.
func IsUniqueViolation(err error) bool {
	if err == nil {
		return false
	}
	msg := err.Error()
	return strings.Contains(msg, "UNIQUE constraint failed") || // SQLite
		strings.Contains(msg, "SQLSTATE=23505") || strings.Contains(msg, "duplicate key value") // PostgreSQL
}

// IsNotFound reports whether err is (or wraps) ErrNotFound.
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

// ForbiddenError is an ErrForbidden that tells the client why, with a stable code.
type ForbiddenError struct {
	Code    string
	Message string
}

func (e *ForbiddenError) Error() string { return e.Message }
func (e *ForbiddenError) Unwrap() error { return ErrForbidden }

// RateLimitError: the caller did this too often; try again after RetryAfter.
type RateLimitError struct {
	RetryAfter time.Duration
	// Limit is the allowance used up (X-RateLimit-Limit); 0 when it has no number.
	Limit   int
	Message string
}

func (e *RateLimitError) Error() string { return e.Message }

// Advisory lock keys: writers that must take turns on PostgreSQL.
const (
	LockModLog int64 = 7431 // appending to the moderation log's hash chain
	LockSetup  int64 = 7432 // the first admin's setup
)

// AdvisoryLock makes tx take turns with every other transaction holding
// key, until it ends. On SQLite, whose write transactions are serial, it
// does nothing.
func AdvisoryLock(ctx context.Context, tx bun.Tx, key int64) error {
	if tx.Dialect().Name() != dialect.PG {
		return nil
	}
	if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(?)", key); err != nil {
		return fmt.Errorf("advisory lock %d: %w", key, err)
	}
	return nil
}
