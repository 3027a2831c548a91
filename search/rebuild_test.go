package search_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/uptrace/bun"

	"agora/internal/testdb"
	"agora/models"
	"agora/search"
)

func generations(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var gens []string
	for _, e := range entries {
		if e.IsDir() && strings.HasPrefix(e.Name(), "gen-") {
			gens = append(gens, e.Name())
		}
	}
	return gens
}

func current(t *testing.T, dir string) string {
	t.Helper()
	gen, err := os.Readlink(filepath.Join(dir, "current"))
	if err != nil {
		t.Fatalf("read the current link: %v", err)
	}
	return gen
}

func TestRebuild(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		tp, first := f.topic(t, f.alice, f.general, "Rebuild test topic title", "Walrus facts, part one.")
		second := f.reply(t, f.bob, tp.ID, "Walrus facts, part two.")
		removed := f.reply(t, f.carol, tp.ID, "Walrus facts, removed.")
		if err := errOf(f.mod.RemovePost(ctx, f.mia, removed.ID, why("spam"))); err != nil {
			t.Fatal(err)
		}
		// No CatchUp: the rebuild alone must find everything.

		t.Run("missing index", func(t *testing.T) {
			dir := t.TempDir()
			ix, err := search.Open(dir)
			if !errors.Is(err, search.ErrNoIndex) || ix == nil || ix.Ready() {
				t.Fatalf("Open(empty dir) = %v, %v; want a not-ready index and ErrNoIndex", ix, err)
			}
			defer ix.Close()
			q, _ := search.Parse("walrus")
			if _, err := ix.Search(ctx, q, member); !errors.Is(err, search.ErrNoIndex) {
				t.Errorf("Search without an index = %v, want ErrNoIndex", err)
			}
			if _, err := ix.Cursor(); !errors.Is(err, search.ErrNoIndex) {
				t.Errorf("Cursor without an index = %v, want ErrNoIndex", err)
			}
			if err := ix.Apply(nil, nil, 1); !errors.Is(err, search.ErrNoIndex) {
				t.Errorf("Apply without an index = %v, want ErrNoIndex", err)
			}
			if ids, err := ix.SimilarTopics(ctx, "walrus", 5); !errors.Is(err, search.ErrNoIndex) {
				t.Errorf("SimilarTopics without an index = %v, %v; want ErrNoIndex", ids, err)
			}
		})

		gen1 := current(t, f.dir)
		var calls, lastDone, lastTotal int
		n, err := search.Rebuild(ctx, db, f.ix, func(done, total int) { calls, lastDone, lastTotal = calls+1, done, total })
		if err != nil || n != 3 {
			t.Fatalf("Rebuild = %d, %v; want 3 posts", n, err)
		}
		if calls == 0 || lastDone != 3 || lastTotal != 3 {
			t.Errorf("progress called %d times, last (%d, %d); want (3, 3)", calls, lastDone, lastTotal)
		}
		gen2 := current(t, f.dir)
		if gen2 == gen1 {
			t.Errorf("current still points at %s after the rebuild", gen1)
		}
		if gens := generations(t, f.dir); !slices.Equal(gens, []string{gen2}) {
			t.Errorf("generations on disk = %v, want only %s (the old one removed)", gens, gen2)
		}
		if _, err := os.Lstat(filepath.Join(f.dir, "current.tmp")); !os.IsNotExist(err) {
			t.Errorf("current.tmp left behind: %v", err)
		}
		wantPosts(t, f.find(t, "walrus", member), "walrus", first, second)
		wantPosts(t, f.find(t, "walrus", staffAll), "walrus for staff", first, second, removed)
		wantCursorAtEnd(t, db, f.ix)
		if n := f.catchUp(t); n != 0 {
			t.Errorf("CatchUp after a rebuild applied %d rows, want 0 (the rebuild covered them)", n)
		}

		// The rebuilt generation is what the next process opens.
		f.ix.Close()
		ix, err := search.Open(f.dir)
		if err != nil {
			t.Fatalf("reopen the rebuilt index: %v", err)
		}
		defer ix.Close()
		wantPosts(t, find(t, ix, "walrus", member), "walrus after reopening", first, second)
	})
}

// TestReindexWhileServing: a serving index (with its indexer running) and
// a reindex on the same directory, as `agora reindex` does beside a
// running server: the reindex must not wait for the server's lock, and the
// server switches to the new generation by itself.
func TestReindexWhileServing(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		f.x.Log = slog.New(slog.NewTextHandler(tlog{t}, nil))
		stop := run(t, f.x)
		tp, before := f.topic(t, f.alice, f.general, "Served before the reindex", "Ocelot notes, first.")
		eventually(t, "the running indexer applies a new post", func() bool { return finds(f.ix, "ocelot", before.ID) })

		// A post imported without an outbox row (as agora seed writes them):
		// only a rebuild indexes it.
		imported := &models.Post{TopicID: tp.ID, UserID: f.bob.ID, PostNumber: 2, Body: "Ocelot notes, imported.",
			HTML: "<p>Ocelot notes, imported.</p>", CreatedAt: f.now, UpdatedAt: f.now}
		if _, err := db.NewInsert().Model(imported).Returning("id").Exec(ctx); err != nil {
			t.Fatal(err)
		}
		gen1 := current(t, f.dir)

		type opened struct {
			ix  *search.Index
			err error
		}
		ch := make(chan opened, 1)
		go func() { ix, err := search.Open(f.dir); ch <- opened{ix, err} }()
		var other *search.Index
		select {
		case o := <-ch:
			if !errors.Is(o.err, search.ErrNoIndex) {
				t.Fatalf("second Open while the index is in use = %v, want ErrNoIndex", o.err)
			}
			other = o.ix
		case <-time.After(20 * time.Second):
			t.Fatal("a second Open of an index in use never returns")
		}
		n, err := search.Rebuild(ctx, db, other, nil)
		if err != nil || n != 2 {
			t.Fatalf("Rebuild beside the server = %d, %v; want 2 posts", n, err)
		}
		other.Close() // the reindex process exits
		gen2 := current(t, f.dir)
		if gen2 == gen1 {
			t.Fatal("the rebuild did not swap the current link")
		}

		eventually(t, "the server reloads the new generation", func() bool { return finds(f.ix, "ocelot", imported.ID) })
		eventually(t, "the old generation is deleted", func() bool { return slices.Equal(generations(t, f.dir), []string{gen2}) })
		after := f.reply(t, f.carol, tp.ID, "Ocelot notes, after the reindex.")
		eventually(t, "the server indexes new posts into the new generation", func() bool { return finds(f.ix, "ocelot", after.ID) })
		stop()

		// What the server wrote went into the generation now current.
		f.ix.Close()
		ix, err := search.Open(f.dir)
		if err != nil {
			t.Fatal(err)
		}
		defer ix.Close()
		wantPosts(t, find(t, ix, "ocelot", member), "ocelot after restart", before, imported, after)
		wantCursorAtEnd(t, db, ix)
	})
}

// TestRunRebuildsUnusableIndex: a missing or corrupt index is ErrNoIndex
// from Open, and Indexer.Run rebuilds it from the database.
func TestRunRebuildsUnusableIndex(t *testing.T) {
	t.Parallel()
	breakages := []struct {
		name   string
		break_ func(t *testing.T, dir, gen string)
	}{
		{"no index at all", func(t *testing.T, dir, gen string) {
			os.Remove(filepath.Join(dir, "current"))
			os.RemoveAll(filepath.Join(dir, gen))
		}},
		{"current points nowhere", func(t *testing.T, dir, gen string) {
			os.RemoveAll(filepath.Join(dir, gen))
		}},
		{"current points at a folder that is no index", func(t *testing.T, dir, gen string) {
			mustWrite(t, filepath.Join(dir, "notes", "README"), "not an index")
			relink(t, dir, "notes")
		}},
		{"garbage index metadata", func(t *testing.T, dir, gen string) {
			mustWrite(t, filepath.Join(dir, gen, "index_meta.json"), "\x00\x01 not json")
		}},
		{"garbage store", func(t *testing.T, dir, gen string) {
			matches, _ := filepath.Glob(filepath.Join(dir, gen, "store", "*.bolt"))
			if len(matches) == 0 {
				t.Fatal("no bolt file in the generation folder")
			}
			for _, m := range matches {
				mustWrite(t, m, strings.Repeat("garbage!", 4096))
			}
		}},
	}
	for _, b := range breakages {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			testdb.Each(t, func(t *testing.T, db *bun.DB) {
				f := newFixture(t, db)
				_, post := f.topic(t, f.alice, f.general, "Recovering the search index", "Narwhal sightings.")
				gen := current(t, f.dir)
				f.ix.Close()
				b.break_(t, f.dir, gen)

				ix, err := search.Open(f.dir)
				if !errors.Is(err, search.ErrNoIndex) || ix.Ready() {
					t.Fatalf("Open = %v (ready %v), want ErrNoIndex", err, ix.Ready())
				}
				defer ix.Close()
				stop := run(t, &search.Indexer{DB: db, Index: ix, Log: slog.New(slog.NewTextHandler(tlog{t}, nil))})
				eventually(t, "Run rebuilds the index", func() bool { return ix.Ready() && finds(ix, "narwhal", post.ID) })
				stop()
				ix.Close()
				again, err := search.Open(f.dir)
				if err != nil {
					t.Fatalf("Open after the rebuild: %v", err)
				}
				defer again.Close()
				wantPosts(t, find(t, again, "narwhal", member), "narwhal", post)
			})
		})
	}
}

// TestRunRebuildsOtherLayout: an index written with another mapping (an
// older version of Agora) opens as ErrNoIndex; Indexer.Run rebuilds it and
// deletes the old generation.
func TestRunRebuildsOtherLayout(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		f := newFixture(t, db)
		_, post := f.topic(t, f.alice, f.general, "Layouts change between versions", "Axolotl care.")
		f.ix.Close()
		os.RemoveAll(filepath.Join(f.dir, current(t, f.dir)))
		old, err := bleve.New(filepath.Join(f.dir, "gen-old"), bleve.NewIndexMapping())
		if err != nil {
			t.Fatal(err)
		}
		if err := old.Index("p1", map[string]any{"title": "Axolotl care", "body": "Axolotl care."}); err != nil {
			t.Fatal(err)
		}
		old.Close()
		relink(t, f.dir, "gen-old")

		ix, err := search.Open(f.dir)
		if !errors.Is(err, search.ErrNoIndex) || !strings.Contains(err.Error(), "layout") || ix.Ready() {
			t.Fatalf("Open(older layout) = %v (ready %v), want ErrNoIndex naming the layout", err, ix.Ready())
		}
		defer ix.Close()
		stop := run(t, &search.Indexer{DB: db, Index: ix, Log: slog.New(slog.NewTextHandler(tlog{t}, nil))})
		eventually(t, "Run rebuilds the index", func() bool { return ix.Ready() && finds(ix, "axolotl", post.ID) })
		stop()
		if gens := generations(t, f.dir); len(gens) != 1 || gens[0] == "gen-old" {
			t.Errorf("generations on disk = %v, want only the rebuilt one", gens)
		}
	})
}

func mustWrite(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func relink(t *testing.T, dir, target string) {
	t.Helper()
	link := filepath.Join(dir, "current")
	os.Remove(link)
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

// TestRunRebuildsIndexAheadOfDatabase: a database put back from a backup is
// older than the index kept beside it (its cursor is past the last outbox
// row); Indexer.Run rebuilds rather than wait for ids to catch up.
func TestRunRebuildsIndexAheadOfDatabase(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		_, post := f.topic(t, f.alice, f.general, "Backups come back older", "Quokka census.")
		if _, err := f.x.CatchUp(ctx); err != nil {
			t.Fatal(err)
		}
		// The older copy: no outbox rows yet, and a text the index never saw.
		if _, err := db.NewRaw("DELETE FROM search_outbox").Exec(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := db.NewRaw("UPDATE posts SET html = ? WHERE id = ?", "<p>Wombat census.</p>", post.ID).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		stop := run(t, &search.Indexer{DB: db, Index: f.ix, Log: quiet()})
		defer stop()
		eventually(t, "Run rebuilds the index", func() bool { return finds(f.ix, "wombat", post.ID) })
	})
}
