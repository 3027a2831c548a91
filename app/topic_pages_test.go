package app_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/uptrace/bun"

	"agora/accounts"
	"agora/forum"
	"agora/internal/testdb"
	"agora/models"
)

// tpUser is a member signed in through a session, as a browser would be.
type tpUser struct {
	*models.User
	cookie *http.Cookie
	csrf   string
}

// mustTPUser registers a member with role and starts a browser session for them.
func mustTPUser(tb testing.TB, db *bun.DB, username, role string) *tpUser {
	tb.Helper()
	ctx := context.Background()
	acc := accounts.New(db, nil)
	u, err := acc.Register(ctx, accounts.RegisterInput{Username: username, Email: username + "@example.com",
		Password: memberPassword, AgeConfirmed: true, Role: role})
	if err != nil {
		tb.Fatalf("register %s: %v", username, err)
	}
	token, sess, err := acc.StartSession(ctx, u.ID, "127.0.0.1", "test")
	if err != nil {
		tb.Fatalf("session for %s: %v", username, err)
	}
	return &tpUser{User: u, cookie: &http.Cookie{Name: "agora_session", Value: token}, csrf: sess.CSRFToken}
}

// get fetches a page, signed in as u when u is not nil.
func (u *tpUser) get(tb testing.TB, a *fiber.App, path string) (*http.Response, string) {
	tb.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	if u != nil {
		req.AddCookie(u.cookie)
	}
	return call(tb, a, req)
}

// post submits a form as u with the session's CSRF token.
func (u *tpUser) post(tb testing.TB, a *fiber.App, path string, values map[string]string) (*http.Response, string) {
	tb.Helper()
	v := map[string]string{"_csrf": u.csrf}
	for k, val := range values {
		v[k] = val
	}
	return call(tb, a, formReq(path, v, u.cookie))
}

// mustTPCategory creates a category directly.
func mustTPCategory(tb testing.TB, db *bun.DB, name, slug string) *models.Category {
	tb.Helper()
	c := &models.Category{Name: name, Slug: slug, Color: "#3b6ea8", Position: 1}
	if err := models.CreateCategory(context.Background(), db, c); err != nil {
		tb.Fatalf("create category: %v", err)
	}
	return c
}

// mustTPTopic starts a topic as u.
func mustTPTopic(tb testing.TB, db *bun.DB, u *tpUser, cat *models.Category, title, body string) *models.Topic {
	tb.Helper()
	t, _, err := forum.New(db, nil).CreateTopic(context.Background(), u.User, forum.TopicInput{CategoryID: cat.ID, Title: title, Body: body})
	if err != nil {
		tb.Fatalf("create topic: %v", err)
	}
	return t
}

func tpWantStatus(tb testing.TB, res *http.Response, body string, want int) {
	tb.Helper()
	if res.StatusCode != want {
		if len(body) > 2000 {
			body = body[:2000]
		}
		tb.Fatalf("status = %d, want %d; body:\n%s", res.StatusCode, want, body)
	}
}

func tpWantContains(tb testing.TB, body string, wants ...string) {
	tb.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			tb.Errorf("page does not contain %q", w)
		}
	}
}

func TestTopicPages(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		a := newApp(t, db)
		alice := mustTPUser(t, db, "alice", "")
		bob := mustTPUser(t, db, "bob", "")
		cat := mustTPCategory(t, db, "Billing", "billing")
		topic := mustTPTopic(t, db, alice, cat, "Invoices show the wrong currency", "My invoice says **USD** but I pay in EUR.")
		url := fmt.Sprintf("/t/%d/%s", topic.ID, topic.Slug)

		t.Run("topic page shows the post", func(t *testing.T) {
			res, body := (*tpUser)(nil).get(t, a, url)
			tpWantStatus(t, res, body, http.StatusOK)
			tpWantContains(t, body, "Invoices show the wrong currency", "<strong>USD</strong>", "Level 0 · Badge +0",
				"0 replies", "Be the first to reply!", `id="post-1"`, "Sign in to reply", "/login?next=")
		})

		t.Run("canonical redirects", func(t *testing.T) {
			for _, path := range []string{fmt.Sprintf("/t/%d", topic.ID), fmt.Sprintf("/t/%d/wrong-slug?page=1", topic.ID)} {
				res, body := (*tpUser)(nil).get(t, a, path)
				tpWantStatus(t, res, body, http.StatusMovedPermanently)
				if loc := res.Header.Get("Location"); !strings.HasPrefix(loc, url) {
					t.Errorf("%s redirects to %q, want %s", path, loc, url)
				}
			}
		})

		t.Run("unknown topic and page are 404 pages", func(t *testing.T) {
			for _, path := range []string{"/t/9999/nope", url + "?page=7", "/t/abc"} {
				res, body := (*tpUser)(nil).get(t, a, path)
				tpWantStatus(t, res, body, http.StatusNotFound)
				tpWantContains(t, body, "Page not found", "<html")
			}
		})

		t.Run("reply through the form", func(t *testing.T) {
			res, body := bob.post(t, a, fmt.Sprintf("/t/%d/reply", topic.ID), map[string]string{"body": "Check *Settings → Currency*.", "page": "1"})
			tpWantStatus(t, res, body, http.StatusSeeOther)
			if loc := res.Header.Get("Location"); loc != url+"#post-2" {
				t.Errorf("redirect to %q, want %s#post-2", loc, url)
			}
			res, body = bob.get(t, a, url)
			tpWantStatus(t, res, body, http.StatusOK)
			tpWantContains(t, body, "<em>Settings → Currency</em>", `id="post-2"`, "1 reply")
			if strings.Contains(body, "Be the first to reply!") {
				t.Error("a topic with a reply still asks for the first reply")
			}
		})

		t.Run("reply without CSRF token is refused", func(t *testing.T) {
			res, body := call(t, a, formReq(fmt.Sprintf("/t/%d/reply", topic.ID), map[string]string{"body": "hi"}, bob.cookie))
			tpWantStatus(t, res, body, http.StatusForbidden)
		})

		t.Run("empty reply keeps the text", func(t *testing.T) {
			res, body := bob.post(t, a, fmt.Sprintf("/t/%d/reply", topic.ID), map[string]string{"body": "   \n  "})
			tpWantStatus(t, res, body, http.StatusUnprocessableEntity)
			tpWantContains(t, body, "write something", `id="reply-body"`)
			res, body = bob.post(t, a, fmt.Sprintf("/t/%d/reply", topic.ID), map[string]string{"body": "kept <text>", "reply_to_post_id": "999999"})
			tpWantStatus(t, res, body, http.StatusUnprocessableEntity)
			tpWantContains(t, body, "kept &lt;text&gt;", "that post is not in this topic")
		})

		t.Run("quote prefills the reply", func(t *testing.T) {
			res, body := bob.get(t, a, fmt.Sprintf("%s?quote=%d#reply", url, *topic.FirstPostID))
			tpWantStatus(t, res, body, http.StatusOK)
			tpWantContains(t, body, "@alice wrote:\n&gt; My invoice says **USD** but I pay in EUR.",
				fmt.Sprintf(`name="reply_to_post_id" value="%d"`, *topic.FirstPostID), "Replying to")
		})

		t.Run("like toggles", func(t *testing.T) {
			first := *topic.FirstPostID
			res, body := bob.post(t, a, fmt.Sprintf("/p/%d/like", first), nil)
			tpWantStatus(t, res, body, http.StatusSeeOther)
			if loc := res.Header.Get("Location"); loc != url+"#post-1" {
				t.Errorf("like redirects to %q", loc)
			}
			_, body = bob.get(t, a, url)
			tpWantContains(t, body, `class="like-btn liked"`)
			res, body = bob.post(t, a, fmt.Sprintf("/p/%d/like", first), nil)
			tpWantStatus(t, res, body, http.StatusSeeOther)
			p, _ := models.PostByID(context.Background(), db, first)
			if p.LikeCount != 0 {
				t.Errorf("like count after toggling twice = %d, want 0", p.LikeCount)
			}
			res, body = alice.post(t, a, fmt.Sprintf("/p/%d/like", first), nil)
			tpWantStatus(t, res, body, http.StatusForbidden)
			tpWantContains(t, body, "You cannot like your own post")
		})

		t.Run("best answer", func(t *testing.T) {
			posts, _ := models.TopicPosts(context.Background(), db, topic.ID, 2, 2)
			res, body := bob.post(t, a, fmt.Sprintf("/t/%d/solution", topic.ID), map[string]string{"post_id": fmt.Sprint(posts[0].ID)})
			tpWantStatus(t, res, body, http.StatusForbidden)
			res, body = alice.post(t, a, fmt.Sprintf("/t/%d/solution", topic.ID), map[string]string{"post_id": fmt.Sprint(posts[0].ID)})
			tpWantStatus(t, res, body, http.StatusSeeOther)
			_, body = alice.get(t, a, url)
			tpWantContains(t, body, "Best answer", "✓ Solved", "Unmark best answer")
			_, body = (*tpUser)(nil).get(t, a, "/?filter=solved")
			tpWantContains(t, body, "Invoices show the wrong currency", "✓ Solved")
		})

		t.Run("edit and revisions", func(t *testing.T) {
			first := *topic.FirstPostID
			res, body := bob.get(t, a, fmt.Sprintf("/p/%d/edit", first))
			tpWantStatus(t, res, body, http.StatusForbidden)
			res, body = alice.get(t, a, fmt.Sprintf("/p/%d/edit", first))
			tpWantStatus(t, res, body, http.StatusOK)
			tpWantContains(t, body, "My invoice says **USD**")
			res, body = alice.post(t, a, fmt.Sprintf("/p/%d/edit", first), map[string]string{"body": "", "reason": "oops"})
			tpWantStatus(t, res, body, http.StatusUnprocessableEntity)
			tpWantContains(t, body, `value="oops"`, "write something")
			res, body = alice.post(t, a, fmt.Sprintf("/p/%d/edit", first), map[string]string{"body": "My invoice says EUR now.", "reason": "update"})
			tpWantStatus(t, res, body, http.StatusSeeOther)
			if loc := res.Header.Get("Location"); loc != url+"#post-1" {
				t.Errorf("edit redirects to %q", loc)
			}
			_, body = alice.get(t, a, url)
			tpWantContains(t, body, fmt.Sprintf(`href="/p/%d/revisions"`, first))
			res, body = alice.get(t, a, fmt.Sprintf("/p/%d/revisions", first))
			tpWantStatus(t, res, body, http.StatusOK)
			tpWantContains(t, body, "Original", "Revision 1", "update", "My invoice says **USD** but I pay in EUR.", `class="revision-body"`)
			res, body = bob.get(t, a, fmt.Sprintf("/p/%d/revisions", first))
			tpWantStatus(t, res, body, http.StatusForbidden)
			res, body = alice.get(t, a, "/p/999999/edit")
			tpWantStatus(t, res, body, http.StatusNotFound)
		})

		t.Run("locked topic", func(t *testing.T) {
			if _, err := db.NewUpdate().Table("topics").Set("locked = ?", true).Where("id = ?", topic.ID).Exec(context.Background()); err != nil {
				t.Fatal(err)
			}
			_, body := bob.get(t, a, url)
			tpWantContains(t, body, "This topic is locked")
			res, body := bob.post(t, a, fmt.Sprintf("/t/%d/reply", topic.ID), map[string]string{"body": "let me in"})
			tpWantStatus(t, res, body, http.StatusForbidden)
			tpWantContains(t, body, "locked")
		})

		t.Run("lists", func(t *testing.T) {
			other := mustTPTopic(t, db, bob, cat, "How do I export my data as CSV?", "Is there an export?")
			res, body := (*tpUser)(nil).get(t, a, "/c/billing?filter=unanswered")
			tpWantStatus(t, res, body, http.StatusOK)
			tpWantContains(t, body, "Billing", other.Title, "0 replies", `href="/new-topic?category=`)
			if strings.Contains(body, topic.Title) {
				t.Error("the unanswered list shows an answered topic")
			}
			res, body = (*tpUser)(nil).get(t, a, "/c/nope")
			tpWantStatus(t, res, body, http.StatusNotFound)
			res, body = (*tpUser)(nil).get(t, a, "/?filter=top&page=9")
			tpWantStatus(t, res, body, http.StatusNotFound)
		})
	})
}

func TestNewTopicPage(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		searchDeps, catchUp := withSearch(t, db)
		a := newApp(t, db, searchDeps)
		alice := mustTPUser(t, db, "alice", "")
		cat := mustTPCategory(t, db, "Getting started", "getting-started")

		res, body := (*tpUser)(nil).get(t, a, "/new-topic")
		tpWantStatus(t, res, body, http.StatusSeeOther)
		if loc := res.Header.Get("Location"); loc != "/login?next=%2Fnew-topic" {
			t.Errorf("guest redirected to %q", loc)
		}

		res, body = alice.get(t, a, fmt.Sprintf("/new-topic?category=%d", cat.ID))
		tpWantStatus(t, res, body, http.StatusOK)
		tpWantContains(t, body, fmt.Sprintf(`<option value="%d" selected>`, cat.ID))

		res, body = alice.post(t, a, "/new-topic", map[string]string{"category_id": "", "title": "Too short", "body": "keep *this*"})
		tpWantStatus(t, res, body, http.StatusUnprocessableEntity)
		tpWantContains(t, body, `value="Too short"`, "keep *this*", "choose a category", "at least 15 characters")

		res, body = alice.post(t, a, "/new-topic", map[string]string{"category_id": fmt.Sprint(cat.ID), "title": "Preview before posting", "body": "**bold** text", "preview": "1"})
		tpWantStatus(t, res, body, http.StatusOK)
		tpWantContains(t, body, "<strong>bold</strong>", "**bold** text")

		res, body = alice.post(t, a, "/new-topic", map[string]string{"category_id": fmt.Sprint(cat.ID), "title": "How do I reset my password?", "body": "I forgot it."})
		tpWantStatus(t, res, body, http.StatusSeeOther)
		if loc := res.Header.Get("Location"); !strings.HasSuffix(loc, "/how-do-i-reset-my-password") {
			t.Errorf("new topic redirects to %q", loc)
		}

		// Similar titles (from the search index) show on the preview.
		catchUp()
		res, body = alice.post(t, a, "/new-topic", map[string]string{"category_id": fmt.Sprint(cat.ID), "title": "Cannot reset password", "body": "x", "preview": "1"})
		tpWantStatus(t, res, body, http.StatusOK)
		tpWantContains(t, body, "How do I reset my password?", "Similar topics")
	})
}

func TestAdminPage(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		a := newApp(t, db)
		member := mustTPUser(t, db, "member", "")
		admin := mustTPUser(t, db, "boss", models.RoleAdmin)

		res, body := member.get(t, a, "/admin")
		tpWantStatus(t, res, body, http.StatusForbidden)
		tpWantContains(t, body, "Not allowed")
		res, body = member.post(t, a, "/admin/categories", map[string]string{"name": "Sneaky"})
		tpWantStatus(t, res, body, http.StatusForbidden)

		res, body = admin.get(t, a, "/admin")
		tpWantStatus(t, res, body, http.StatusOK)
		tpWantContains(t, body, "New category", `href="/admin"`)

		res, body = admin.post(t, a, "/admin/categories", map[string]string{"name": "Feature requests", "description": "Ideas", "color": "#aa3366"})
		tpWantStatus(t, res, body, http.StatusSeeOther)
		cat, err := models.CategoryBySlug(context.Background(), db, "feature-requests")
		if err != nil {
			t.Fatalf("created category: %v", err)
		}
		if cat.Color != "#aa3366" || cat.Description != "Ideas" {
			t.Errorf("category = %+v", cat)
		}

		res, body = admin.post(t, a, "/admin/categories", map[string]string{"name": "Feature ideas", "slug": "feature-requests"})
		tpWantStatus(t, res, body, http.StatusConflict)
		tpWantContains(t, body, `value="Feature ideas"`, "a category with that slug exists")

		res, body = admin.post(t, a, "/admin/categories", map[string]string{"name": "x", "position": "first"})
		tpWantStatus(t, res, body, http.StatusUnprocessableEntity)
		tpWantContains(t, body, "use a whole number")

		res, body = admin.post(t, a, fmt.Sprintf("/admin/categories/%d", cat.ID), map[string]string{"name": "Ideas", "slug": "ideas",
			"description": "", "color": "#112233", "position": "4", "archived": "on"})
		tpWantStatus(t, res, body, http.StatusSeeOther)
		cat, _ = models.CategoryByID(context.Background(), db, cat.ID)
		if cat.Name != "Ideas" || cat.Slug != "ideas" || !cat.Archived || cat.Position != 4 {
			t.Errorf("updated category = %+v", cat)
		}
		res, body = admin.post(t, a, fmt.Sprintf("/admin/categories/%d", cat.ID), map[string]string{"name": "I", "slug": "Bad Slug"})
		tpWantStatus(t, res, body, http.StatusUnprocessableEntity)
		tpWantContains(t, body, `value="Bad Slug"`, "use 2 to 60 characters")
		res, body = admin.post(t, a, "/admin/categories/9999", map[string]string{"name": "Whatever"})
		tpWantStatus(t, res, body, http.StatusNotFound)
	})
}
