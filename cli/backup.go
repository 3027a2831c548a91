package cli

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

	"github.com/uptrace/bun/driver/sqliteshim"
	"modernc.org/sqlite"

	"agora/config"
)

// pgDumpHint is what `agora backup` says for PostgreSQL, where the
// database server's own tools make consistent copies.
const pgDumpHint = "agora backup copies SQLite databases; for PostgreSQL use pg_dump, e.g.\n" +
	"  pg_dump --format=custom --file=agora.dump \"$AGORA_DATABASE_URL\"\n" +
	"and pg_restore --no-owner --dbname=postgres://…/agora_restored agora.dump to restore (README, Backups)"

// backupCmd implements `agora backup FILE`: an online, consistent copy of
// the SQLite database through SQLite's backup API, safe while the server
// runs and writes. FILE must not exist; the copy is written beside it
// under a temporary name and linked into place only when complete and
// checked, so FILE is never a half-written database.
func backupCmd(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	cfg, rest, err := config.Load(args, getenv)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return usageError("backup takes one argument: the file to write")
	}
	file := rest[0]
	if !strings.HasPrefix(cfg.DatabaseURL, "sqlite://") {
		return refusal(pgDumpHint)
	}
	src := strings.TrimPrefix(cfg.DatabaseURL, "sqlite://")
	if _, err := os.Stat(src); err != nil {
		// database.Open would create an empty database: never back that up.
		return refusal(fmt.Sprintf("no database at %s: %v", src, err))
	}
	if _, err := os.Lstat(file); err == nil {
		return refusal(file + " already exists; agora backup never overwrites a file")
	}
	db, err := connect(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()

	start := time.Now()
	tmp, err := os.CreateTemp(filepath.Dir(file), "."+filepath.Base(file)+".partial-*")
	if err != nil {
		return fmt.Errorf("create backup file: %w", err)
	}
	tmp.Close()
	defer func() { // after the link below, only the temporary names go
		for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
			os.Remove(tmp.Name() + suffix)
		}
	}()
	if err := sqliteBackup(ctx, db.DB, tmp.Name()); err != nil {
		return err
	}
	copied := time.Since(start)
	if err := finishCopy(ctx, tmp.Name()); err != nil {
		return err
	}
	// A hard link never replaces an existing file, unlike a rename: a file
	// created at FILE meanwhile is kept and this backup fails.
	if err := os.Link(tmp.Name(), file); err != nil {
		return fmt.Errorf("put the backup in place: %w", err)
	}
	if d, err := os.Open(filepath.Dir(file)); err == nil {
		d.Sync() //nolint:errcheck // best effort: make the new name durable
		d.Close()
	}
	info, err := os.Stat(file)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "backed up %s to %s (%.1f MB: copied in %s, integrity ok, checked in %s)\n", src, file,
		float64(info.Size())/(1<<20), copied.Round(time.Millisecond), (time.Since(start) - copied).Round(time.Millisecond))
	return nil
}

// sqliteConn is the part of modernc.org/sqlite's driver connection that
// starts an online backup.
type sqliteConn interface {
	NewBackup(dstURI string) (*sqlite.Backup, error)
}

// sqliteBackup copies the database of one connection of db into dst in a
// single step: one read transaction, so the copy is the database as of one
// instant. In WAL mode a reader blocks no writer, so the server keeps
// writing meanwhile; a copy made page batch by page batch would restart
// whenever another connection wrote, and might never finish under load.
func sqliteBackup(ctx context.Context, db *sql.DB, dst string) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		c, ok := dc.(sqliteConn)
		if !ok {
			return fmt.Errorf("agora backup needs the built-in SQLite driver (modernc.org/sqlite); this binary uses %T", dc)
		}
		b, err := c.NewBackup("file:" + (&url.URL{Path: dst}).EscapedPath())
		if err != nil {
			return fmt.Errorf("start backup: %w", err)
		}
		_, stepErr := b.Step(-1)
		if err := errors.Join(stepErr, b.Finish()); err != nil {
			return fmt.Errorf("backup: %w", err)
		}
		return nil
	})
}

// finishCopy makes the copy one self-contained file (the rollback journal
// instead of the source's WAL, which a server opening it turns on again)
// and runs SQLite's integrity check on it.
func finishCopy(ctx context.Context, path string) error {
	db, err := sql.Open(sqliteshim.ShimName, "file:"+(&url.URL{Path: path}).EscapedPath())
	if err != nil {
		return fmt.Errorf("open the copy: %w", err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, "PRAGMA journal_mode=DELETE"); err != nil {
		return fmt.Errorf("copy: leave WAL mode: %w", err)
	}
	var res []string
	rows, err := db.QueryContext(ctx, "PRAGMA integrity_check")
	if err != nil {
		return fmt.Errorf("check the copy: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return fmt.Errorf("check the copy: %w", err)
		}
		res = append(res, line)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("check the copy: %w", err)
	}
	if len(res) != 1 || res[0] != "ok" {
		return fmt.Errorf("the copy fails SQLite's integrity check: %s", strings.Join(res, "; "))
	}
	return nil
}
