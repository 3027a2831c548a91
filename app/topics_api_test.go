package app_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/uptrace/bun"

	"agora/internal/testdb"
	"agora/models"
)

// apiMember registers a member through the API and returns their bearer token.
func apiMember(t *testing.T, a *fiber.App, name string) string {
	t.Helper()
	res, body := call(t, a, jsonReq(http.MethodPost, "/api/v1/auth/register", map[string]any{
		"username": name, "email": name + "@example.com", "password": "a long password", "age_confirmed": true}, ""))
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("register %s: %d %s", name, res.StatusCode, body)
	}
	return decode(t, body)["token"].(string)
}

// promote sets a role directly in the database.
func promote(t *testing.T, db *bun.DB, name, role string) {
	t.Helper()
	if _, err := db.NewUpdate().Model((*models.User)(nil)).Set("role = ?", role).Where("username = ?", name).Exec(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func num(m map[string]any, path ...string) float64 {
	var v any = m
	for _, p := range path {
		v = v.(map[string]any)[p]
	}
	f, _ := v.(float64)
	return f
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

func TestLockedTopicRefusesReplies(t *testing.T) {
	db := testdb.Open(t, "sqlite")
	a := newApp(t, db)
	admin, member := apiMember(t, a, "admin1"), apiMember(t, a, "member1")
	promote(t, db, "admin1", models.RoleAdmin)
	_, body := call(t, a, jsonReq(http.MethodPost, "/api/v1/admin/categories", map[string]any{"name": "General"}, admin))
	catID := num(decode(t, body), "category", "id")
	_, body = call(t, a, jsonReq(http.MethodPost, "/api/v1/topics", map[string]any{"category_id": catID, "title": "A topic that will be locked", "body": "x"}, admin))
	topicID := int64(num(decode(t, body), "topic", "id"))
	db.NewUpdate().Model((*models.Topic)(nil)).Set("locked = ?", true).Where("id = ?", topicID).Exec(context.Background())
	res, body := call(t, a, jsonReq(http.MethodPost, fmt.Sprintf("/api/v1/topics/%d/posts", topicID), map[string]any{"body": "hello"}, member))
	if res.StatusCode != http.StatusForbidden || !strings.Contains(body, "locked") {
		t.Errorf("reply to locked topic: %d %s, want 403 mentioning locked", res.StatusCode, body)
	}
}
