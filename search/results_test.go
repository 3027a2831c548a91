package search_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"agora/forum"
	"agora/internal/testdb"
	"agora/models"
	"agora/search"
)

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
