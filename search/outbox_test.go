package search_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"agora/forum"
	"agora/internal/testdb"
	"agora/markup"
	"agora/models"
	"agora/moderation"
	"agora/search"
	"agora/seed"
)

// TestUpdatesFollowTheOutbox: the index changes only when CatchUp applies
// the rows that edits, moves, removals and category changes queued.
func TestUpdatesFollowTheOutbox(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		tp, first := f.topic(t, f.alice, f.general, "Mango export keeps failing", "The mango export fails with kumquat errors.")
		reply := f.reply(t, f.bob, tp.ID, "Mango exports work for me with papaya enabled.")
		f.catchUp(t)
		both := []*models.Post{first, reply}

		t.Run("edit", func(t *testing.T) {
			if _, err := f.forum.EditPost(ctx, f.alice, first.ID, "The mango export fails with persimmon errors.", "typo"); err != nil {
				t.Fatal(err)
			}
			wantPosts(t, f.find(t, "persimmon", member), "persimmon before CatchUp", nil...)
			f.catchUp(t)
			wantPosts(t, f.find(t, "persimmon", member), "persimmon", first)
			wantPosts(t, f.find(t, "kumquat", member), "kumquat", nil...)
		})
		t.Run("moderator edit", func(t *testing.T) {
			if err := errOf(f.mod.EditPost(ctx, f.mia, reply.ID, "Mango exports work for me with guava enabled.", why("wrong fruit"), false)); err != nil {
				t.Fatal(err)
			}
			f.catchUp(t)
			wantPosts(t, f.find(t, "guava", member), "guava", reply)
			wantPosts(t, f.find(t, "papaya", member), "papaya", nil...)
		})
		t.Run("move", func(t *testing.T) {
			if _, err := f.mod.TopicAction(ctx, f.mia, tp.ID, moderation.TopicMove, why("belongs in billing"), f.billing.ID); err != nil {
				t.Fatal(err)
			}
			wantPosts(t, f.find(t, "mango #general", member), "mango #general before CatchUp", both...)
			f.catchUp(t)
			wantPosts(t, f.find(t, "mango #billing", member), "mango #billing", both...)
			wantPosts(t, f.find(t, "mango #general", member), "mango #general", nil...)
		})
		t.Run("category renamed", func(t *testing.T) {
			if _, err := f.forum.UpdateCategory(ctx, f.ada, f.billing.ID, forum.CategoryInput{Slug: ptr("payments")}); err != nil {
				t.Fatal(err)
			}
			f.catchUp(t)
			wantPosts(t, f.find(t, "mango #payments", member), "mango #payments", both...)
			wantPosts(t, f.find(t, "mango #billing", member), "mango #billing", nil...)
		})
		t.Run("solution", func(t *testing.T) {
			if _, _, err := f.forum.SetSolution(ctx, f.alice, tp.ID, reply.ID); err != nil {
				t.Fatal(err)
			}
			f.catchUp(t)
			wantPosts(t, f.find(t, "mango status:solved", member), "mango status:solved", both...)
			wantPosts(t, f.find(t, "mango status:unsolved", member), "mango status:unsolved", nil...)
		})
		t.Run("removal and restore", func(t *testing.T) {
			if err := errOf(f.mod.RemovePost(ctx, f.mia, reply.ID, why("spam"))); err != nil {
				t.Fatal(err)
			}
			wantPosts(t, f.find(t, "guava", member), "guava before CatchUp", reply)
			f.catchUp(t)
			wantPosts(t, f.find(t, "guava", member), "guava after removal", nil...)
			wantPosts(t, f.find(t, "guava", staffAll), "guava for staff", reply)
			if err := errOf(f.mod.RestorePost(ctx, f.mia, reply.ID, why("flagged by mistake"))); err != nil {
				t.Fatal(err)
			}
			f.catchUp(t)
			wantPosts(t, f.find(t, "guava", member), "guava after restore", reply)
		})
		t.Run("topic removal reaches its replies", func(t *testing.T) {
			if err := errOf(f.mod.RemovePost(ctx, f.mia, first.ID, why("spam"))); err != nil {
				t.Fatal(err)
			}
			f.catchUp(t)
			wantPosts(t, f.find(t, "mango", member), "mango after removing the topic", nil...)
			wantPosts(t, f.find(t, "mango", staffAll), "mango for staff", both...)
		})
	})
}

func TestCatchUpCursor(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		tp, _ := f.topic(t, f.alice, f.general, "Cursor test topic title", "First body about quinoa.")
		f.reply(t, f.bob, tp.ID, "Second body about quinoa.")
		f.reply(t, f.carol, tp.ID, "Third body about quinoa.")

		if c, err := f.ix.Cursor(); err != nil || c != 0 {
			t.Fatalf("cursor of a fresh index = %d, %v; want 0", c, err)
		}
		if n := f.catchUp(t); n != 3 {
			t.Errorf("first CatchUp applied %d rows, want 3", n)
		}
		if n := f.catchUp(t); n != 0 {
			t.Errorf("second CatchUp applied %d rows, want 0", n)
		}
		wantCursorAtEnd(t, db, f.ix)
		wantAllProcessed(t, db)
		if res := f.find(t, "quinoa", member); res.Total != 3 {
			t.Errorf("quinoa total %d, want 3", res.Total)
		}

		f.reply(t, f.alice, tp.ID, "Fourth body about quinoa.")
		pending, err := db.NewSelect().Model((*models.OutboxEntry)(nil)).Where("processed_at IS NULL").Count(ctx)
		if err != nil || pending != 1 {
			t.Fatalf("pending rows after a reply = %d, %v; want 1", pending, err)
		}
		if n := f.catchUp(t); n != 1 {
			t.Errorf("CatchUp after a reply applied %d rows, want 1", n)
		}
		wantCursorAtEnd(t, db, f.ix)
		wantAllProcessed(t, db)
	})
}

func maxOutboxID(t *testing.T, db *bun.DB) int64 {
	t.Helper()
	var id int64
	if err := db.NewSelect().Model((*models.OutboxEntry)(nil)).ColumnExpr("COALESCE(MAX(id), 0)").Scan(context.Background(), &id); err != nil {
		t.Fatal(err)
	}
	return id
}

func wantCursorAtEnd(t *testing.T, db *bun.DB, ix *search.Index) {
	t.Helper()
	c, err := ix.Cursor()
	if want := maxOutboxID(t, db); err != nil || c != want {
		t.Errorf("cursor = %d, %v; want the last outbox id %d", c, err, want)
	}
}

func wantAllProcessed(t *testing.T, db *bun.DB) {
	t.Helper()
	n, err := db.NewSelect().Model((*models.OutboxEntry)(nil)).Where("processed_at IS NULL").Count(context.Background())
	if err != nil || n != 0 {
		t.Errorf("%d outbox rows without processed_at (%v), want 0", n, err)
	}
}

// hook runs before and after every query of a bun.DB clone.
type hook struct {
	before func(ctx context.Context, e *bun.QueryEvent)
	after  func(ctx context.Context, e *bun.QueryEvent)
}

func marksProcessed(e *bun.QueryEvent) bool {
	return e.Operation() == "UPDATE" && strings.Contains(e.Query, "search_outbox")
}

// TestCatchUpSurvivesCrash interrupts CatchUp after its first batch of
// 1,000 (of 2,500) rows, at the two places a crash can happen, then
// restarts on the same directory: every post ends up indexed exactly once
// and every row processed.
func TestCatchUpSurvivesCrash(t *testing.T) {
	t.Parallel()
	const posts = 2500
	crashes := []struct {
		name string
		// crash returns the database the crashing indexer uses; it stops
		// CatchUp right around the first marking of rows as processed.
		crash func(db *bun.DB, ix *search.Index, cancel context.CancelFunc) *bun.DB
		// processed: rows marked processed at the crash.
		processed int64
	}{
		{"killed before marking rows processed", func(db *bun.DB, _ *search.Index, cancel context.CancelFunc) *bun.DB {
			var once sync.Once
			return db.WithQueryHook(hook{before: func(_ context.Context, e *bun.QueryEvent) {
				if marksProcessed(e) {
					once.Do(cancel)
				}
			}})
		}, 0},
		{"index closed after the first batch", func(db *bun.DB, ix *search.Index, _ context.CancelFunc) *bun.DB {
			var once sync.Once
			return db.WithQueryHook(hook{after: func(_ context.Context, e *bun.QueryEvent) {
				if marksProcessed(e) {
					once.Do(func() { ix.Close() })
				}
			}})
		}, 1000},
	}
	for _, crash := range crashes {
		t.Run(crash.name, func(t *testing.T) {
			t.Parallel()
			testdb.Each(t, func(t *testing.T, db *bun.DB) {
				ctx := context.Background()
				dir := t.TempDir()
				ix := openEmpty(t, db, dir)
				// Synthetic writes posts but no outbox rows: queue one per post,
				// as the forum would have in each post's transaction.
				sum, err := seed.Synthetic(ctx, db, seed.Options{Topics: 250, Replies: posts - 250, Users: 20, Seed: 7}, time.Now())
				if err != nil || sum.Posts != posts {
					t.Fatalf("seed: %+v, %v", sum, err)
				}
				if _, err := db.NewRaw("INSERT INTO search_outbox (entity, entity_id, op, created_at) SELECT 'post', id, 'upsert', created_at FROM posts ORDER BY id").Exec(ctx); err != nil {
					t.Fatal(err)
				}
				var rowIDs []int64
				if err := db.NewSelect().Model((*models.OutboxEntry)(nil)).Column("id").Order("id").Scan(ctx, &rowIDs); err != nil || len(rowIDs) != posts {
					t.Fatalf("outbox has %d rows (%v), want %d", len(rowIDs), err, posts)
				}

				runCtx, cancel := context.WithCancel(ctx)
				defer cancel()
				crashing := &search.Indexer{DB: crash.crash(db, ix, cancel), Index: ix, Log: quiet()}
				n, err := crashing.CatchUp(runCtx)
				if err == nil {
					t.Fatalf("CatchUp applied %d rows and did not crash", n)
				}
				ix.Close()
				processed, err := db.NewSelect().Model((*models.OutboxEntry)(nil)).Where("processed_at IS NOT NULL").Count(ctx)
				if err != nil || processed != crash.processed {
					t.Errorf("rows processed at the crash = %d (%v), want %d", processed, err, crash.processed)
				}

				// Restart: a new process opens the same directory.
				ix2, err := search.Open(dir)
				if err != nil {
					t.Fatalf("reopen after the crash: %v", err)
				}
				defer ix2.Close()
				if c, err := ix2.Cursor(); err != nil || c != rowIDs[999] {
					t.Errorf("cursor after the crash = %d, %v; want %d (the first batch)", c, err, rowIDs[999])
				}
				n, err = (&search.Indexer{DB: db, Index: ix2, Log: quiet()}).CatchUp(ctx)
				if err != nil || n != posts-1000 {
					t.Errorf("CatchUp after restart applied %d rows (%v), want %d", n, err, posts-1000)
				}
				wantCursorAtEnd(t, db, ix2)
				wantAllProcessed(t, db)

				var want []int64
				if err := db.NewSelect().Model((*models.Post)(nil)).Column("id").Order("id").Scan(ctx, &want); err != nil {
					t.Fatal(err)
				}
				res := find(t, ix2, "after:2000-01-01", search.Options{Staff: true, IncludeRemoved: true, PerPage: posts + 10})
				got := sorted(hitIDs(res))
				if res.Total != posts || !slices.Equal(got, want) {
					t.Errorf("index holds %d posts (%d hits), want each of the %d posts once", res.Total, len(got), posts)
				}
				if d := len(got) - len(slices.Compact(slices.Clone(got))); d != 0 {
					t.Errorf("%d duplicate hits", d)
				}
			})
		})
	}
}

// TestCatchUpWaitsForSlowCommits: on PostgreSQL a transaction can commit
// after one that took a later outbox id. The cursor must not pass the
// earlier row before it is visible, or its change never reaches the index;
// a gap left by a rolled-back transaction must not stop the cursor for good.
// (SQLite has one writer at a time, so its ids always commit in order.)
func TestCatchUpWaitsForSlowCommits(t *testing.T) {
	t.Parallel()
	db := testdb.Open(t, "postgres")
	f := newFixture(t, db)
	f.now = time.Now().UTC() // outbox rows are judged by their age
	ctx := context.Background()
	slowTopic, first := f.topic(t, f.alice, f.general, "Slow commits and the cursor", "About herons.")
	fastTopic, _ := f.topic(t, f.bob, f.general, "Fast commits and the cursor", "About storks.")
	f.catchUp(t)

	// A slow edit takes an outbox id, then a fast reply commits a later one.
	slow, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Rollback()
	if err := models.ApplyPostEdit(ctx, slow, first, f.alice.ID, "About pelicans.", markup.Render("About pelicans."), markup.Version, "", f.now); err != nil {
		t.Fatal(err)
	}
	var slowID int64
	if err := slow.NewSelect().Model((*models.OutboxEntry)(nil)).ColumnExpr("MAX(id)").Scan(ctx, &slowID); err != nil {
		t.Fatal(err)
	}
	fast := f.reply(t, f.carol, fastTopic.ID, "Storks and pelicans both migrate.")
	f.catchUp(t)
	wantPosts(t, f.find(t, "pelicans", member), "pelicans while the edit commits", fast)
	if c, _ := f.ix.Cursor(); c >= slowID {
		t.Fatalf("cursor %d passed row %d, which is not committed yet", c, slowID)
	}
	if err := slow.Commit(); err != nil {
		t.Fatal(err)
	}
	f.catchUp(t)
	wantPosts(t, f.find(t, "pelicans", member), "pelicans after the edit committed", first, fast)
	wantPosts(t, f.find(t, "herons", member), "herons after the edit committed", nil...)
	wantCursorAtEnd(t, db, f.ix)
	wantAllProcessed(t, db)

	// A rebuild while a transaction is still committing.
	slow, err = db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Rollback()
	first, err = models.PostByID(ctx, db, first.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := models.ApplyPostEdit(ctx, slow, first, f.alice.ID, "About cormorants.", markup.Render("About cormorants."), markup.Version, "", f.now); err != nil {
		t.Fatal(err)
	}
	f.reply(t, f.carol, fastTopic.ID, "Storks again.")
	if _, err := search.Rebuild(ctx, db, f.ix, nil); err != nil {
		t.Fatal(err)
	}
	if err := slow.Commit(); err != nil {
		t.Fatal(err)
	}
	f.catchUp(t)
	wantPosts(t, f.find(t, "cormorants", member), "cormorants after a rebuild during the edit", first)
	wantCursorAtEnd(t, db, f.ix)

	// A rolled-back transaction leaves a gap for good.
	rolled, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := models.Reindex(ctx, rolled, models.OutboxPost, first.ID, f.now); err != nil {
		t.Fatal(err)
	}
	rolled.Rollback()
	before, _ := f.ix.Cursor()
	after := f.reply(t, f.bob, slowTopic.ID, "Herons are back.")
	f.catchUp(t)
	wantPosts(t, f.find(t, "herons", member), "herons right after a gap", after)
	if c, _ := f.ix.Cursor(); c != before {
		t.Errorf("cursor moved from %d to %d over a fresh gap", before, c)
	}
	// Once the rows after the gap are old enough, the gap counts as a rollback.
	if _, err := db.NewUpdate().Model((*models.OutboxEntry)(nil)).Set("created_at = created_at - interval '10 minutes'").
		Where("id > ?", before).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	f.catchUp(t)
	wantCursorAtEnd(t, db, f.ix)
	wantAllProcessed(t, db)
}
