package cli_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"agora/internal/testdb"
)

// The copy holds what the database holds, and opens as a database of its
// own; the command refuses an existing file and leaves it untouched.
func TestBackupSQLite(t *testing.T) {
	t.Parallel()
	dbURL := testdb.URL(t, "sqlite")
	env := testEnv(t, dbURL)
	if code, _, stderr := run(t, env, "seed", "--demo"); code != 0 {
		t.Fatalf("seed: exit %d: %s", code, stderr)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "copy.db")
	code, stdout, stderr := run(t, env, "backup", file)
	if code != 0 || !strings.Contains(stdout, "integrity ok") {
		t.Fatalf("backup: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("backup left files beside the copy: %v", entries)
	}
	ctx := context.Background()
	count := func(url, table string) int {
		var n int
		if err := openDB(t, url).NewRaw("SELECT count(*) FROM "+table).Scan(ctx, &n); err != nil {
			t.Fatalf("count %s in %s: %v", table, url, err)
		}
		return n
	}
	for _, table := range []string{"users", "topics", "posts", "moderation_actions"} {
		if got, want := count("sqlite://"+file, table), count(dbURL, table); got != want || want == 0 {
			t.Errorf("%s: copy has %d rows, the database %d", table, got, want)
		}
	}

	// An existing file is never overwritten.
	if err := os.WriteFile(file, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = run(t, env, "backup", file)
	if code != 2 || !strings.Contains(stderr, "already exists") {
		t.Errorf("backup onto an existing file: exit %d, stderr %q; want 2 naming the file", code, stderr)
	}
	if b, _ := os.ReadFile(file); string(b) != "keep me" {
		t.Errorf("the existing file was changed: %q", b)
	}
}

func TestBackupUsageAndMissingDatabase(t *testing.T) {
	t.Parallel()
	missing := "sqlite://" + filepath.Join(t.TempDir(), "none.db")
	for _, c := range []struct {
		name string
		env  func(string) string
		args []string
		want string
	}{
		{"no file", testEnv(t, testdb.URL(t, "sqlite")), []string{"backup"}, "one argument"},
		{"two files", testEnv(t, testdb.URL(t, "sqlite")), []string{"backup", "a.db", "b.db"}, "one argument"},
		{"no database", testEnv(t, missing), []string{"backup", filepath.Join(t.TempDir(), "x.db")}, "no database at"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, _, stderr := run(t, c.env, c.args...)
			if code != 2 || !strings.Contains(stderr, c.want) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", code, stderr, c.want)
			}
		})
	}
	if _, err := os.Stat(strings.TrimPrefix(missing, "sqlite://")); err == nil {
		t.Error("backup created the database it was asked to copy")
	}
}

// PostgreSQL is copied with its own tools: the command says which.
func TestBackupPostgresPointsToPgDump(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "copy.db")
	code, _, stderr := run(t, testEnv(t, testdb.URL(t, "postgres")), "backup", file)
	if code != 2 || !strings.Contains(stderr, "pg_dump") {
		t.Errorf("exit %d, stderr %q; want 2 naming pg_dump", code, stderr)
	}
	if _, err := os.Stat(file); err == nil {
		t.Error("a file was written")
	}
}
