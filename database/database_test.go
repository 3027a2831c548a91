package database_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"agora/database"
	"agora/internal/testdb"
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
