// Package database opens the configured database (embedded SQLite or
// PostgreSQL) as a *bun.DB and applies the embedded migrations.
package database

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
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

// Migrate applies every pending migration and returns the names applied,
// under the migration lock (LockMigrations).
func Migrate(ctx context.Context, db *bun.DB) ([]string, error) {
	m, err := Migrator(db)
	if err != nil {
		return nil, err
	}
	if err := m.Init(ctx); err != nil {
		return nil, fmt.Errorf("init migrations: %w", err)
	}
	unlock, err := LockMigrations(ctx, db)
	if err != nil {
		return nil, err
	}
	defer unlock()
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

// migrationLockKey is the PostgreSQL advisory lock of Agora's migrations,
// with the schema's name as its second key: one database may hold several
// forums, each in a schema of its own (the tests do).
const migrationLockKey = 0x61676f72 // "agor"

// LockMigrations takes the migration lock of db, waiting up to two minutes
// while another node holds it, so that nodes starting together take turns.
// The lock lives as long as the connection that holds it, so a node that
// dies mid-way (kill -9, a lost machine) releases it with its connection:
// on PostgreSQL an advisory lock on a connection of its own, on SQLite an
// exclusive transaction on the file beside the database
// (agora.db.migrate-lock). bun's lock table, a row a dead node would leave
// behind for ever, is not used. unlock releases it.
func LockMigrations(ctx context.Context, db *bun.DB) (unlock func(), err error) {
	conn, try, release, err := migrationLock(ctx, db)
	if err != nil || conn == nil {
		return func() {}, err
	}
	deadline := time.Now().Add(migrationLockWait)
	for {
		ok, err := try(ctx)
		switch {
		case err != nil:
			conn.Close()
			return nil, fmt.Errorf("lock migrations: %w", err)
		case ok:
			return func() {
				release(context.WithoutCancel(ctx)) // the close releases it too; this keeps the connection clean
				conn.Close()
			}, nil
		case time.Now().After(deadline):
			conn.Close()
			return nil, fmt.Errorf("lock migrations: another node has been migrating this database for %s; try again when it is done", migrationLockWait)
		}
		select {
		case <-ctx.Done():
			conn.Close()
			return nil, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// migrationLock is the connection that holds db's migration lock, an
// attempt to take it (false while another holds it) and its release. An
// in-memory SQLite database has no other process to keep out: no
// connection.
func migrationLock(ctx context.Context, db *bun.DB) (conn io.Closer, try func(context.Context) (bool, error), release func(context.Context), err error) {
	if !IsSQLite(db) {
		c, err := db.Conn(ctx)
		if err != nil {
			return nil, nil, nil, err
		}
		try = func(ctx context.Context) (ok bool, err error) {
			err = c.QueryRowContext(ctx, "SELECT pg_try_advisory_lock(?, hashtext(current_schema()))", migrationLockKey).Scan(&ok)
			return ok, err
		}
		release = func(ctx context.Context) {
			c.ExecContext(ctx, "SELECT pg_advisory_unlock(?, hashtext(current_schema()))", migrationLockKey) //nolint:errcheck // closing releases it too
		}
		return c, try, release, nil
	}
	var seq int
	var name, file string
	if err := db.QueryRowContext(ctx, "PRAGMA database_list").Scan(&seq, &name, &file); err != nil || file == "" {
		return nil, nil, nil, err
	}
	// busy_timeout 0: the driver's busy wait would not heed ctx; the loop waits instead.
	lockDB, err := sql.Open(sqliteshim.ShimName, "file:"+file+".migrate-lock?_pragma=busy_timeout(0)")
	if err != nil {
		return nil, nil, nil, err
	}
	lockDB.SetMaxOpenConns(1) // BEGIN and ROLLBACK on one connection
	try = func(ctx context.Context) (bool, error) {
		_, err := lockDB.ExecContext(ctx, "BEGIN EXCLUSIVE")
		if err != nil && (strings.Contains(err.Error(), "SQLITE_BUSY") || strings.Contains(err.Error(), "database is locked")) {
			return false, nil
		}
		return err == nil, err
	}
	release = func(ctx context.Context) {
		lockDB.ExecContext(ctx, "ROLLBACK") //nolint:errcheck // closing releases it too
	}
	return lockDB, try, release, nil
}
