package app_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/uptrace/bun"

	"agora/internal/testdb"
	"agora/models"
)

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
			tpWantContains(t, body, "Invoices show the wrong currency", "<strong>USD</strong>", "Userlevel 1 · Badge +0",
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

func TestTopicAPIFlow(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		searchDeps, catchUp := withSearch(t, db)
		a := newApp(t, db, searchDeps)
		admin, asker, helper := apiMember(t, a, "admin1"), apiMember(t, a, "asker"), apiMember(t, a, "helper")
		promote(t, db, "admin1", models.RoleAdmin)

		res, body := call(t, a, jsonReq(http.MethodPost, "/api/v1/admin/categories", map[string]any{"name": "Questions", "description": "Ask here"}, asker))
		if res.StatusCode != http.StatusForbidden {
			t.Fatalf("member creating a category: %d %s, want 403", res.StatusCode, body)
		}
		res, body = call(t, a, jsonReq(http.MethodPost, "/api/v1/admin/categories", map[string]any{"name": "Questions", "description": "Ask here", "color": "#AA3300"}, admin))
		if res.StatusCode != http.StatusCreated {
			t.Fatalf("create category: %d %s", res.StatusCode, body)
		}
		cat := decode(t, body)["category"].(map[string]any)
		catID := int64(cat["id"].(float64))
		if cat["slug"] != "questions" || cat["color"] != "#aa3300" {
			t.Errorf("category = %v", cat)
		}
		res, body = call(t, a, jsonReq(http.MethodPost, "/api/v1/admin/categories", map[string]any{"name": "Questions"}, admin))
		if res.StatusCode != http.StatusConflict {
			t.Errorf("duplicate slug: %d %s, want 409", res.StatusCode, body)
		}

		res, body = call(t, a, jsonReq(http.MethodPost, "/api/v1/topics", map[string]any{"category_id": catID, "title": "short", "body": ""}, asker))
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `"title"`) || !strings.Contains(body, `"body"`) {
			t.Fatalf("bad topic: %d %s, want 422 with title and body", res.StatusCode, body)
		}
		res, body = call(t, a, jsonReq(http.MethodPost, "/api/v1/topics", map[string]any{
			"category_id": catID, "title": "Webhook retries time out after 30s", "body": "Hi <script>alert(1)</script> **bold**"}, asker))
		if res.StatusCode != http.StatusCreated {
			t.Fatalf("create topic: %d %s", res.StatusCode, body)
		}
		created := decode(t, body)
		topicID := int64(num(created, "topic", "id"))
		post := created["post"].(map[string]any)
		if strings.Contains(post["html"].(string), "<script") || !strings.Contains(post["html"].(string), "<strong>bold</strong>") {
			t.Errorf("post html = %q, want sanitized and rendered", post["html"])
		}
		if res, _ := call(t, a, jsonReq(http.MethodPost, "/api/v1/topics", map[string]any{"category_id": catID, "title": "Anonymous question here", "body": "x"}, "")); res.StatusCode != http.StatusUnauthorized {
			t.Errorf("guest creating a topic: %d, want 401", res.StatusCode)
		}

		path := fmt.Sprintf("/api/v1/topics/%d", topicID)
		res, body = call(t, a, jsonReq(http.MethodPost, path+"/posts", map[string]any{"body": "Raise the timeout in **Settings**."}, helper))
		if res.StatusCode != http.StatusCreated {
			t.Fatalf("reply: %d %s", res.StatusCode, body)
		}
		replyID := int64(num(decode(t, body), "post", "id"))

		res, body = call(t, a, jsonReq(http.MethodPost, fmt.Sprintf("/api/v1/posts/%d/like", replyID), nil, asker))
		if res.StatusCode != http.StatusOK || num(decode(t, body), "like_count") != 1 {
			t.Errorf("like: %d %s, want like_count 1", res.StatusCode, body)
		}
		res, _ = call(t, a, jsonReq(http.MethodPost, fmt.Sprintf("/api/v1/posts/%d/like", replyID), nil, helper))
		if res.StatusCode != http.StatusForbidden {
			t.Errorf("liking own post: %d, want 403", res.StatusCode)
		}
		res, body = call(t, a, jsonReq(http.MethodPost, path+"/solution", map[string]any{"post_id": replyID}, helper))
		if res.StatusCode != http.StatusForbidden {
			t.Errorf("non-author solution: %d %s, want 403", res.StatusCode, body)
		}
		res, body = call(t, a, jsonReq(http.MethodPost, path+"/solution", map[string]any{"post_id": replyID}, asker))
		if res.StatusCode != http.StatusOK || num(decode(t, body), "topic", "solved_post_id") != float64(replyID) {
			t.Fatalf("solution: %d %s", res.StatusCode, body)
		}

		res, body = call(t, a, jsonReq(http.MethodPatch, fmt.Sprintf("/api/v1/posts/%d", replyID), map[string]any{"body": "Raise the timeout in *Settings → Webhooks*.", "reason": "more precise"}, helper))
		if res.StatusCode != http.StatusOK || !strings.Contains(decode(t, body)["post"].(map[string]any)["html"].(string), "<em>Settings → Webhooks</em>") {
			t.Fatalf("edit: %d %s", res.StatusCode, body)
		}
		res, _ = call(t, a, jsonReq(http.MethodPatch, fmt.Sprintf("/api/v1/posts/%d", replyID), map[string]any{"body": "mine now"}, asker))
		if res.StatusCode != http.StatusForbidden {
			t.Errorf("edit by non-author: %d, want 403", res.StatusCode)
		}
		res, body = call(t, a, jsonReq(http.MethodGet, fmt.Sprintf("/api/v1/posts/%d/revisions", replyID), nil, helper))
		if res.StatusCode != http.StatusOK || num(decode(t, body), "total") != 2 || !strings.Contains(body, "more precise") {
			t.Errorf("revisions: %d %s, want 2 with the reason", res.StatusCode, body)
		}

		res, body = call(t, a, jsonReq(http.MethodGet, path, nil, ""))
		if res.StatusCode != http.StatusOK {
			t.Fatalf("get topic: %d %s", res.StatusCode, body)
		}
		got := decode(t, body)
		items := got["posts"].(map[string]any)["items"].([]any)
		if len(items) != 2 || num(got, "topic", "reply_count") != 1 {
			t.Fatalf("topic has %d posts, reply_count %v", len(items), num(got, "topic", "reply_count"))
		}
		reply := items[1].(map[string]any)
		if reply["body"] != "Raise the timeout in *Settings → Webhooks*." || reply["is_solution"] != true || reply["author"].(map[string]any)["username"] != "helper" {
			t.Errorf("reply = %v", reply)
		}
		if got["solution"] == nil {
			t.Error("topic has no solution block")
		}

		for _, c := range []struct {
			filter string
			want   int
		}{{"latest", 1}, {"unanswered", 0}, {"solved", 1}, {"top", 1}} {
			res, body := call(t, a, jsonReq(http.MethodGet, fmt.Sprintf("/api/v1/topics?filter=%s&category=%d", c.filter, catID), nil, ""))
			if res.StatusCode != http.StatusOK || int(num(decode(t, body), "total")) != c.want {
				t.Errorf("filter %s: %d %s, want total %d", c.filter, res.StatusCode, body, c.want)
			}
		}
		if res, _ := call(t, a, jsonReq(http.MethodGet, "/api/v1/topics?filter=bogus", nil, "")); res.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("bad filter: %d, want 422", res.StatusCode)
		}
		catchUp()
		res, body = call(t, a, jsonReq(http.MethodGet, "/api/v1/topics/similar?title=webhooks+timing+out", nil, ""))
		if res.StatusCode != http.StatusOK || !strings.Contains(body, "Webhook retries") {
			t.Errorf("similar: %d %s", res.StatusCode, body)
		}
		res, body = call(t, a, jsonReq(http.MethodGet, "/api/v1/categories", nil, ""))
		if !strings.Contains(body, `"topic_count":1`) || !strings.Contains(body, `"post_count":2`) {
			t.Errorf("categories: %s, want counters 1 topic 2 posts", body)
		}

		res, body = call(t, a, jsonReq(http.MethodPatch, fmt.Sprintf("/api/v1/admin/categories/%d", catID), map[string]any{"archived": true}, admin))
		if res.StatusCode != http.StatusOK {
			t.Fatalf("archive: %d %s", res.StatusCode, body)
		}
		res, body = call(t, a, jsonReq(http.MethodGet, "/api/v1/topics", nil, ""))
		if num(decode(t, body), "total") != 0 {
			t.Errorf("archived category's topics still listed: %s", body)
		}
		res, _ = call(t, a, jsonReq(http.MethodPost, "/api/v1/topics", map[string]any{"category_id": catID, "title": "A question for an archive", "body": "x"}, asker))
		if res.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("topic in archived category: %d, want 422", res.StatusCode)
		}

		for _, p := range []string{"/api/v1/topics/999999", "/api/v1/topics/abc", "/api/v1/topics/-1"} {
			if res, _ := call(t, a, jsonReq(http.MethodGet, p, nil, "")); res.StatusCode != http.StatusNotFound {
				t.Errorf("GET %s: %d, want 404", p, res.StatusCode)
			}
		}
	})
}
