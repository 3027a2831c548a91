package app_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"agora/app"
	"agora/forum"
	"agora/internal/testdb"
	"agora/models"
	"agora/moderation"
)

// TestPageCacheFollowsEveryChange checks that guests' cached pages (topic
// HTML and JSON, home, topic list JSON) are served from the cache while
// nothing changed, and show every kind of change at once afterwards.
// Cache hits are told apart by the view count, which no version covers:
// a page served from the cache still shows the count it was rendered with.
func TestPageCacheFollowsEveryChange(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		clock := time.Now()
		a := newApp(t, db, func(d *app.Deps) { d.Now = func() time.Time { return clock } })
		alice := mustTPUser(t, db, "alice", "")
		bob := mustTPUser(t, db, "bob", "")
		mod := mustTPUser(t, db, "mia", "moderator")
		admin := mustTPUser(t, db, "ada", "admin")
		cat := mustTPCategory(t, db, "Billing", "billing")
		topic := mustTPTopic(t, db, alice, cat, "Invoices show the wrong currency", "My invoice says USD.")
		fs, ms := forum.New(db, nil), moderation.New(db, nil)
		reply := mustModReply(t, db, bob, topic.ID, "Check the currency setting.")
		html := fmt.Sprintf("/t/%d/%s", topic.ID, topic.Slug)
		json := fmt.Sprintf("/api/v1/topics/%d", topic.ID)
		pages := []string{html, json, "/", "/api/v1/topics"}

		views := 0
		setViews := func(t *testing.T, n int) {
			t.Helper()
			if _, err := db.NewRaw("UPDATE topics SET view_count = ? WHERE id = ?", n, topic.ID).Exec(ctx); err != nil {
				t.Fatal(err)
			}
		}
		viewText := func(path string, n int) string {
			if strings.HasPrefix(path, "/api/") {
				return fmt.Sprintf(`"view_count":%d`, n)
			}
			return fmt.Sprintf("%d views", n)
		}
		guestGet := func(t *testing.T, path string) string {
			t.Helper()
			res, body := (*tpUser)(nil).get(t, a, path)
			tpWantStatus(t, res, body, http.StatusOK)
			return body
		}
		// fresh asserts that the pages in wants are rendered now (they show
		// the current view count) with what they want and none of unwanted,
		// then that every page is a cache hit next time (it shows the same
		// count again).
		shown := map[string]int{}
		fresh := func(t *testing.T, wants map[string][]string, unwanted ...string) {
			t.Helper()
			clock = clock.Add(3100 * time.Millisecond) // past the lists' grace (new replies may show 3 s late)
			views += 10
			setViews(t, views)
			for _, path := range pages {
				body := guestGet(t, path)
				if w, ok := wants[path]; ok {
					tpWantContains(t, body, viewText(path, views))
					tpWantContains(t, body, w...)
				}
				if strings.Contains(body, viewText(path, views)) {
					shown[path] = views // rendered now, a change to it or not
				}
				for _, u := range unwanted {
					if strings.Contains(body, u) {
						t.Errorf("%s still shows %q", path, u)
					}
				}
			}
			setViews(t, views+1)
			for _, path := range pages {
				if body := guestGet(t, path); !strings.Contains(body, viewText(path, shown[path])) {
					t.Errorf("%s was rendered again although nothing it shows changed", path)
				}
			}
		}

		t.Run("first view, then cached", func(t *testing.T) {
			fresh(t, map[string][]string{html: {"Check the currency setting."}, json: {"Check the currency setting."},
				"/": {"1 reply"}, "/api/v1/topics": {`"reply_count":1`}})
		})
		t.Run("a reply", func(t *testing.T) {
			mustModReply(t, db, alice, topic.ID, "Found it, thanks.")
			if body := guestGet(t, "/api/v1/topics"); !strings.Contains(body, `"reply_count":1`) {
				t.Error("the list did not wait out its grace period for a new reply")
			}
			fresh(t, map[string][]string{html: {"Found it, thanks.", "2 replies"}, json: {"Found it, thanks."},
				"/": {"2 replies"}, "/api/v1/topics": {`"reply_count":2`}})
		})
		t.Run("an edit", func(t *testing.T) {
			if _, err := fs.EditPost(ctx, bob.User, reply.ID, "Open Settings, then Currency.", ""); err != nil {
				t.Fatal(err)
			}
			fresh(t, map[string][]string{html: {"Open Settings, then Currency."}, json: {"Open Settings, then Currency."}},
				"Check the currency setting.")
		})
		t.Run("a like", func(t *testing.T) {
			if _, err := fs.Like(ctx, alice.User, reply.ID); err != nil {
				t.Fatal(err)
			}
			fresh(t, map[string][]string{json: {`"like_count":1`}, "/api/v1/topics": {`"like_count":1`}})
		})
		t.Run("a best answer", func(t *testing.T) {
			if _, _, err := fs.SetSolution(ctx, alice.User, topic.ID, reply.ID); err != nil {
				t.Fatal(err)
			}
			fresh(t, map[string][]string{json: {fmt.Sprintf(`"solved_post_id":%d`, reply.ID)},
				"/api/v1/topics": {fmt.Sprintf(`"solved_post_id":%d`, reply.ID)}})
		})
		t.Run("a removal", func(t *testing.T) {
			if err := errOf(ms.RemovePost(ctx, mod.User, reply.ID, why("spam"))); err != nil {
				t.Fatal(err)
			}
			fresh(t, map[string][]string{html: {"removed by a moderator"}, json: {"removed by a moderator"}},
				"Open Settings, then Currency.")
		})
		t.Run("a restore", func(t *testing.T) {
			if err := errOf(ms.RestorePost(ctx, mod.User, reply.ID, why("not spam after all"))); err != nil {
				t.Fatal(err)
			}
			fresh(t, map[string][]string{html: {"Open Settings, then Currency."}, json: {"Open Settings, then Currency."}})
		})
		t.Run("an author's new display name", func(t *testing.T) {
			if _, err := db.NewUpdate().Model((*models.User)(nil)).Set("display_name = ?", "Bob Builder").
				Where("id = ?", bob.ID).Exec(ctx); err != nil {
				t.Fatal(err)
			}
			fresh(t, map[string][]string{html: {"Bob Builder"}, json: {`"display_name":"Bob Builder"`}})
		})
		t.Run("a renamed category", func(t *testing.T) {
			name := "Billing and invoices"
			if _, err := fs.UpdateCategory(ctx, admin.User, cat.ID, forum.CategoryInput{Name: &name}); err != nil {
				t.Fatal(err)
			}
			fresh(t, map[string][]string{html: {name}, json: {name}, "/": {name}})
		})
		t.Run("a removed topic is gone at once", func(t *testing.T) {
			first, err := models.TopicPosts(ctx, db, topic.ID, 1, 1)
			if err != nil || len(first) != 1 {
				t.Fatalf("first post: %v %v", first, err)
			}
			if err := errOf(ms.RemovePost(ctx, mod.User, first[0].ID, why("spam"))); err != nil {
				t.Fatal(err)
			}
			for _, path := range []string{html, json} {
				res, body := (*tpUser)(nil).get(t, a, path)
				tpWantStatus(t, res, body, http.StatusNotFound)
			}
			for _, path := range []string{"/", "/api/v1/topics"} {
				if body := guestGet(t, path); strings.Contains(body, "Invoices show the wrong currency") {
					t.Errorf("%s still lists the removed topic", path)
				}
			}
		})
	})
}

// TestPageCacheKeepsViewersApart checks who shares a cached rendering:
// guests one, members with nothing of their own on the page another (filled
// in with their own token and name), and everyone else nobody.
func TestPageCacheKeepsViewersApart(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		a := newApp(t, db)
		alice := mustTPUser(t, db, "alice", "")
		bob := mustTPUser(t, db, "bob", "")
		carol := mustTPUser(t, db, "carol", "")
		dave := mustTPUser(t, db, "dave", "")
		mod := mustTPUser(t, db, "mia", "moderator")
		cat := mustTPCategory(t, db, "Billing", "billing")
		topic := mustTPTopic(t, db, alice, cat, "Invoices show the wrong currency", "My invoice says USD.")
		reply := mustModReply(t, db, bob, topic.ID, "Check the currency setting.")
		if _, err := forum.New(db, nil).Like(ctx, carol.User, reply.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := moderation.New(db, nil).Flag(ctx, dave.User, reply.ID, "off_topic", ""); err != nil {
			t.Fatal(err)
		}
		erin := mustTPUser(t, db, "erin", "")
		frank := mustTPUser(t, db, "frank", "")
		url := fmt.Sprintf("/t/%d/%s", topic.ID, topic.Slug)
		json := fmt.Sprintf("/api/v1/topics/%d", topic.ID)

		// ownPage checks that a signed-in page is u's: every form carries u's
		// token and the header names u.
		ownPage := func(t *testing.T, u *tpUser, body string) {
			t.Helper()
			if n, mine := strings.Count(body, `name="_csrf"`), strings.Count(body, `name="_csrf" value="`+u.csrf+`"`); n == 0 || n != mine {
				t.Errorf("%s: %d of %d forms carry their token", u.Username, mine, n)
			}
			tpWantContains(t, body, `href="/u/`+u.Username+`"`, `<span class="user-name">`+u.Username+`</span>`,
				`<span class="avatar av-`+u.User.Avatar()+`" aria-hidden="true">`+u.Username[:1]+`</span>`)
		}
		for round := range 2 { // the second round is served from the cache where allowed
			t.Run(fmt.Sprint("round ", round+1), func(t *testing.T) {
				res, body := (*tpUser)(nil).get(t, a, url)
				tpWantStatus(t, res, body, http.StatusOK)
				tpWantContains(t, body, "Sign in to reply")
				if strings.Contains(body, `name="csrf-token"`) {
					t.Error("a guest page carries a CSRF token")
				}
				for _, u := range []*tpUser{erin, frank} { // nothing of their own: the shared members' page
					res, body := u.get(t, a, url)
					tpWantStatus(t, res, body, http.StatusOK)
					ownPage(t, u, body)
					if strings.Contains(body, "Sign in to reply") || strings.Contains(body, " liked") ||
						strings.Contains(body, "You flagged") || strings.Contains(body, "✎ Edit") || strings.Contains(body, "Mark as best answer") {
						t.Errorf("%s got someone else's view of the page", u.Username)
					}
				}
				for _, c := range []struct {
					u    *tpUser
					want string
				}{{alice, "Mark as best answer"}, {bob, "✎ Edit"}, {carol, `like-btn liked`}, {dave, "You flagged this post"}, {mod, "✎ Edit"}} {
					res, body := c.u.get(t, a, url)
					tpWantStatus(t, res, body, http.StatusOK)
					ownPage(t, c.u, body)
					tpWantContains(t, body, c.want)
				}
				// JSON: a member without likes here gets the guests' answer; carol sees her like.
				_, guestJSON := (*tpUser)(nil).get(t, a, json)
				_, erinJSON := erin.get(t, a, json)
				_, carolJSON := carol.get(t, a, json)
				if erinJSON != guestJSON {
					t.Error("a member without likes got another answer than guests")
				}
				tpWantContains(t, carolJSON, `"liked":true`)
				if strings.Contains(guestJSON, `"liked":true`) {
					t.Error("guests see a like")
				}
			})
		}
		// An error page (a page past the end) is the member's own too.
		res, body := erin.get(t, a, url+"?page=7")
		tpWantStatus(t, res, body, http.StatusNotFound)
		ownPage(t, erin, body)
		// A guest who has a CSRF cookie (after visiting the sign-in page) shares the guests' pages, which
		// carry no token, and still gets it on the sign-in page.
		cookie, token := anonCSRF(t, a, "/login")
		for _, path := range []string{url, "/", "/search"} {
			res, body = getPage(t, a, path, cookie)
			tpWantStatus(t, res, body, http.StatusOK)
			if strings.Contains(body, token) || strings.Contains(body, `name="csrf-token"`) {
				t.Errorf("%s: a guest page carries a CSRF token", path)
			}
		}
		res, body = getPage(t, a, "/login", cookie)
		tpWantStatus(t, res, body, http.StatusOK)
		tpWantContains(t, body, token)
		// A suspended member sees the banner, so not the shared page.
		if err := errOf(moderation.New(db, nil).Suspend(ctx, mod.User, frank.ID, 3, time.Time{}, why("spam"), false)); err != nil {
			t.Fatal(err)
		}
		res, body = frank.get(t, a, url)
		tpWantStatus(t, res, body, http.StatusOK)
		tpWantContains(t, body, "Your account is suspended")
	})
}

// TestSearchCacheFollowsTheIndex checks cached search results: new posts may
// show up to a second late, while removals and edits show as soon as the
// indexer applied them.
func TestSearchCacheFollowsTheIndex(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		clock := time.Now()
		deps, catchUp := withSearch(t, db)
		a := newApp(t, db, deps, func(d *app.Deps) { d.Now = func() time.Time { return clock } })
		alice := mustTPUser(t, db, "alice", "")
		bob := mustTPUser(t, db, "bob", "")
		mod := mustTPUser(t, db, "mia", "moderator")
		cat := mustTPCategory(t, db, "Billing", "billing")
		topic := mustTPTopic(t, db, alice, cat, "Webhook retries", "My webhook endpoint is slow.")
		catchUp()
		fs := forum.New(db, nil)
		search := func(t *testing.T, u *tpUser) string {
			t.Helper()
			res, body := u.get(t, a, "/api/v1/search?q=webhook")
			tpWantStatus(t, res, body, http.StatusOK)
			return body
		}
		for _, u := range []*tpUser{nil, bob} {
			tpWantContains(t, search(t, u), "endpoint is slow.")
		}

		reply, err := fs.Reply(ctx, bob.User, topic.ID, "Raise the webhook timeout.", nil)
		if err != nil {
			t.Fatal(err)
		}
		catchUp()
		if body := search(t, bob); strings.Contains(body, "Raise the") {
			t.Error("a new post skipped the grace period") // the cache would be rendered on every batch
		}
		clock = clock.Add(1100 * time.Millisecond)
		tpWantContains(t, search(t, bob), `timeout."`)

		if _, err := fs.EditPost(ctx, bob.User, reply.ID, "Raise the webhook timeout to 60 s.", ""); err != nil {
			t.Fatal(err)
		}
		catchUp()
		tpWantContains(t, search(t, bob), "timeout to 60 s.")

		if err := errOf(moderation.New(db, nil).RemovePost(ctx, mod.User, reply.ID, why("spam"))); err != nil {
			t.Fatal(err)
		}
		catchUp()
		for _, u := range []*tpUser{nil, bob} {
			if body := search(t, u); strings.Contains(body, "Raise the") {
				t.Error("a removed post is still found after the indexer applied the removal")
			}
		}
	})
}
