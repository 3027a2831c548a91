package database_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/migrate"

	"agora/database"
	"agora/internal/testdb"
	"agora/migrations"
)

func TestMigrateUpDownUp(t *testing.T) {
	for _, kind := range testdb.Kinds {
		t.Run(kind, func(t *testing.T) {
			ctx := context.Background()
			db, err := database.Open(ctx, testdb.URL(t, kind))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			applied, err := database.Migrate(ctx, db)
			if err != nil {
				t.Fatal(err)
			}
			if len(applied) == 0 {
				t.Fatal("no migration applied on an empty database")
			}
			again, err := database.Migrate(ctx, db)
			if err != nil || len(again) != 0 {
				t.Fatalf("second migrate: applied %v, err %v; want nothing", again, err)
			}
			m, err := database.Migrator(db)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := m.Rollback(ctx); err != nil {
				t.Fatalf("rollback: %v", err)
			}
			var n int
			err = db.NewSelect().TableExpr("users").ColumnExpr("count(*)").Scan(ctx, &n)
			if err == nil {
				t.Fatal("users table still exists after rolling back")
			}
			if _, err := database.Migrate(ctx, db); err != nil {
				t.Fatalf("migrate after rollback: %v", err)
			}
			if err := db.NewSelect().TableExpr("users").ColumnExpr("count(*)").Scan(ctx, &n); err != nil {
				t.Fatalf("users after re-migrate: %v", err)
			}
		})
	}
}

func TestOpenBadURL(t *testing.T) {
	ctx := context.Background()
	for _, u := range []string{"mysql://x", "", "sqlite://"} {
		if _, err := database.Open(ctx, u); !errors.Is(err, database.ErrBadURL) {
			t.Errorf("Open(%q) = %v, want ErrBadURL", u, err)
		}
	}
	if _, err := database.Open(ctx, "postgres://127.0.0.1:1/none?dial_timeout=1s"); err == nil {
		t.Error("Open of an unreachable PostgreSQL succeeded")
	}
}

func TestOpenUnwritableDir(t *testing.T) {
	if os.Geteuid() == 0 {
		// root writes anywhere; use a path under a regular file instead.
		f := filepath.Join(t.TempDir(), "file")
		os.WriteFile(f, nil, 0o600)
		if _, err := database.Open(context.Background(), "sqlite://"+filepath.Join(f, "agora.db")); err == nil {
			t.Fatal("Open under a regular file succeeded")
		}
		return
	}
	dir := t.TempDir()
	os.Chmod(dir, 0o500)
	if _, err := database.Open(context.Background(), "sqlite://"+filepath.Join(dir, "sub", "agora.db")); err == nil {
		t.Fatal("Open in a read-only directory succeeded")
	}
}

// TestRepairEditedMigrations: a database migrated with the two migrations
// as they first landed (testdata/landed holds them before they were edited) ends up,
// after today's migrations, with the same schema as a fresh one, and the
// page versions work.
func TestRepairEditedMigrations(t *testing.T) {
	for _, kind := range testdb.Kinds {
		t.Run(kind, func(t *testing.T) {
			ctx := context.Background()
			fresh := testdb.Open(t, kind)
			old, err := database.Open(ctx, testdb.URL(t, kind))
			if err != nil {
				t.Fatal(err)
			}
			defer old.Close()
			dialect := "pg"
			if database.IsSQLite(old) {
				dialect = "sqlite"
			}
			// The edited two as they first landed, after the unedited ones from today's set.
			landed := migrate.NewMigrations()
			if err := landed.Discover(os.DirFS(filepath.Join("testdata", "landed", dialect))); err != nil {
				t.Fatal(err)
			}
			today, err := migrations.For(dialect)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range today.Sorted() {
				if m.Name < "20261122000001" {
					landed.Add(m)
				}
			}
			m := migrate.NewMigrator(old, landed, migrate.WithMarkAppliedOnSuccess(true))
			if err := m.Init(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := m.Migrate(ctx); err != nil {
				t.Fatalf("migrate as first landed: %v", err)
			}
			if _, err := old.ExecContext(ctx, "UPDATE site_rev SET rev = 41"); err != nil {
				t.Fatal(err)
			}
			applied, err := database.Migrate(ctx, old)
			if err != nil {
				t.Fatalf("migrate to today: %v", err)
			}
			// The repair, then only the migrations that landed after it.
			if len(applied) == 0 || applied[0] != "20261206000001_repair_edited" || slices.ContainsFunc(applied[1:],
				func(n string) bool { return n <= "20261206000001_repair_edited" }) {
				t.Errorf("applied %v, want the repair first, then only later migrations", applied)
			}
			if got, want := schemaOf(t, old), schemaOf(t, fresh); got != want {
				t.Errorf("repaired schema differs from a fresh one:\n--- repaired\n%s\n--- fresh\n%s", got, want)
			}
			var rev, lists int64
			if err := old.NewSelect().TableExpr("site_rev").ColumnExpr("rev, lists").Scan(ctx, &rev, &lists); err != nil {
				t.Fatalf("site_rev after repair: %v", err)
			}
			if rev < 41 {
				t.Errorf("site_rev.rev = %d after repair, want it never to go back (was 41)", rev)
			}
		})
	}
}

// schemaOf describes db's tables, columns, indexes, triggers and functions, one per line, sorted.
func schemaOf(t *testing.T, db *bun.DB) string {
	t.Helper()
	ctx := context.Background()
	q := `SELECT type || ' ' || name || ': ' || COALESCE(sql, '') FROM sqlite_master
		WHERE name NOT LIKE 'sqlite_%' AND name NOT LIKE 'bun_migration%'`
	if !database.IsSQLite(db) {
		q = `SELECT 'column ' || table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable || ' ' || COALESCE(column_default, '')
			FROM information_schema.columns WHERE table_schema = current_schema() AND table_name NOT LIKE 'bun_migration%'
		UNION ALL SELECT 'index ' || indexname || ': ' || replace(indexdef, current_schema() || '.', '') FROM pg_indexes
			WHERE schemaname = current_schema() AND tablename NOT LIKE 'bun_migration%'
		UNION ALL SELECT 'trigger ' || tgname || ': ' || replace(pg_get_triggerdef(t.oid), current_schema() || '.', '')
			FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid WHERE NOT t.tgisinternal AND c.relnamespace = current_schema()::regnamespace
		UNION ALL SELECT 'function ' || proname || ': ' || replace(pg_get_functiondef(p.oid), current_schema() || '.', '')
			FROM pg_proc p WHERE p.pronamespace = current_schema()::regnamespace`
	}
	var lines []string
	if err := db.NewRaw(q).Scan(ctx, &lines); err != nil {
		t.Fatalf("read schema: %v", err)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// TestMigrateWaitsForAnotherNode: nodes starting together take turns at
// migrating instead of all but one failing on the lock.
func TestMigrateWaitsForAnotherNode(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		unlock, err := database.LockMigrations(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { _, err := database.Migrate(ctx, db); done <- err }()
		select {
		case err := <-done:
			t.Fatalf("Migrate while another node held the lock returned at once: %v", err)
		case <-time.After(600 * time.Millisecond): // the other node migrating
		}
		unlock()
		if err := <-done; err != nil {
			t.Errorf("Migrate while another node held the lock: %v, want it to wait and succeed", err)
		}
	})
}

// TestMigrationLockDiesWithItsHolder: a node killed while it holds the
// migration lock (kill -9: no deferred unlock runs) does not keep the next
// start waiting. The holder is this test binary run again as a child.
func TestMigrationLockDiesWithItsHolder(t *testing.T) {
	if url := os.Getenv("AGORA_TEST_HOLD_MIGRATION_LOCK"); url != "" {
		holdMigrationLock(t, url)
		return
	}
	t.Parallel()
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			url := testdb.URL(t, kind)
			ctx := context.Background()
			db, err := database.Open(ctx, url)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			cmd := exec.Command(os.Args[0], "-test.run=^TestMigrationLockDiesWithItsHolder$")
			cmd.Env = append(os.Environ(), "AGORA_TEST_HOLD_MIGRATION_LOCK="+url)
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Wait() //nolint:errcheck // killed
			line, err := bufio.NewReader(out).ReadString('\n')
			if err != nil || !strings.Contains(line, "holding the migration lock") {
				cmd.Process.Kill()
				t.Fatalf("the holder said %q (%v)", line, err)
			}
			// Held: a start now waits, as long as its context lets it.
			start := time.Now()
			waitCtx, cancel := context.WithTimeout(ctx, 700*time.Millisecond)
			unlock, err := database.LockMigrations(waitCtx, db)
			cancel()
			if err == nil {
				unlock()
				t.Fatal("took the migration lock while another process held it")
			}
			if d := time.Since(start); d < 600*time.Millisecond || d > 5*time.Second {
				t.Fatalf("waiting for the lock with 700 ms to spare ended after %s: %v", d, err)
			}
			if err := cmd.Process.Kill(); err != nil { // SIGKILL
				t.Fatal(err)
			}
			start = time.Now()
			if _, err := database.Migrate(ctx, db); err != nil {
				t.Fatalf("Migrate after the holder was killed: %v", err)
			}
			if d := time.Since(start); d > 30*time.Second {
				t.Errorf("Migrate after the holder was killed took %s", d)
			}
		})
	}
}

// holdMigrationLock is the child: it takes the lock, says so and waits to be killed.
func holdMigrationLock(t *testing.T, url string) {
	ctx := context.Background()
	db, err := database.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := database.LockMigrations(ctx, db); err != nil {
		t.Fatal(err)
	}
	fmt.Println("holding the migration lock")
	time.Sleep(time.Minute)
	t.Fatal("the holder was not killed")
}
