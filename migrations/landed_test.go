package migrations

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// A migration that has landed is never edited: a database migrated before
// the edit would never get it. landed.sum holds the SHA-256 of every
// migration file; a new migration adds its line, nothing changes a line.

// TestLandedMigrationsUnchanged fails when a migration file differs from its
// line in landed.sum, or has none.
func TestLandedMigrationsUnchanged(t *testing.T) {
	sums := readSums(t)
	err := fs.WalkDir(files, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := files.ReadFile(path)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		want, ok := sums[path]
		switch {
		case !ok:
			t.Errorf("%s is not in landed.sum: add its line (sha256sum %s >> landed.sum) when it lands", path, path)
		case want != hex.EncodeToString(sum[:]):
			t.Errorf("%s changed after it landed: write a new migration instead and restore the file", path)
		}
		delete(sums, path)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for path := range sums {
		t.Errorf("landed.sum names %s, which no longer exists: migrations are never deleted", path)
	}
}

// editedBeforeTheRule are the only migrations that history shows changing:
// the blob each had before its edit (see docs/migrations.md and migration
// 20261206000001_repair_edited, which repairs databases migrated in between).
var editedBeforeTheRule = map[string]string{
	"pg/20261122000001_cache_revs.tx.up.sql":         "017bee90dff55e417f45ad2b7e94eb153c385ae5",
	"pg/20261122000002_flags_post_user.down.sql":     "8a81b8a5c58dd86e9f5c94ae7a5b1b4f5a39201e",
	"pg/20261122000002_flags_post_user.up.sql":       "d2e86fd9c3d734fa8e2a4dcfa788f0a2f5e579db",
	"sqlite/20261122000001_cache_revs.tx.down.sql":   "92d928e2678d783e54a68874ea24c4ba86ad68e5",
	"sqlite/20261122000001_cache_revs.tx.up.sql":     "80dac33c8e1f1c04ffe30625c28c244f8b9e842d",
	"sqlite/20261122000002_flags_post_user.down.sql": "8a81b8a5c58dd86e9f5c94ae7a5b1b4f5a39201e",
	"sqlite/20261122000002_flags_post_user.up.sql":   "4e3120ae65898bd8961e0e0513a90ae3bfd73123",
}

// TestLandedMigrationsHistory fails when git history shows a committed
// migration changing after it was first committed: landed.sum alone would
// let an edit through that edits the sum too.
func TestLandedMigrationsHistory(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Log("git is not installed: history not checked (landed.sum still is)")
		return
	}
	if err := exec.Command("git", "rev-parse", "--git-dir").Run(); err != nil {
		t.Log("not a git checkout: history not checked (landed.sum still is)")
		return
	}
	for path := range readSums(t) {
		out, err := exec.Command("git", "log", "--format=", "--raw", "--no-abbrev", "--", path).Output()
		if err != nil {
			t.Fatalf("git log %s: %v", path, err)
		}
		var blobs []string
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			if f := strings.Fields(line); len(f) >= 5 {
				blobs = append(blobs, f[3])
			}
		}
		if len(blobs) <= 1 {
			continue // new, or committed once
		}
		if len(blobs) == 2 && blobs[1] == editedBeforeTheRule[path] {
			continue
		}
		t.Errorf("%s was changed after it was committed (blobs %v): write a new migration instead", path, blobs)
	}
}

func readSums(t *testing.T) map[string]string {
	t.Helper()
	f, err := os.Open("landed.sum")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sums := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if sum, path, ok := strings.Cut(sc.Text(), "  "); ok {
			sums[path] = sum
		}
	}
	return sums
}
