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

// TestCategoryFlagThreshold: an admin lowers a category's threshold and one
// flag then hides a post there; the dry run on /admin lists what a threshold
// would have hidden.
func TestCategoryFlagThreshold(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		a := newApp(t, db)
		admin, author, flagger := apiMember(t, a, "admin1"), apiMember(t, a, "author1"), apiMember(t, a, "flagger1")
		promote(t, db, "admin1", models.RoleAdmin)
		_, body := call(t, a, jsonReq(http.MethodPost, "/api/v1/admin/categories", map[string]any{"name": "Sensitive"}, admin))
		catID := int64(num(decode(t, body), "category", "id"))
		res, body := call(t, a, jsonReq(http.MethodPatch, fmt.Sprintf("/api/v1/admin/categories/%d", catID), map[string]any{"flag_threshold": 1}, admin))
		if res.StatusCode != http.StatusOK || num(decode(t, body), "category", "flag_threshold") != 1 {
			t.Fatalf("set threshold: %d %s", res.StatusCode, body)
		}
		if res, _ := call(t, a, jsonReq(http.MethodPatch, fmt.Sprintf("/api/v1/admin/categories/%d", catID), map[string]any{"flag_threshold": -3}, admin)); res.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("negative threshold: %d, want 422", res.StatusCode)
		}
		_, body = call(t, a, jsonReq(http.MethodPost, "/api/v1/topics", map[string]any{"category_id": catID, "title": "A post that one flag will hide", "body": "rude words"}, author))
		postID := int64(num(decode(t, body), "post", "id"))
		res, body = call(t, a, jsonReq(http.MethodPost, fmt.Sprintf("/api/v1/posts/%d/flags", postID), map[string]any{"reason": "vulgar"}, flagger))
		if res.StatusCode != http.StatusCreated || decode(t, body)["post_hidden"] != true {
			t.Fatalf("flag at threshold 1: %d %s, want the post hidden", res.StatusCode, body)
		}

		req := bearerGet("/admin?dry_run=1", admin)
		res, page := call(t, a, req)
		if res.StatusCode != http.StatusOK || !strings.Contains(page, "1 post</strong> of the last 30 days") || !strings.Contains(page, "A post that one flag will hide") {
			t.Errorf("dry run at 1: %d, page lacks the post", res.StatusCode)
		}
		_, page = call(t, a, bearerGet("/admin?dry_run=50", admin))
		if !strings.Contains(page, "0 posts</strong> of the last 30 days") {
			t.Error("dry run at 50 should hide nothing")
		}
	})
}

// bearerGet is a GET with a bearer token, as scripts call pages.
func bearerGet(path, token string) *http.Request {
	return jsonReq(http.MethodGet, path, nil, token)
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
