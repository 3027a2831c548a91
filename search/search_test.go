package search_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/uptrace/bun"

	"agora/forum"
	"agora/internal/testdb"
	"agora/markup"
	"agora/models"
	"agora/moderation"
	"agora/search"
	"agora/seed"
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

func TestRanking(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		f := newFixture(t, db)
		// Body-only matches first, so creation order cannot explain the
		// ranking; one repeats the word, which outweighs a title match unless
		// titles weigh more than bodies.
		bodyTopic, bodyPost := f.topic(t, f.bob, f.general, "Endpoint keeps timing out daily",
			"The webhook call never arrives at my endpoint after the deploy.")
		_, repeatPost := f.topic(t, f.bob, f.general, "Deliveries are stuck in a queue", "Webhook, webhook: the webhook never fires.")
		titleTopic, titlePost := f.topic(t, f.alice, f.general, "Since the upgrade our webhook deliveries are failing",
			"Since Monday nothing arrives at my endpoint after the deploy.")
		reply := f.reply(t, f.carol, titleTopic.ID, "Same here, nothing arrives at my endpoint.")

		// Two equal replies; the later one becomes the best answer.
		sTopic, _ := f.topic(t, f.alice, f.general, "Credentials expire every week", "What should I do about it?")
		plain := f.reply(t, f.bob, sTopic.ID, "Rotate the signing secret in the settings.")
		answer := f.reply(t, f.carol, sTopic.ID, "Rotate the signing secret in the settings.")
		if _, _, err := f.forum.SetSolution(context.Background(), f.alice, sTopic.ID, answer.ID); err != nil {
			t.Fatal(err)
		}
		f.catchUp(t)

		t.Run("title match above body-only match", func(t *testing.T) {
			res := f.find(t, "webhook", member)
			got := hitIDs(res)
			if len(got) != 3 || got[0] != titlePost.ID || !slices.Equal(sorted(got[1:]), sorted(postIDs(bodyPost, repeatPost))) {
				t.Fatalf("webhook ranks %v, want the title match %d first, then %d and %d", got, titlePost.ID, bodyPost.ID, repeatPost.ID)
			}
			if res.Hits[0].Score <= res.Hits[1].Score {
				t.Errorf("title match scores %v, best body match %v: want higher", res.Hits[0].Score, res.Hits[1].Score)
			}
		})
		t.Run("title match hit is the first post", func(t *testing.T) {
			res := f.find(t, "in:title webhook", member)
			if len(res.Hits) != 1 {
				t.Fatalf("in:title webhook found %v, want only the titled topic", hitIDs(res))
			}
			h := res.Hits[0]
			if h.PostID != titlePost.ID || h.TopicID != titleTopic.ID || *titleTopic.FirstPostID != h.PostID {
				t.Errorf("hit = post %d topic %d, want first post %d of topic %d", h.PostID, h.TopicID, titlePost.ID, titleTopic.ID)
			}
			if h.Title != "Since the upgrade our <mark>webhook</mark> deliveries are failing" {
				t.Errorf("highlighted title = %q", h.Title)
			}
		})
		t.Run("topic id of every hit", func(t *testing.T) {
			res := f.find(t, "endpoint", member)
			want := map[int64]int64{bodyPost.ID: bodyTopic.ID, titlePost.ID: titleTopic.ID, reply.ID: titleTopic.ID}
			if len(res.Hits) != len(want) {
				t.Fatalf("endpoint found %v, want %d posts", hitIDs(res), len(want))
			}
			for _, h := range res.Hits {
				if want[h.PostID] != h.TopicID {
					t.Errorf("post %d has topic %d, want %d", h.PostID, h.TopicID, want[h.PostID])
				}
			}
		})
		t.Run("best answer above an equal reply", func(t *testing.T) {
			res := f.find(t, "signing secret", member)
			if got, want := hitIDs(res), postIDs(answer, plain); !slices.Equal(got, want) {
				t.Fatalf("signing secret ranks %v, want the best answer first %v", got, want)
			}
			if res.Hits[0].Score <= res.Hits[1].Score {
				t.Errorf("best answer scores %v, equal reply %v: want a boost", res.Hits[0].Score, res.Hits[1].Score)
			}
		})
	})
}

func TestQueries(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		f := newFixture(t, db)
		ctx := context.Background()

		f.now = time.Date(2026, 1, 10, 9, 0, 0, 0, time.UTC)
		invTopic, a := f.topic(t, f.alice, f.general, "Where are the invoices kept?", "I cannot find my old invoices anywhere.")
		f.now = time.Date(2026, 2, 10, 9, 0, 0, 0, time.UTC)
		b := f.reply(t, f.bob, invTopic.ID, "Invoices live under Billing, then History.")
		f.now = time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
		_, c := f.topic(t, f.bob, f.billing, "Duplicate charges on my card", "Two invoices for one month, both paid.")
		if _, _, err := f.forum.SetSolution(ctx, f.alice, invTopic.ID, b.ID); err != nil {
			t.Fatal(err)
		}
		for _, like := range []struct {
			u    *models.User
			post *models.Post
		}{{f.alice, b}, {f.carol, b}, {f.alice, c}} {
			if _, err := f.forum.Like(ctx, like.u, like.post.ID); err != nil {
				t.Fatal(err)
			}
		}

		f.now = time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)
		_, stem := f.topic(t, f.alice, f.general, "Getting started with the tool", "You need to configure the frobnicator before the first run.")
		_, p1 := f.topic(t, f.bob, f.general, "Nightly sync stopped working", "The quota limit was exceeded yesterday.")
		_, p2 := f.topic(t, f.carol, f.general, "Backoff settings for the client", "Please limit the quota of retries.")
		_, split := f.topic(t, f.alice, f.general, "Markdown inside a word works", "Our **Web**hook fires on _every_ *save*.")
		f.catchUp(t)

		sets := []struct {
			name, query string
			want        []*models.Post
		}{
			{"word", "invoices", []*models.Post{a, b, c}},
			{"singular finds plural", "invoice", []*models.Post{a, b, c}},
			{"stemming", "configuring", []*models.Post{stem}},
			{"stemming plural", "configured frobnicators", []*models.Post{stem}},
			{"all words must match", "invoices card", []*models.Post{c}},
			{"phrase", `"quota limit"`, []*models.Post{p1}},
			{"other phrase", `"limit the quota"`, []*models.Post{p2}},
			{"same words without quotes", "quota limit", []*models.Post{p1, p2}},
			{"excluded word", "quota -retries", []*models.Post{p1}},
			{"excluded phrase", `quota -"quota limit"`, []*models.Post{p2}},
			{"excluded word in a title", "invoices -duplicate", []*models.Post{a, b}},
			{"author", "invoices @bob", []*models.Post{b, c}},
			{"author in capitals", "invoices @BOB", []*models.Post{b, c}},
			{"author alone", "@carol", []*models.Post{p2}},
			{"unknown author", "invoices @nobody", nil},
			{"category", "invoices #billing", []*models.Post{c}},
			{"category alone", "#billing", []*models.Post{c}},
			{"solved", "invoices status:solved", []*models.Post{a, b}},
			{"unsolved", "invoices status:unsolved", []*models.Post{c}},
			{"title only", "in:title invoices", []*models.Post{a}},
			{"after", "invoices after:2026-02-01", []*models.Post{b, c}},
			{"after excludes that day", "invoices after:2026-02-10", []*models.Post{c}},
			{"before", "invoices before:2026-02-01", []*models.Post{a}},
			{"before excludes that day", "invoices before:2026-03-10", []*models.Post{a, b}},
			{"between", "invoices after:2026-02-09 before:2026-02-11", []*models.Post{b}},
			{"filters together", "invoices @bob status:solved before:2026-03-01", []*models.Post{b}},
			{"no match", "kangaroo", nil},
			{"word split by markup", "webhook", []*models.Post{split}},
			{"phrase across markup", `"fires on every save"`, []*models.Post{split}},
		}
		for _, tc := range sets {
			t.Run(tc.name, func(t *testing.T) {
				wantPosts(t, f.find(t, tc.query, member), tc.query, tc.want...)
			})
		}

		orders := []struct {
			name, query string
			want        []*models.Post
		}{
			{"latest first", "invoices order:latest", []*models.Post{c, b, a}},
			{"latest first with a filter", "@bob order:latest", []*models.Post{p1, c, b}},
			{"most liked first", "invoices order:likes", []*models.Post{b, c, a}},
		}
		for _, tc := range orders {
			t.Run(tc.name, func(t *testing.T) {
				if got, want := hitIDs(f.find(t, tc.query, member)), postIDs(tc.want...); !slices.Equal(got, want) {
					t.Errorf("%q = %v, want %v", tc.query, got, want)
				}
			})
		}
		t.Run("snippet of a post with markup", func(t *testing.T) {
			res := f.find(t, "webhook", member)
			if len(res.Hits) != 1 || res.Hits[0].Snippet != "Our <mark>Webhook</mark> fires on every save." {
				t.Errorf("snippet = %+v, want the text as written, with the word marked", res.Hits)
			}
		})
		t.Run("stemmed match highlighted", func(t *testing.T) {
			res := f.find(t, "configuring", member)
			if len(res.Hits) != 1 || !strings.Contains(res.Hits[0].Snippet, "<mark>configure</mark>") {
				t.Errorf("snippet = %+v, want <mark>configure</mark>", res.Hits)
			}
		})
	})
}

func TestHighlighting(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		f := newFixture(t, db)
		_, code := f.topic(t, f.alice, f.general, "Why does <script> break my layout?", "Use `<b>x</b>` in the greeting template.")
		words := make([]string, 0, 400)
		for i := range 400 {
			words = append(words, fmt.Sprintf("filler%d", i%7))
		}
		words[200] = "needle"
		tp, _ := f.topic(t, f.bob, f.general, "A long post about many things", "Intro.")
		long := f.reply(t, f.carol, tp.ID, strings.Join(words, " "))
		f.catchUp(t)

		hit := func(t *testing.T, query string, want *models.Post) search.Hit {
			t.Helper()
			res := f.find(t, query, member)
			if len(res.Hits) != 1 || res.Hits[0].PostID != want.ID {
				t.Fatalf("%q found %v, want post %d", query, hitIDs(res), want.ID)
			}
			return res.Hits[0]
		}
		t.Run("body match marked and escaped", func(t *testing.T) {
			h := hit(t, "greeting", code)
			if want := "Use &lt;b&gt;x&lt;/b&gt; in the <mark>greeting</mark> template."; h.Snippet != want {
				t.Errorf("snippet = %q\nwant     %q", h.Snippet, want)
			}
			if h.Title != "" {
				t.Errorf("title = %q, want none: the title did not match", h.Title)
			}
		})
		t.Run("code span text is searchable", func(t *testing.T) {
			h := hit(t, "template x", code)
			if !strings.Contains(h.Snippet, "&lt;b&gt;<mark>x</mark>&lt;/b&gt;") || strings.Contains(h.Snippet, "<b>") {
				t.Errorf("snippet = %q, want escaped markup with x marked", h.Snippet)
			}
		})
		t.Run("title match marked and escaped", func(t *testing.T) {
			h := hit(t, "layout", code)
			if want := "Why does &lt;script&gt; break my <mark>layout</mark>?"; h.Title != want {
				t.Errorf("title = %q\nwant    %q", h.Title, want)
			}
			if h.Snippet != "Use &lt;b&gt;x&lt;/b&gt; in the greeting template." {
				t.Errorf("snippet = %q, want the escaped body", h.Snippet)
			}
		})
		t.Run("every matched word marked", func(t *testing.T) {
			h := hit(t, "greeting template", code)
			if !strings.Contains(h.Snippet, "<mark>greeting</mark> <mark>template</mark>") {
				t.Errorf("snippet = %q, want both words marked", h.Snippet)
			}
		})
		t.Run("long post gives a fragment around the match", func(t *testing.T) {
			h := hit(t, "needle", long)
			if !strings.Contains(h.Snippet, "<mark>needle</mark>") || len(h.Snippet) > 400 || !strings.HasPrefix(h.Snippet, "…") {
				t.Errorf("snippet (%d bytes) = %q, want a short fragment around the match", len(h.Snippet), h.Snippet)
			}
		})
	})
}

func TestPlainText(t *testing.T) {
	t.Parallel()
	cases := []struct{ name, html, want string }{
		{"empty", "", ""},
		{"tags dropped", "<p>Hello <strong>world</strong></p>", "Hello world"},
		{"blocks do not run together", "<p>one</p><p>two</p><ul><li>three</li></ul>", "one two three"},
		{"entities decoded", "<p>&lt;b&gt;x&lt;/b&gt; &amp; &quot;q&quot; &#39;s&#39;</p>", `<b>x</b> & "q" 's'`},
		{"whitespace collapsed", "<pre><code>a\n\n  b\tc</code></pre>", "a b c"},
		{"inline tags keep words whole", "<p><strong>Web</strong>hook and <em>re</em><code>try</code></p>", "Webhook and retry"},
		{"inline tags keep punctuation in place", `<p>See <a href="/docs">the docs</a>, then <em>Settings</em>.</p>`, "See the docs, then Settings."},
		{"line breaks separate words", "<p>one<br>two<br/>three</p>", "one two three"},
		{"unclosed tag dropped", "<p>text</p><p", "text"},
		{"attributes dropped", `<p><a href="https://x.example/?a=1&amp;b=2" title="t">link</a><img src="/i.png" alt="pic"></p>`, "link"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := search.PlainText(tc.html); got != tc.want {
				t.Errorf("PlainText(%q) = %q, want %q", tc.html, got, tc.want)
			}
		})
	}
}

func TestVisibility(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		oldNews := f.category(t, "Old news", "old-news")

		open, first := f.topic(t, f.alice, f.general, "Zebracorn sightings in the wild", "I saw a zebracorn today.")
		kept := f.reply(t, f.bob, open.ID, "A zebracorn reply that stays.")
		removed := f.reply(t, f.carol, open.ID, "A zebracorn reply a moderator removes.")
		hidden := f.reply(t, f.carol, open.ID, "A zebracorn reply hidden pending review.")
		gone, goneFirst := f.topic(t, f.bob, f.general, "Zebracorn topic that gets removed", "This zebracorn topic breaks the rules.")
		goneReply := f.reply(t, f.alice, gone.ID, "A zebracorn reply inside the removed topic.")
		archived, archivedFirst := f.topic(t, f.bob, oldNews, "Zebracorn archive material here", "An old zebracorn story.")
		archivedReply := f.reply(t, f.alice, archived.ID, "An old zebracorn answer.")

		if err := errOf(f.mod.RemovePost(ctx, f.mia, removed.ID, why("spam"))); err != nil {
			t.Fatal(err)
		}
		if res, err := f.mod.Flag(ctx, f.mia, hidden.ID, "spam", ""); err != nil || !res.Hidden {
			t.Fatalf("moderator flag: %+v, %v; want the post hidden", res, err)
		}
		if err := errOf(f.mod.RemovePost(ctx, f.mia, goneFirst.ID, why("spam"))); err != nil { // removes the topic
			t.Fatal(err)
		}
		f.catchUp(t)
		visible := []*models.Post{first, kept, archivedFirst, archivedReply}
		wantPosts(t, f.find(t, "zebracorn", member), "zebracorn before archiving", visible...)

		if _, err := f.forum.UpdateCategory(ctx, f.ada, oldNews.ID, forum.CategoryInput{Archived: ptr(true)}); err != nil {
			t.Fatal(err)
		}
		var pending []*models.OutboxEntry
		if err := db.NewSelect().Model(&pending).Where("processed_at IS NULL").Scan(ctx); err != nil {
			t.Fatal(err)
		}
		if len(pending) != 1 || pending[0].Entity != "category" || pending[0].EntityID != oldNews.ID {
			t.Fatalf("archiving queued %+v, want one category row", pending)
		}
		if n := f.catchUp(t); n != 1 {
			t.Errorf("CatchUp after archiving applied %d rows, want 1", n)
		}

		visible = []*models.Post{first, kept}
		all := []*models.Post{first, kept, removed, hidden, goneFirst, goneReply, archivedFirst, archivedReply}
		cases := []struct {
			name  string
			query string
			o     search.Options
			want  []*models.Post
		}{
			{"guest or member with zero options", "zebracorn", search.Options{}, visible},
			{"member asking for removed posts", "zebracorn", search.Options{IncludeRemoved: true}, visible},
			{"staff without asking", "zebracorn", search.Options{Staff: true}, visible},
			{"staff including removed", "zebracorn", staffAll, all},
			{"member filtering by a hidden author", "@carol", member, nil},
			{"staff filtering by a hidden author", "@carol", staffAll, []*models.Post{removed, hidden}},
			{"member in an archived category", "#old-news", member, nil},
			{"staff in an archived category", "#old-news", staffAll, []*models.Post{archivedFirst, archivedReply}},
			{"member in a removed topic's title", "in:title zebracorn", member, []*models.Post{first}},
			{"staff in a removed topic's title", "in:title zebracorn", staffAll, []*models.Post{first, goneFirst, archivedFirst}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				wantPosts(t, f.find(t, tc.query, tc.o), tc.query, tc.want...)
			})
		}

		t.Run("similar topics only visible ones", func(t *testing.T) {
			ids, err := f.ix.SimilarTopics(ctx, "Any zebracorn sightings lately?", 5)
			if err != nil || !slices.Equal(ids, []int64{open.ID}) {
				t.Errorf("SimilarTopics = %v, %v; want [%d]", ids, err, open.ID)
			}
			ids, err = f.ix.SimilarTopics(ctx, "?!", 5)
			if err != nil || len(ids) != 0 {
				t.Errorf("SimilarTopics(punctuation) = %v, %v; want none", ids, err)
			}
		})
	})
}

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

func TestPaging(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		f := newFixture(t, db)
		tp, _ := f.topic(t, f.alice, f.general, "Paging through results", "Lemur 0.")
		for i := 1; i < 25; i++ {
			f.reply(t, f.bob, tp.ID, fmt.Sprintf("Lemur %d.", i))
		}
		f.catchUp(t)
		cases := []struct {
			name      string
			o         search.Options
			wantHits  int
			wantTotal int
		}{
			{"zero options are the first page of 20", search.Options{}, 20, 25},
			{"page 0 is the first page", search.Options{Page: 0, PerPage: 10}, 10, 25},
			{"negative page is the first page", search.Options{Page: -3, PerPage: 10}, 10, 25},
			{"first page", search.Options{Page: 1, PerPage: 10}, 10, 25},
			{"last partial page", search.Options{Page: 3, PerPage: 10}, 5, 25},
			{"past the end", search.Options{Page: 9, PerPage: 10}, 0, 25},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				res := f.find(t, "lemur order:latest", tc.o)
				if len(res.Hits) != tc.wantHits || res.Total != tc.wantTotal {
					t.Errorf("%+v: %d hits of %d, want %d of %d", tc.o, len(res.Hits), res.Total, tc.wantHits, tc.wantTotal)
				}
			})
		}
		p1 := f.find(t, "lemur order:latest", search.Options{Page: 1, PerPage: 10})
		p2 := f.find(t, "lemur order:latest", search.Options{Page: 2, PerPage: 10})
		seen := map[int64]bool{}
		for _, id := range append(hitIDs(p1), hitIDs(p2)...) {
			if seen[id] {
				t.Errorf("post %d on both pages", id)
			}
			seen[id] = true
		}
	})
}

// BenchmarkSearch measures a two-word query with highlighting over 20,000
// indexed posts (building the index is not measured).
func BenchmarkSearch(b *testing.B) {
	const posts = 20_000
	db := testdb.Open(b, "sqlite")
	ix, err := search.Open(b.TempDir())
	if !errors.Is(err, search.ErrNoIndex) {
		b.Fatal(err)
	}
	defer ix.Close()
	if _, err := search.Rebuild(context.Background(), db, ix, nil); err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	// A Zipf-distributed vocabulary of 5,000 words, as in real text: a few
	// words are everywhere, the query's two sit further down the ranks.
	vocab := strings.Fields(`the to and a of in is it for my on with not but when after error api key
		account billing card client config dashboard deploy endpoint export invoice limit login notification
		password payment permission project quota rate report request retry role secret server settings sync
		task team token upload user webhook workspace failing broken slow daily nightly version timeout mobile`)
	for i := len(vocab); i < 5000; i++ {
		vocab = append(vocab, fmt.Sprintf("term%d", i))
	}
	zipf := rand.NewZipf(r, 1.1, 2, uint64(len(vocab)-1))
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	docs := make([]*search.Doc, 0, 1000)
	texts := make(map[int64]search.Text, posts) // what the app would read from the database
	for i := 1; i <= posts; i++ {
		words := make([]string, 30+r.IntN(60))
		for j := range words {
			words[j] = vocab[zipf.Uint64()]
		}
		d := &search.Doc{PostID: int64(i), TopicID: int64((i + 9) / 10), Body: strings.Join(words, " "),
			Author: fmt.Sprintf("user%d", r.IntN(200)), Category: []string{"general", "billing", "api"}[r.IntN(3)],
			CreatedAt: start.Add(time.Duration(i) * time.Minute), Likes: r.IntN(20), State: search.StateVisible}
		if i%10 == 1 {
			d.Title = strings.Join(words[:6], " ")
		}
		texts[d.PostID] = search.Text{Title: d.Title, Body: d.Body}
		docs = append(docs, d)
		if len(docs) == cap(docs) {
			if err := ix.Apply(docs, nil, int64(i)); err != nil {
				b.Fatal(err)
			}
			docs = docs[:0]
		}
	}
	q, err := search.Parse("webhook timeout")
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	var res *search.Result
	for b.Loop() {
		res, err = ix.Search(ctx, q, search.Options{PerPage: 20, Texts: func(_ context.Context, ids []int64) (map[int64]search.Text, error) {
			out := make(map[int64]search.Text, len(ids))
			for _, id := range ids {
				out[id] = texts[id]
			}
			return out, nil
		}})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(res.Total), "matches")
	if len(res.Hits) != 20 || !strings.Contains(res.Hits[0].Snippet, "<mark>") {
		b.Fatalf("got %d hits of %d, first snippet %q; want a full highlighted page", len(res.Hits), res.Total, res.Hits[0].Snippet)
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

// why is a moderator's reason in the plain string form.
func why(s string) moderation.Reason { return moderation.ParseReason(s) }

// errOf keeps only the error of a call that returns a value too.
func errOf[T any](_ T, err error) error { return err }
