// Package database opens the configured database (embedded SQLite or
// PostgreSQL) as a *bun.DB and applies the embedded migrations.
package database

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/dialect/sqlitedialect"
	"github.com/uptrace/bun/driver/pgdriver"
	"github.com/uptrace/bun/driver/sqliteshim"
	"github.com/uptrace/bun/migrate"

	"agora/migrations"
)

// ErrBadURL reports a database URL with an unknown scheme or no path.
var ErrBadURL = errors.New("database URL must be sqlite://path or postgres://…")

// Open connects to url (sqlite://path or postgres://…), checks that the
// database answers, and returns it. SQLite files get WAL, foreign keys, a busy
// timeout and immediate write transactions so concurrent writers queue instead
// of failing with "database is locked".
func Open(ctx context.Context, rawURL string) (*bun.DB, error) {
	var db *bun.DB
	switch {
	case strings.HasPrefix(rawURL, "sqlite://"):
		path := strings.TrimPrefix(rawURL, "sqlite://")
		if path == "" {
			return nil, ErrBadURL
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
			return nil, fmt.Errorf("create data directory: %w", err)
		}
		dsn := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)" +
			"&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate"
		sqldb, err := sql.Open(sqliteshim.ShimName, dsn)
		if err != nil {
			return nil, fmt.Errorf("open sqlite %s: %w", path, err)
		}
		sqldb.SetMaxOpenConns(8)
		sqldb.SetMaxIdleConns(8)
		sqldb.SetConnMaxLifetime(0)
		db = bun.NewDB(sqldb, sqlitedialect.New())
	case strings.HasPrefix(rawURL, "postgres://"), strings.HasPrefix(rawURL, "postgresql://"):
		if _, err := url.Parse(rawURL); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadURL, err)
		}
		sqldb := sql.OpenDB(pgdriver.NewConnector(pgdriver.WithDSN(rawURL), pgdriver.WithTimeout(10*time.Second)))
		sqldb.SetMaxOpenConns(32)
		db = bun.NewDB(sqldb, pgdialect.New())
	default:
		return nil, ErrBadURL
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pingCtx); err != nil {
		db.Close()
		return nil, fmt.Errorf("database unreachable: %w", err)
	}
	if IsSQLite(db) {
		// Fail now, not on the first write, when the file or folder is read-only.
		if _, err := db.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS agora_write_check (id INTEGER); DROP TABLE agora_write_check"); err != nil {
			db.Close()
			return nil, fmt.Errorf("database not writable: %w", err)
		}
	}
	return db, nil
}

// IsSQLite reports whether db speaks the SQLite dialect.
func IsSQLite(db bun.IDB) bool {
	return db.Dialect().Name().String() == "sqlite"
}

// Migrator returns a bun migrator for db's dialect.
func Migrator(db *bun.DB) (*migrate.Migrator, error) {
	folder := "pg"
	if IsSQLite(db) {
		folder = "sqlite"
	}
	ms, err := migrations.For(folder)
	if err != nil {
		return nil, err
	}
	return migrate.NewMigrator(db, ms, migrate.WithMarkAppliedOnSuccess(true)), nil
}

// Migrate applies every pending migration and returns the names applied.
func Migrate(ctx context.Context, db *bun.DB) ([]string, error) {
	m, err := Migrator(db)
	if err != nil {
		return nil, err
	}
	if err := m.Init(ctx); err != nil {
		return nil, fmt.Errorf("init migrations: %w", err)
	}
	if err := lockMigrations(ctx, m); err != nil {
		return nil, fmt.Errorf("lock migrations: %w", err)
	}
	defer m.Unlock(ctx) //nolint:errcheck // best effort; a stale lock is reported by the next run
	group, err := m.Migrate(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	var names []string
	for _, mig := range group.Migrations {
		names = append(names, mig.Name+"_"+mig.Comment)
	}
	return names, nil
}

// migrationLockWait is how long a start waits for another node's migration.
const migrationLockWait = 2 * time.Minute

// lockMigrations takes bun's migration lock, waiting while another node
// holds it: bun's Lock fails at once, which would stop every node but one
// when several start together. A lock left by a node that died mid-way
// still fails the start, after the wait, naming the lock.
func lockMigrations(ctx context.Context, m *migrate.Migrator) error {
	deadline := time.Now().Add(migrationLockWait)
	for {
		err := m.Lock(ctx)
		if err == nil || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(250 * time.Millisecond):
		}
	}
}
