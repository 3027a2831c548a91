package app_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/uptrace/bun"

	"agora/app"
	"agora/forum"
	"agora/internal/testdb"
	"agora/models"
	"agora/moderation"
	"agora/search"
)

// searchWorld is a small indexed community: alice asks about webhooks in
// Billing, bob answers (the best answer), carol's spam reply was removed by
// mia, a moderator.
type searchWorld struct {
	a       *fiber.App
	db      *bun.DB
	catchUp func()
	cat     *models.Category

	alice, bob, carol, mia *tpUser

	topic                     *models.Topic
	firstID, answerID, spamID int64
}

func newSearchWorld(t *testing.T, db *bun.DB) *searchWorld {
	t.Helper()
	ctx := context.Background()
	deps, catchUp := withSearch(t, db)
	w := &searchWorld{a: newApp(t, db, deps), db: db, catchUp: catchUp}
	w.alice = mustTPUser(t, db, "alice", models.RoleMember)
	w.bob = mustTPUser(t, db, "bob", models.RoleMember)
	w.carol = mustTPUser(t, db, "carol", models.RoleMember)
	w.mia = mustTPUser(t, db, "mia", models.RoleModerator)
	w.cat = mustTPCategory(t, db, "Billing", "billing")
	fs := forum.New(db, nil)
	tp, first, err := fs.CreateTopic(ctx, w.alice.User, forum.TopicInput{CategoryID: w.cat.ID,
		Title: "Webhook retries time out after 30s", Body: "My **webhook** endpoint answers slowly."})
	if err != nil {
		t.Fatal(err)
	}
	answer, err := fs.Reply(ctx, w.bob.User, tp.ID, "Raise the webhook timeout in *Settings*.", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := fs.SetSolution(ctx, w.alice.User, tp.ID, answer.ID); err != nil {
		t.Fatal(err)
	}
	spam, err := fs.Reply(ctx, w.carol.User, tp.ID, "Buy cheap webhook followers at example.com", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := errOf(moderation.New(db, nil).RemovePost(ctx, w.mia.User, spam.ID, why("spam"))); err != nil {
		t.Fatal(err)
	}
	w.topic, w.firstID, w.answerID, w.spamID = tp, first.ID, answer.ID, spam.ID
	catchUp()
	return w
}

// searchAPI calls GET /api/v1/search as u (nil: a guest) and returns the status and decoded body.
func (w *searchWorld) searchAPI(t *testing.T, u *tpUser, query string) (int, map[string]any) {
	t.Helper()
	res, body := u.get(t, w.a, "/api/v1/search?"+query)
	return res.StatusCode, decode(t, body)
}

// itemsByPost indexes a search response's items by post id.
func itemsByPost(t *testing.T, m map[string]any) map[int64]map[string]any {
	t.Helper()
	list, ok := m["items"].([]any)
	if !ok {
		t.Fatalf("no items list in %v", m)
	}
	out := map[int64]map[string]any{}
	for _, it := range list {
		item := it.(map[string]any)
		out[int64(item["post_id"].(float64))] = item
	}
	return out
}

func TestSearchAPI(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		w := newSearchWorld(t, db)

		t.Run("member results", func(t *testing.T) {
			status, got := w.searchAPI(t, w.alice, "q=webhook")
			if status != http.StatusOK {
				t.Fatalf("status %d: %v", status, got)
			}
			items := itemsByPost(t, got)
			if len(items) != 2 || items[w.firstID] == nil || items[w.answerID] == nil || num(got, "total") != 2 {
				t.Fatalf("items %v (total %v), want the question and the answer", got["items"], got["total"])
			}
			first, answer := items[w.firstID], items[w.answerID]
			for _, it := range []map[string]any{first, answer} {
				if int64(it["topic_id"].(float64)) != w.topic.ID || it["title"] != w.topic.Title || it["solved"] != true {
					t.Errorf("item %v: want topic %d %q, solved", it, w.topic.ID, w.topic.Title)
				}
				if cat, _ := it["category"].(map[string]any); cat == nil || cat["slug"] != "billing" || cat["name"] != "Billing" {
					t.Errorf("item category = %v, want billing", it["category"])
				}
				if created, err := time.Parse(time.RFC3339Nano, it["created_at"].(string)); err != nil || time.Since(created) > time.Hour {
					t.Errorf("created_at = %v (%v)", it["created_at"], err)
				}
				if _, has := it["state"]; has {
					t.Errorf("a member sees the state of %v", it)
				}
				if u, _ := it["url"].(string); !strings.HasPrefix(u, "/t/"+strconv.FormatInt(w.topic.ID, 10)+"/") {
					t.Errorf("url = %v", it["url"])
				}
			}
			if first["snippet"] != "My <mark>webhook</mark> endpoint answers slowly." {
				t.Errorf("question snippet = %q", first["snippet"])
			}
			if first["title_html"] != "<mark>Webhook</mark> retries time out after 30s" {
				t.Errorf("question title_html = %q", first["title_html"])
			}
			if answer["snippet"] != "Raise the <mark>webhook</mark> timeout in Settings." || answer["is_solution"] != true {
				t.Errorf("answer = %v, want marked snippet and is_solution", answer)
			}
			if first["author"].(map[string]any)["username"] != "alice" || answer["author"].(map[string]any)["username"] != "bob" {
				t.Errorf("authors = %v, %v", first["author"], answer["author"])
			}
			if _, hasEmail := answer["author"].(map[string]any)["email"]; hasEmail {
				t.Errorf("author carries an email: %v", answer["author"])
			}
		})
		t.Run("guest results", func(t *testing.T) {
			status, got := w.searchAPI(t, nil, "q=webhook")
			if items := itemsByPost(t, got); status != http.StatusOK || len(items) != 2 || items[w.spamID] != nil {
				t.Errorf("guest: %d %v, want the two visible posts", status, got)
			}
		})
		t.Run("include=removed ignored for members", func(t *testing.T) {
			status, got := w.searchAPI(t, w.alice, "q=webhook&include=removed")
			if items := itemsByPost(t, got); status != http.StatusOK || len(items) != 2 || items[w.spamID] != nil {
				t.Errorf("member with include=removed: %d %v, want the two visible posts", status, got)
			}
		})
		t.Run("moderator without include", func(t *testing.T) {
			_, got := w.searchAPI(t, w.mia, "q=webhook")
			items := itemsByPost(t, got)
			if len(items) != 2 || items[w.spamID] != nil || items[w.firstID]["state"] != "visible" {
				t.Errorf("moderator: %v, want the two visible posts marked visible", got)
			}
		})
		t.Run("include=removed honoured for moderators", func(t *testing.T) {
			_, got := w.searchAPI(t, w.mia, "q=webhook&include=removed")
			items := itemsByPost(t, got)
			if len(items) != 3 || num(got, "total") != 3 {
				t.Fatalf("moderator with include=removed: %v, want 3 posts", got)
			}
			want := map[int64]string{w.firstID: "visible", w.answerID: "visible", w.spamID: "removed"}
			for id, state := range want {
				if items[id]["state"] != state {
					t.Errorf("post %d state = %v, want %s", id, items[id]["state"], state)
				}
			}
		})
		t.Run("paging", func(t *testing.T) {
			seen := map[int64]bool{}
			for page := 1; page <= 3; page++ {
				_, got := w.searchAPI(t, w.alice, "q=webhook&per_page=1&page="+strconv.Itoa(page))
				items := itemsByPost(t, got)
				wantLen := map[int]int{1: 1, 2: 1, 3: 0}[page]
				if len(items) != wantLen || num(got, "total") != 2 || num(got, "page") != float64(page) || num(got, "per_page") != 1 {
					t.Errorf("page %d: %v, want %d item, total 2, per_page 1", page, got, wantLen)
				}
				for id := range items {
					if seen[id] {
						t.Errorf("post %d on two pages", id)
					}
					seen[id] = true
				}
			}
		})
		t.Run("filters", func(t *testing.T) {
			cases := []struct {
				query string
				want  []int64
			}{
				{"webhook @bob", []int64{w.answerID}},
				{"in:title webhook", []int64{w.firstID}},
				{"#billing status:solved", []int64{w.firstID, w.answerID}},
				{"webhook status:unsolved", nil},
				{"webhook -settings", []int64{w.firstID}},
			}
			for _, tc := range cases {
				_, got := w.searchAPI(t, w.alice, "q="+url.QueryEscape(tc.query))
				items := itemsByPost(t, got)
				if len(items) != len(tc.want) {
					t.Errorf("%q found %v, want %v", tc.query, got["items"], tc.want)
					continue
				}
				for _, id := range tc.want {
					if items[id] == nil {
						t.Errorf("%q misses post %d: %v", tc.query, id, got["items"])
					}
				}
			}
		})
	})
}

func TestSearchAPIRejectsBadQueries(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		w := newSearchWorld(t, db)
		cases := []struct{ name, q, reason string }{
			{"empty", "", "enter something to search for"},
			{"whitespace", "   ", "enter something to search for"},
			{"2,000 characters", strings.Repeat("webhook ", 250), "too long"},
			{"unbalanced quote", `"webhook timeout`, "quotation mark is not closed"},
			{"unknown operator", "foo:bar", "unknown operator foo:"},
			{"malformed date", "webhook before:2026-13-45", "before: needs a date"},
			{"word for a date", "webhook after:yesterday", "after: needs a date"},
			{"bad status", "webhook status:open", "status: takes solved or unsolved"},
			{"wildcard only", "*", "wildcards and punctuation alone"},
			{"exclusion only", "-spam", "only exclusions"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				res, body := w.alice.get(t, w.a, "/api/v1/search?q="+url.QueryEscape(tc.q))
				code, _ := apiErr(t, body)
				msg, _ := decode(t, body)["error"].(map[string]any)["message"].(string)
				if res.StatusCode != http.StatusUnprocessableEntity || code != "invalid_query" || !strings.Contains(msg, tc.reason) {
					t.Errorf("q=%q: %d %s, want 422 invalid_query with %q", tc.q, res.StatusCode, body, tc.reason)
				}
			})
		}
		t.Run("no q at all", func(t *testing.T) {
			res, body := w.alice.get(t, w.a, "/api/v1/search")
			if code, _ := apiErr(t, body); res.StatusCode != http.StatusUnprocessableEntity || code != "invalid_query" {
				t.Errorf("no q: %d %s, want 422 invalid_query", res.StatusCode, body)
			}
		})
	})
}

func TestSearchPage(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		w := newSearchWorld(t, db)
		ctx := context.Background()
		if _, _, err := forum.New(db, nil).CreateTopic(ctx, w.bob.User, forum.TopicInput{CategoryID: w.cat.ID,
			Title: "Why does <script> break my layout?", Body: "Putting `<b>bold</b>` in the footer template breaks it."}); err != nil {
			t.Fatal(err)
		}
		w.catchUp()

		t.Run("results", func(t *testing.T) {
			res, body := w.alice.get(t, w.a, "/search?q=webhook")
			tpWantStatus(t, res, body, http.StatusOK)
			tpWantContains(t, body, "2 results", "<mark>Webhook</mark> retries time out after 30s",
				"My <mark>webhook</mark> endpoint answers slowly.", "Raise the <mark>webhook</mark> timeout in Settings.",
				"Best answer", `by <a href="/u/bob">bob</a>`, `value="webhook"`)
			if strings.Contains(body, "followers") {
				t.Error("a member's results show the removed post")
			}
		})
		t.Run("guest results", func(t *testing.T) {
			res, body := (*tpUser)(nil).get(t, w.a, "/search?q=webhook")
			tpWantStatus(t, res, body, http.StatusOK)
			tpWantContains(t, body, "2 results", "<mark>webhook</mark>")
			if strings.Contains(body, "Include removed") {
				t.Error("a guest is offered removed posts")
			}
		})
		t.Run("markup in posts is escaped", func(t *testing.T) {
			res, body := w.alice.get(t, w.a, "/search?q=layout+footer")
			tpWantStatus(t, res, body, http.StatusOK)
			tpWantContains(t, body, "Why does &lt;script&gt; break my <mark>layout</mark>?",
				"Putting &lt;b&gt;bold&lt;/b&gt; in the <mark>footer</mark> template breaks it.")
			if strings.Contains(body, "<script>") || strings.Contains(body, "<b>bold") {
				t.Error("post markup reached the page unescaped")
			}
		})
		t.Run("bad query", func(t *testing.T) {
			res, body := w.alice.get(t, w.a, "/search?q="+url.QueryEscape(`"webhook timeout`))
			tpWantStatus(t, res, body, http.StatusUnprocessableEntity)
			tpWantContains(t, body, `class="alert alert-error"`, "a quotation mark is not closed", `value="&#34;webhook timeout"`)
			if strings.Contains(body, "search-results") {
				t.Error("a refused query shows results")
			}
		})
		t.Run("unknown operator", func(t *testing.T) {
			res, body := w.alice.get(t, w.a, "/search?q=foo%3Abar")
			tpWantStatus(t, res, body, http.StatusUnprocessableEntity)
			tpWantContains(t, body, "unknown operator foo:")
		})
		t.Run("no results", func(t *testing.T) {
			res, body := w.alice.get(t, w.a, "/search?q=kangaroo")
			tpWantStatus(t, res, body, http.StatusOK)
			tpWantContains(t, body, "0 results", "No results", "Try fewer words, remove filters")
		})
		t.Run("empty box", func(t *testing.T) {
			res, body := w.alice.get(t, w.a, "/search")
			tpWantStatus(t, res, body, http.StatusOK)
			tpWantContains(t, body, `class="search-form"`, "status:solved")
			if strings.Contains(body, "alert-error") || strings.Contains(body, "No results") {
				t.Error("an empty search page shows an error or an empty result")
			}
		})
		t.Run("moderator includes removed posts", func(t *testing.T) {
			res, body := w.mia.get(t, w.a, "/search?q=webhook")
			tpWantStatus(t, res, body, http.StatusOK)
			tpWantContains(t, body, "Include removed and hidden posts", "2 results")
			res, body = w.mia.get(t, w.a, "/search?q=webhook&include=removed")
			tpWantStatus(t, res, body, http.StatusOK)
			tpWantContains(t, body, "3 results", "state-removed", "followers", `value="removed" checked`)
		})
		t.Run("member include is ignored", func(t *testing.T) {
			res, body := w.alice.get(t, w.a, "/search?q=webhook&include=removed")
			tpWantStatus(t, res, body, http.StatusOK)
			tpWantContains(t, body, "2 results")
			if strings.Contains(body, "followers") || strings.Contains(body, "Include removed") {
				t.Error("a member sees removed posts or the staff checkbox")
			}
		})
		t.Run("pages link on", func(t *testing.T) {
			res, body := w.alice.get(t, w.a, "/search?q=webhook&per_page=1")
			tpWantStatus(t, res, body, http.StatusOK)
			tpWantContains(t, body, "2 results", "/search?page=2&amp;q=webhook")
		})
	})
}

func TestSimilarTopicsUseTheIndex(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		w := newSearchWorld(t, db)
		ctx := context.Background()
		similar := func(title string) []string {
			t.Helper()
			res, body := w.alice.get(t, w.a, "/api/v1/topics/similar?title="+url.QueryEscape(title))
			tpWantStatus(t, res, body, http.StatusOK)
			var titles []string
			for _, it := range decode(t, body)["items"].([]any) {
				titles = append(titles, it.(map[string]any)["title"].(string))
			}
			return titles
		}
		if got := similar("Webhooks timing out"); len(got) != 1 || got[0] != w.topic.Title {
			t.Errorf("similar = %v, want [%q] (stemmed title match)", got, w.topic.Title)
		}
		fs := forum.New(db, nil)
		second, first, err := fs.CreateTopic(ctx, w.bob.User, forum.TopicInput{CategoryID: w.cat.ID,
			Title: "Webhook signatures do not verify", Body: "The HMAC never matches."})
		if err != nil {
			t.Fatal(err)
		}
		if got := similar("Webhook signature problem"); len(got) != 1 {
			t.Errorf("similar before the indexer ran = %v, want only the indexed topic", got)
		}
		w.catchUp()
		if got := similar("Webhook signature problem"); len(got) != 2 || got[0] != second.Title {
			t.Errorf("similar = %v, want %q first", got, second.Title)
		}
		if err := errOf(moderation.New(db, nil).RemovePost(ctx, w.mia.User, first.ID, why("spam"))); err != nil {
			t.Fatal(err)
		}
		w.catchUp()
		if got := similar("Webhook signature problem"); len(got) != 1 || got[0] != w.topic.Title {
			t.Errorf("similar after removing a topic = %v, want only %q", got, w.topic.Title)
		}
		if got := similar("kangaroo"); len(got) != 0 {
			t.Errorf("similar(kangaroo) = %v, want none", got)
		}
	})
}

func TestSearchWithoutIndex(t *testing.T) {
	notReady := func(t *testing.T) func(*app.Deps) {
		ix, err := search.Open(t.TempDir())
		if !errors.Is(err, search.ErrNoIndex) {
			t.Fatal(err)
		}
		t.Cleanup(func() { ix.Close() })
		return func(d *app.Deps) { d.Search = search.NewService(nil, ix) }
	}
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		for name, change := range map[string]func(*app.Deps){
			"no index":            func(d *app.Deps) { d.Search = nil },
			"index being rebuilt": notReady(t),
		} {
			t.Run(name, func(t *testing.T) {
				a := newApp(t, db, change)
				res, body := call(t, a, jsonReq(http.MethodGet, "/api/v1/search?q=webhook", nil, ""))
				if code, _ := apiErr(t, body); res.StatusCode != http.StatusServiceUnavailable || code != "unavailable" {
					t.Errorf("API: %d %s, want 503 unavailable", res.StatusCode, body)
				}
				res, body = call(t, a, jsonReq(http.MethodGet, "/search?q=webhook", nil, ""))
				if res.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "search is being rebuilt") {
					t.Errorf("page: %d, want 503 saying search is being rebuilt", res.StatusCode)
				}
				// A refused query is still explained.
				res, body = call(t, a, jsonReq(http.MethodGet, "/api/v1/search?q=foo:bar", nil, ""))
				if code, _ := apiErr(t, body); res.StatusCode != http.StatusUnprocessableEntity || code != "invalid_query" {
					t.Errorf("bad query without an index: %d %s, want 422", res.StatusCode, body)
				}
				res, body = call(t, a, jsonReq(http.MethodGet, "/api/v1/topics/similar?title=webhook", nil, ""))
				if res.StatusCode != http.StatusOK || !strings.Contains(body, `"items":[]`) {
					t.Errorf("similar without an index: %d %s, want 200 with no items", res.StatusCode, body)
				}
			})
		}
	})
}

// TestSearchLinksReachThePostsPage: a hit past the first page of its topic
// links to the page that holds it, counted in the forum's page size, on the
// results page and in the API.
func TestSearchLinksReachThePostsPage(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		w := newSearchWorld(t, db)
		fs := forum.New(db, nil)
		var last *models.Post
		for i := 0; i < forum.PerPage-1; i++ { // the topic holds 3 posts: 22 after these
			body := fmt.Sprintf("Same problem here (%d).", i)
			if i == forum.PerPage-2 {
				body = "Fixed it: the zanzibar proxy dropped the retries."
			}
			p, err := fs.Reply(context.Background(), w.bob.User, w.topic.ID, body, nil)
			if err != nil {
				t.Fatal(err)
			}
			last = p
		}
		w.catchUp()
		want := fmt.Sprintf("/t/%d/%s?page=2#post-%d", w.topic.ID, w.topic.Slug, last.PostNumber)
		if last.PostNumber != forum.PerPage+2 {
			t.Fatalf("the hit is post %d, want %d (the second page)", last.PostNumber, forum.PerPage+2)
		}
		status, m := w.searchAPI(t, w.alice, "q=zanzibar")
		items, _ := m["items"].([]any)
		if status != http.StatusOK || len(items) != 1 || items[0].(map[string]any)["url"] != want {
			t.Fatalf("search API: %d %v, want one hit at %s", status, m, want)
		}
		res, body := w.alice.get(t, w.a, "/search?q=zanzibar")
		tpWantStatus(t, res, body, http.StatusOK)
		tpWantContains(t, body, `href="`+want+`"`)
	})
}
