package app_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/uptrace/bun"

	"agora/internal/testdb"
	"agora/models"
)

// TestNotifications: a reply notifies the topic's author, who sees it in the
// API and on /notifications and can mark everything read.
func TestNotifications(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		a := newApp(t, db)
		admin, asker, helper := apiMember(t, a, "admin1"), apiMember(t, a, "asker"), apiMember(t, a, "helper")
		promote(t, db, "admin1", models.RoleAdmin)
		_, body := call(t, a, jsonReq(http.MethodPost, "/api/v1/admin/categories", map[string]any{"name": "Help"}, admin))
		catID := num(decode(t, body), "category", "id")
		_, body = call(t, a, jsonReq(http.MethodPost, "/api/v1/topics", map[string]any{"category_id": catID, "title": "Where is the billing page?", "body": "?"}, asker))
		topicID := int64(num(decode(t, body), "topic", "id"))
		call(t, a, jsonReq(http.MethodPost, fmt.Sprintf("/api/v1/topics/%d/posts", topicID), map[string]any{"body": "Settings → Billing"}, helper))

		// Two unread: the reply and the badge for a first topic.
		res, body := call(t, a, jsonReq(http.MethodGet, "/api/v1/notifications", nil, asker))
		if res.StatusCode != http.StatusOK || num(decode(t, body), "unread") != 2 || !strings.Contains(body, "helper replied") ||
			!strings.Contains(body, "You earned the bronze badge Curious") {
			t.Fatalf("notifications: %d %s, want an unread reply and badge", res.StatusCode, body)
		}
		res, page := call(t, a, jsonReq(http.MethodGet, "/notifications", nil, asker))
		if res.StatusCode != http.StatusOK || !strings.Contains(page, "helper replied in Where is the billing page?") || !strings.Contains(page, "Mark all as read") {
			t.Errorf("notifications page: %d, missing the reply", res.StatusCode)
		}
		if res, _ := call(t, a, jsonReq(http.MethodPost, "/api/v1/notifications/read", nil, asker)); res.StatusCode != http.StatusNoContent {
			t.Errorf("mark read: %d, want 204", res.StatusCode)
		}
		_, body = call(t, a, jsonReq(http.MethodGet, "/api/v1/notifications", nil, asker))
		if num(decode(t, body), "unread") != 0 {
			t.Errorf("after marking read: %s", body)
		}
		if res, _ := call(t, a, jsonReq(http.MethodGet, "/notifications", nil, "")); res.StatusCode != http.StatusSeeOther {
			t.Errorf("guest on /notifications: %d, want a redirect to sign in", res.StatusCode)
		}
	})
}

// TestGuestPagesMintNoCSRFCookie: pages a guest cannot post from do not set
// the double-submit cookie; the sign-in page does, and its form then works.
func TestGuestPagesMintNoCSRFCookie(t *testing.T) {
	a := newApp(t, testdb.Open(t, "sqlite"))
	for _, path := range []string{"/", "/?filter=solved"} {
		res, _ := call(t, a, jsonReq(http.MethodGet, path, nil, ""))
		if c := cookieNamed(res, "agora_csrf"); c != nil {
			t.Errorf("GET %s set a CSRF cookie for a guest", path)
		}
	}
	res, page := call(t, a, jsonReq(http.MethodGet, "/login", nil, ""))
	c := cookieNamed(res, "agora_csrf")
	if c == nil || !strings.Contains(page, `name="_csrf" value="`+c.Value+`"`) {
		t.Fatalf("login page: cookie %v, form does not carry it", c)
	}
	res, _ = call(t, a, formReq("/login", map[string]string{"_csrf": c.Value, "login": "nobody", "password": "wrong password"}, c))
	if res.StatusCode != http.StatusUnauthorized {
		t.Errorf("login with the page's token: %d, want 401 (checked, not refused as forged)", res.StatusCode)
	}
}
