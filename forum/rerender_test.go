package forum_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"agora/forum"
	"agora/internal/testdb"
	"agora/markup"
	"agora/models"
)

// staleRendering marks a post as rendered by an older markup policy, with
// HTML that no current rendering produces.
const staleRendering = "<p>rendered by an older policy</p>"

// makeStale sets a post back to an older markup policy's rendering, as posts
// written before an upgrade of markup.Version are.
func makeStale(t *testing.T, db bun.IDB, id int64) {
	t.Helper()
	_, err := db.NewUpdate().Model((*models.Post)(nil)).Set("html = ?", staleRendering).
		Set("render_version = ?", markup.Version-1).Where("id = ?", id).Exec(context.Background())
	if err != nil {
		t.Fatal(err)
	}
}

// clearOutbox drops the outbox rows the fixture's writes made, so a test
// sees only the ones written after it.
func clearOutbox(t *testing.T, db bun.IDB) {
	t.Helper()
	if _, err := db.NewDelete().Model((*models.OutboxEntry)(nil)).Where("1 = 1").Exec(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// outboxRows counts the pending search outbox rows asking to refresh post id.
func outboxRows(t *testing.T, db bun.IDB, id int64) int {
	t.Helper()
	var rows []*models.OutboxEntry
	if err := db.NewSelect().Model(&rows).Where("entity = ?", models.OutboxPost).Where("entity_id = ?", id).
		Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if r.Op != models.OutboxUpsert {
			t.Errorf("outbox row for post %d has op %q, want %q", id, r.Op, models.OutboxUpsert)
		}
	}
	return len(rows)
}

// replies adds n replies by bob to topic id and returns them.
func (f *fixture) replies(t *testing.T, topicID int64, n int) []*models.Post {
	t.Helper()
	var out []*models.Post
	for i := range n {
		f.now = f.now.Add(time.Minute)
		p, err := f.svc.Reply(context.Background(), f.bob, topicID, fmt.Sprintf("Reply number **%d**.", i+1), nil)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

func TestRerenderStaleUpdatesOldPostsAndQueuesSearch(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		tp, first := f.topic(t)
		posts := append([]*models.Post{first}, f.replies(t, tp.ID, 5)...)
		// Every post but the last was rendered by an older policy; the last
		// is current, with HTML no rendering makes, so a re-rendering shows.
		stale, current := posts[:5], posts[5]
		for _, p := range stale {
			makeStale(t, db, p.ID)
		}
		const untouched = "<p>current rendering, left as it is</p>"
		if _, err := db.NewUpdate().Model((*models.Post)(nil)).Set("html = ?", untouched).
			Where("id = ?", current.ID).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		clearOutbox(t, db)

		// A batch of 2 makes it take three batches for the five stale posts.
		n, err := f.svc.RerenderStale(ctx, 2)
		if err != nil {
			t.Fatal(err)
		}
		if n != len(stale) {
			t.Errorf("RerenderStale = %d, want %d (the stale posts)", n, len(stale))
		}
		for _, p := range stale {
			got := reload[models.Post](t, db, p.ID)
			if got.RenderVersion != markup.Version || got.HTML != markup.Render(p.Body) {
				t.Errorf("post %d after re-render: version %d, html %q; want version %d, html %q",
					p.ID, got.RenderVersion, got.HTML, markup.Version, markup.Render(p.Body))
			}
			if !strings.Contains(got.HTML, "<strong>") {
				t.Errorf("post %d html %q is not the Markdown's rendering", p.ID, got.HTML)
			}
			if c := outboxRows(t, db, p.ID); c != 1 {
				t.Errorf("post %d: %d search outbox rows, want 1 so search indexes the new text", p.ID, c)
			}
		}
		if got := reload[models.Post](t, db, current.ID); got.HTML != untouched || got.RenderVersion != markup.Version {
			t.Errorf("current post re-rendered: version %d, html %q", got.RenderVersion, got.HTML)
		}
		if c := outboxRows(t, db, current.ID); c != 0 {
			t.Errorf("current post: %d search outbox rows, want 0", c)
		}

		// Nothing is left: a second run (another node, or the next start) does nothing.
		if n, err := f.svc.RerenderStale(ctx, 2); err != nil || n != 0 {
			t.Errorf("second RerenderStale = %d, %v; want 0, nil", n, err)
		}
		for _, p := range posts {
			if c := outboxRows(t, db, p.ID); c > 1 {
				t.Errorf("post %d: %d search outbox rows after a second run, want at most 1", p.ID, c)
			}
		}
	})
}

// afterStaleRead runs fn once, right after RerenderStale has read its first
// batch of stale posts and before it stores their renderings: the moment a
// concurrent writer can change a post under it.
type afterStaleRead struct {
	fired atomic.Bool
	fn    func()
}

func (h *afterStaleRead) BeforeQuery(ctx context.Context, _ *bun.QueryEvent) context.Context {
	return ctx
}

func (h *afterStaleRead) AfterQuery(_ context.Context, e *bun.QueryEvent) {
	if e.Err == nil && strings.HasPrefix(e.Query, "SELECT") && strings.Contains(e.Query, "render_version <") &&
		h.fired.CompareAndSwap(false, true) {
		h.fn()
	}
}

func TestRerenderStaleKeepsWritesMadeAfterItsRead(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		tp, first := f.topic(t)
		rs := f.replies(t, tp.ID, 3)
		plain, edited, oldNode, rival := first, rs[0], rs[1], rs[2]
		for _, p := range []*models.Post{plain, edited, oldNode, rival} {
			makeStale(t, db, p.ID)
		}
		clearOutbox(t, db)

		const editBody = "Edited after the re-render read me: *newer*."
		const oldNodeBody = "Edited on a node still running the older policy."
		const oldNodeHTML = "<p>older policy's rendering of the old node's edit</p>"
		hook := &afterStaleRead{fn: func() {
			// Writers that are not the re-render use db, which has no hook.
			// 1. A member edits a post: new body, current rendering.
			if _, err := f.svc.EditPost(ctx, f.bob, edited.ID, editBody, "typo"); err != nil {
				t.Errorf("concurrent edit: %v", err)
			}
			// 2. A node not yet upgraded saves an edit: new body, its own
			//    (older) rendering and render_version.
			if _, err := db.NewUpdate().Model((*models.Post)(nil)).Set("body = ?", oldNodeBody).
				Set("html = ?", oldNodeHTML).Where("id = ?", oldNode.ID).Exec(ctx); err != nil {
				t.Errorf("old node's edit: %v", err)
			}
			// 3. Another upgraded node re-renders a post first and queues it for search.
			if _, err := db.NewUpdate().Model((*models.Post)(nil)).Set("html = ?", markup.Render(rival.Body)).
				Set("render_version = ?", markup.Version).Where("id = ?", rival.ID).Exec(ctx); err != nil {
				t.Errorf("rival re-render: %v", err)
			}
			if err := models.Reindex(ctx, db, models.OutboxPost, rival.ID, f.now); err != nil {
				t.Errorf("rival reindex: %v", err)
			}
		}}
		racing := forum.New(db.WithQueryHook(hook), func() time.Time { return f.now })

		n, err := racing.RerenderStale(ctx, 100)
		if err != nil {
			t.Fatal(err)
		}
		if !hook.fired.Load() {
			t.Fatal("the concurrent writes never ran: RerenderStale's read of stale posts was not seen")
		}
		if n != 1 {
			t.Errorf("RerenderStale = %d, want 1: only the post nobody touched is its to re-render", n)
		}

		// The untouched post is re-rendered and queued.
		if got := reload[models.Post](t, db, plain.ID); got.HTML != markup.Render(plain.Body) || got.RenderVersion != markup.Version {
			t.Errorf("untouched post: version %d, html %q", got.RenderVersion, got.HTML)
		}
		if c := outboxRows(t, db, plain.ID); c != 1 {
			t.Errorf("untouched post: %d outbox rows, want 1", c)
		}

		// The member's edit stands: its body's rendering, not the snapshot's.
		got := reload[models.Post](t, db, edited.ID)
		if got.Body != editBody || got.HTML != markup.Render(editBody) || got.RenderVersion != markup.Version {
			t.Errorf("edited post overwritten by the re-render of its old body: body %q, html %q, version %d; want html %q",
				got.Body, got.HTML, got.RenderVersion, markup.Render(editBody))
		}
		if c := outboxRows(t, db, edited.ID); c != 1 {
			t.Errorf("edited post: %d outbox rows, want 1 (the edit's own)", c)
		}

		// The old node's edit is not replaced by the rendering of the body
		// it replaced; it stays stale, for the next run.
		got = reload[models.Post](t, db, oldNode.ID)
		if got.Body != oldNodeBody || got.HTML != oldNodeHTML || got.RenderVersion != markup.Version-1 {
			t.Errorf("old node's edit: body %q, html %q, version %d; want it left alone (html %q, version %d)",
				got.Body, got.HTML, got.RenderVersion, oldNodeHTML, markup.Version-1)
		}
		if c := outboxRows(t, db, oldNode.ID); c != 0 {
			t.Errorf("old node's edit: %d outbox rows, want 0", c)
		}

		// The rival node's rendering is not redone nor queued twice.
		if c := outboxRows(t, db, rival.ID); c != 1 {
			t.Errorf("post re-rendered by another node: %d outbox rows, want 1 (that node's)", c)
		}

		// The next run renders the old node's edit from its new body.
		n, err = f.svc.RerenderStale(ctx, 100)
		if err != nil || n != 1 {
			t.Fatalf("next RerenderStale = %d, %v; want 1, nil", n, err)
		}
		got = reload[models.Post](t, db, oldNode.ID)
		if got.HTML != markup.Render(oldNodeBody) || got.RenderVersion != markup.Version {
			t.Errorf("old node's edit on the next run: version %d, html %q; want %q", got.RenderVersion, got.HTML, markup.Render(oldNodeBody))
		}
		if c := outboxRows(t, db, oldNode.ID); c != 1 {
			t.Errorf("old node's edit on the next run: %d outbox rows, want 1", c)
		}
	})
}
