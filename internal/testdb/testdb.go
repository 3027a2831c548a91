// Package testdb gives each test its own fresh, migrated database: a SQLite
// file in a temp dir, and a private PostgreSQL schema when
// AGORA_TEST_POSTGRES_URL is set. Tests never see each other's rows, so they
// can run in parallel.
package testdb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/uptrace/bun"

	"agora/database"
)

// Kinds lists the databases every store test runs against.
var Kinds = []string{"sqlite", "postgres"}

// Each runs fn once per database kind, as subtests named after the kind.
func Each(t *testing.T, fn func(t *testing.T, db *bun.DB)) {
	t.Helper()
	for _, kind := range Kinds {
		t.Run(kind, func(t *testing.T) {
			fn(t, Open(t, kind))
		})
	}
}

// URL returns a database URL for a fresh database of kind, dropped at cleanup.
// It skips the test (fails it under AGORA_REQUIRE_ALL_TESTS=1) when PostgreSQL
// is not configured.
func URL(tb testing.TB, kind string) string {
	tb.Helper()
	switch kind {
	case "sqlite":
		return "sqlite://" + filepath.Join(tb.TempDir(), "agora.db")
	case "postgres":
		base := os.Getenv("AGORA_TEST_POSTGRES_URL")
		if base == "" {
			Skip(tb, "AGORA_TEST_POSTGRES_URL is not set; PostgreSQL tests skipped")
		}
		return freshSchema(tb, base)
	}
	tb.Fatalf("unknown database kind %q", kind)
	return ""
}

// Open returns a migrated database of kind, closed at cleanup.
func Open(tb testing.TB, kind string) *bun.DB {
	tb.Helper()
	ctx := context.Background()
	db, err := database.Open(ctx, URL(tb, kind))
	if err != nil {
		tb.Fatalf("open %s: %v", kind, err)
	}
	tb.Cleanup(func() { db.Close() })
	if _, err := database.Migrate(ctx, db); err != nil {
		tb.Fatalf("migrate %s: %v", kind, err)
	}
	return db
}

// Skip skips with reason, or fails when AGORA_REQUIRE_ALL_TESTS=1 (as in CI).
func Skip(tb testing.TB, reason string) {
	tb.Helper()
	if os.Getenv("AGORA_REQUIRE_ALL_TESTS") == "1" {
		tb.Fatalf("required test cannot run: %s", reason)
	}
	tb.Skip(reason)
}

// freshSchema creates a private schema and returns base with search_path set to it.
func freshSchema(tb testing.TB, base string) string {
	tb.Helper()
	ctx := context.Background()
	admin, err := database.Open(ctx, base)
	if err != nil {
		tb.Fatalf("connect to PostgreSQL: %v", err)
	}
	b := make([]byte, 8)
	rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		admin.Close()
		tb.Fatalf("create schema: %v", err)
	}
	tb.Cleanup(func() {
		admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
		admin.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatalf("parse AGORA_TEST_POSTGRES_URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
