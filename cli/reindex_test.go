package cli_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"agora/forum"
	"agora/internal/testdb"
	"agora/models"
	"agora/search"
)

var indexedRE = regexp.MustCompile(`(?m)^indexed (\d+) posts in \S+ \(\d+ posts/s\) into (.+)$`)

// reindexed runs `agora reindex` and returns the number of posts it reported.
func reindexed(t *testing.T, getenv func(string) string, dir string) int {
	t.Helper()
	type result struct {
		code           int
		stdout, stderr string
	}
	done := make(chan result, 1)
	go func() {
		code, stdout, stderr := run(t, getenv, "reindex")
		done <- result{code, stdout, stderr}
	}()
	var r result
	select {
	case r = <-done:
	case <-time.After(2 * time.Minute):
		t.Fatal("agora reindex did not finish")
	}
	if r.code != 0 {
		t.Fatalf("agora reindex exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	m := indexedRE.FindStringSubmatch(r.stdout)
	if m == nil || m[2] != dir {
		t.Fatalf("agora reindex printed %q, want \"indexed N posts in … into %s\"", r.stdout, dir)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

func searchFor(t *testing.T, ix *search.Index, query string, o search.Options) *search.Result {
	t.Helper()
	q, err := search.Parse(query)
	if err != nil {
		t.Fatal(err)
	}
	res, err := ix.Search(context.Background(), q, o)
	if err != nil {
		t.Fatalf("search %q: %v", query, err)
	}
	return res
}

func TestReindex(t *testing.T) {
	t.Parallel()
	for _, kind := range testdb.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			dbURL := testdb.URL(t, kind)
			dir := filepath.Join(t.TempDir(), "index")
			env := testEnv(t, dbURL, "AGORA_SEARCH_DIR", dir)

			// Synthetic posts have no outbox rows: only a reindex makes them searchable.
			if code, stdout, stderr := run(t, env, "seed", "--topics", "40", "--replies", "160", "--users", "6", "--seed", "3"); code != 0 {
				t.Fatalf("seed: exit %d\n%s%s", code, stdout, stderr)
			}
			db := openDB(t, dbURL)
			author := &models.User{Username: "quill", Email: "quill@example.com", Role: models.RoleMember, CreatedAt: time.Now(), UpdatedAt: time.Now()}
			if err := models.CreateUser(ctx, db, author); err != nil {
				t.Fatal(err)
			}
			cats, err := models.ListCategories(ctx, db, false)
			if err != nil || len(cats) == 0 {
				t.Fatalf("categories after seeding: %v, %v", cats, err)
			}
			_, known, err := forum.New(db, nil).CreateTopic(ctx, author, forum.TopicInput{CategoryID: cats[0].ID,
				Title: "Axolotl migration checklist", Body: "Every axolotl needs a checklist."})
			if err != nil {
				t.Fatal(err)
			}
			count, err := db.NewSelect().Model((*models.Post)(nil)).Count(ctx)
			posts := int(count)
			if err != nil || posts != 201 {
				t.Fatalf("posts in the database = %d, %v; want 201", posts, err)
			}

			if n := reindexed(t, env, dir); n != posts {
				t.Errorf("reindex reported %d posts, want %d", n, posts)
			}
			ix, err := search.Open(dir)
			if err != nil {
				t.Fatalf("open the index agora reindex built: %v", err)
			}
			res := searchFor(t, ix, "axolotl checklist", search.Options{Texts: search.DBTexts(db)})
			if res.Total != 1 || res.Hits[0].PostID != known.ID || res.Hits[0].Title == "" {
				t.Errorf("axolotl checklist found %+v, want post %d with its title marked", res.Hits, known.ID)
			}
			if res := searchFor(t, ix, "after:2000-01-01", search.Options{Staff: true, IncludeRemoved: true}); res.Total != posts {
				t.Errorf("the index holds %d posts, want %d", res.Total, posts)
			}

			// Again, beside a "server" that keeps the index open: the reindex
			// must neither wait for it nor pull its generation away.
			gen1, _ := os.Readlink(filepath.Join(dir, "current"))
			if n := reindexed(t, env, dir); n != posts {
				t.Errorf("second reindex reported %d posts, want %d", n, posts)
			}
			gen2, _ := os.Readlink(filepath.Join(dir, "current"))
			if gen2 == gen1 || gen2 == "" {
				t.Errorf("current = %q after the second reindex, was %q: want a new generation", gen2, gen1)
			}
			if res := searchFor(t, ix, "axolotl", search.Options{}); res.Total != 1 {
				t.Errorf("the open index answers %d hits after the swap, want 1", res.Total)
			}
			ix.Close()
			ix2, err := search.Open(dir)
			if err != nil {
				t.Fatalf("open the second generation: %v", err)
			}
			defer ix2.Close()
			if res := searchFor(t, ix2, "axolotl", search.Options{}); res.Total != 1 {
				t.Errorf("the new generation answers %d hits, want 1", res.Total)
			}
		})
	}
}

func TestReindexErrors(t *testing.T) {
	t.Parallel()
	dbURL := testdb.URL(t, "sqlite")
	file := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		env  func(string) string
		args []string
		code int
	}{
		{"arguments", testEnv(t, dbURL), []string{"reindex", "now"}, 2},
		{"search dir is a file", testEnv(t, dbURL, "AGORA_SEARCH_DIR", file), []string{"reindex"}, 2},
		{"database unreachable", testEnv(t, "postgres://nobody@127.0.0.1:1/agora?sslmode=disable&connect_timeout=2"), []string{"reindex"}, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := run(t, tc.env, tc.args...)
			if code != tc.code || stdout != "" || stderr == "" {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit %d with the reason on stderr", code, stdout, stderr, tc.code)
			}
		})
	}
	if b, err := os.ReadFile(file); err != nil || string(b) != "x" {
		t.Errorf("the file in the way was changed: %q, %v", b, err)
	}
}
