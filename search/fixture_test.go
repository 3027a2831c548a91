package search_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"agora/forum"
	"agora/models"
	"agora/moderation"
	"agora/search"
)

// fixture is a small community on one database with a fresh, empty index
// built before any post exists, so every post reaches the index through the
// outbox, as in production. Posts are written through the forum and
// moderation services on a clock the test moves.
type fixture struct {
	db    *bun.DB
	now   time.Time
	forum *forum.Service
	mod   *moderation.Service
	dir   string
	ix    *search.Index
	x     *search.Indexer

	alice, bob, carol *models.User // members
	mia               *models.User // moderator
	ada               *models.User // admin
	general, billing  *models.Category
}

var start = time.Date(2026, 1, 10, 9, 0, 0, 0, time.UTC)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newFixture(t *testing.T, db *bun.DB) *fixture {
	t.Helper()
	f := &fixture{db: db, now: start, dir: t.TempDir()}
	clock := func() time.Time { return f.now }
	f.forum = forum.New(db, clock)
	f.mod = moderation.New(db, clock)
	f.alice = f.user(t, "alice", models.RoleMember)
	f.bob = f.user(t, "bob", models.RoleMember)
	f.carol = f.user(t, "carol", models.RoleMember)
	f.mia = f.user(t, "mia", models.RoleModerator)
	f.ada = f.user(t, "ada", models.RoleAdmin)
	f.general = f.category(t, "General", "general")
	f.billing = f.category(t, "Billing", "billing")
	f.ix = openEmpty(t, db, f.dir)
	f.x = &search.Indexer{DB: db, Index: f.ix, Log: quiet()}
	return f
}

// openEmpty opens dir, which must hold no index yet, and builds one from db.
func openEmpty(t *testing.T, db *bun.DB, dir string) *search.Index {
	t.Helper()
	ix, err := search.Open(dir)
	if !errors.Is(err, search.ErrNoIndex) {
		t.Fatalf("Open(empty dir) = %v, want ErrNoIndex", err)
	}
	t.Cleanup(func() { ix.Close() })
	if _, err := search.Rebuild(context.Background(), db, ix, nil); err != nil {
		t.Fatalf("build the index: %v", err)
	}
	return ix
}

func (f *fixture) user(t *testing.T, name, role string) *models.User {
	t.Helper()
	u := &models.User{Username: name, Email: name + "@example.com", Role: role, CreatedAt: f.now, UpdatedAt: f.now}
	if err := models.CreateUser(context.Background(), f.db, u); err != nil {
		t.Fatalf("create user %s: %v", name, err)
	}
	return u
}

func (f *fixture) category(t *testing.T, name, slug string) *models.Category {
	t.Helper()
	c := &models.Category{Name: name, Slug: slug, Color: "#336699", CreatedAt: f.now, UpdatedAt: f.now}
	if err := models.CreateCategory(context.Background(), f.db, c); err != nil {
		t.Fatalf("create category %s: %v", name, err)
	}
	return c
}

// topic starts a topic at the clock's time, then moves the clock a minute on.
func (f *fixture) topic(t *testing.T, u *models.User, c *models.Category, title, body string) (*models.Topic, *models.Post) {
	t.Helper()
	tp, p, err := f.forum.CreateTopic(context.Background(), u, forum.TopicInput{CategoryID: c.ID, Title: title, Body: body})
	if err != nil {
		t.Fatalf("create topic %q: %v", title, err)
	}
	f.now = f.now.Add(time.Minute)
	return tp, p
}

func (f *fixture) reply(t *testing.T, u *models.User, topicID int64, body string) *models.Post {
	t.Helper()
	p, err := f.forum.Reply(context.Background(), u, topicID, body, nil)
	if err != nil {
		t.Fatalf("reply %q: %v", body, err)
	}
	f.now = f.now.Add(time.Minute)
	return p
}

func (f *fixture) catchUp(t *testing.T) int {
	t.Helper()
	// A cursor that stops moving would make CatchUp loop: fail instead.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	n, err := f.x.CatchUp(ctx)
	if err != nil {
		t.Fatalf("CatchUp: %v", err)
	}
	return n
}

// find parses and runs query, with snippets from the fixture's database as
// the app takes them; the query must be valid.
func (f *fixture) find(t *testing.T, query string, o search.Options) *search.Result {
	t.Helper()
	o.Texts = search.DBTexts(f.db)
	return find(t, f.ix, query, o)
}

func find(t *testing.T, ix *search.Index, query string, o search.Options) *search.Result {
	t.Helper()
	q, err := search.Parse(query)
	if err != nil {
		t.Fatalf("Parse(%q): %v", query, err)
	}
	res, err := ix.Search(context.Background(), q, o)
	if err != nil {
		t.Fatalf("Search(%q): %v", query, err)
	}
	return res
}

// member and staff are the two ways to search.
var (
	member   = search.Options{PerPage: 100}
	staffAll = search.Options{Staff: true, IncludeRemoved: true, PerPage: 100}
)

func hitIDs(res *search.Result) []int64 {
	ids := make([]int64, len(res.Hits))
	for i, h := range res.Hits {
		ids[i] = h.PostID
	}
	return ids
}

func sorted(ids []int64) []int64 {
	out := slices.Clone(ids)
	slices.Sort(out)
	return out
}

func postIDs(posts ...*models.Post) []int64 {
	ids := make([]int64, len(posts))
	for i, p := range posts {
		ids[i] = p.ID
	}
	return ids
}

// wantPosts checks the set of posts a query finds, in any order, and that Total agrees.
func wantPosts(t *testing.T, res *search.Result, query string, want ...*models.Post) {
	t.Helper()
	got, w := sorted(hitIDs(res)), sorted(postIDs(want...))
	if !slices.Equal(got, w) || res.Total != len(want) {
		t.Errorf("%q found posts %v (total %d), want %v", query, got, res.Total, w)
	}
}

func (h hook) BeforeQuery(ctx context.Context, e *bun.QueryEvent) context.Context {
	if h.before != nil {
		h.before(ctx, e)
	}
	return ctx
}

func (h hook) AfterQuery(ctx context.Context, e *bun.QueryEvent) {
	if h.after != nil {
		h.after(ctx, e)
	}
}

// tlog sends a logger's lines to the test log.
type tlog struct{ t *testing.T }

func (w tlog) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// run starts the indexer's loop and returns a stop that waits for it.
func run(t *testing.T, x *search.Indexer) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		x.Run(ctx, 20*time.Millisecond)
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				t.Error("Indexer.Run did not return after its context ended")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// eventually polls cond for up to 15 seconds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func finds(ix *search.Index, query string, postID int64) bool {
	q, err := search.Parse(query)
	if err != nil {
		panic(err)
	}
	res, err := ix.Search(context.Background(), q, member)
	if err != nil {
		return false
	}
	return slices.Contains(hitIDs(res), postID)
}

// why is a moderator's reason in the plain string form.
func why(s string) moderation.Reason { return moderation.ParseReason(s) }

// errOf keeps only the error of a call that returns a value too.
func errOf[T any](_ T, err error) error { return err }
