package app_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/uptrace/bun"

	"agora/internal/testdb"
	"agora/models"
	"agora/moderation"
)

// TestPrivacyPage: /privacy says what is stored and for how long; admins
// replace its text (logged), nobody else may, and an empty text is refused
// with the form kept.
func TestPrivacyPage(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		a := newApp(t, db)
		admin := mustTPUser(t, db, "ada", models.RoleAdmin)
		member := mustTPUser(t, db, "mel", "")
		res, page := getPage(t, a, "/privacy")
		tpWantStatus(t, res, page, http.StatusOK)
		tpWantContains(t, page, "What we store and why", "90 days", "Do Not Track", `href="/privacy"`)
		if res, _ := member.post(t, a, "/admin/privacy", map[string]string{"body": "# Mine"}); res.StatusCode != http.StatusForbidden {
			t.Errorf("a member saving the privacy policy: %d, want 403", res.StatusCode)
		}
		res, page = admin.post(t, a, "/admin/privacy", map[string]string{"body": "   "})
		tpWantStatus(t, res, page, http.StatusUnprocessableEntity)
		tpWantContains(t, page, "write the privacy policy; it cannot be empty")
		res, _ = admin.post(t, a, "/admin/privacy", map[string]string{"body": "# Privacy at Acme\n\nWe keep **little**."})
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("save: %d", res.StatusCode)
		}
		_, page = getPage(t, a, "/privacy")
		tpWantContains(t, page, "<h1", "Privacy at Acme", "<strong>little</strong>")
		if n := rowCount(t, db, "moderation_actions"); n == 0 {
			t.Error("the edit was not logged")
		}
		var action string
		db.NewRaw("SELECT action FROM moderation_actions ORDER BY id DESC LIMIT 1").Scan(t.Context(), &action)
		if action != moderation.ActEditPrivacy {
			t.Errorf("logged %q, want %q", action, moderation.ActEditPrivacy)
		}
	})
}

// TestOnlyNecessaryCookies: across the pages guests and members use, the
// only cookies set are the session, the CSRF token and the sign-in state.
func TestOnlyNecessaryCookies(t *testing.T) {
	db := testdb.Open(t, "sqlite")
	a := newApp(t, db)
	allowed := map[string]bool{"agora_session": true, "agora_csrf": true, "agora_signin": true, "agora_signup": true}
	mem := mustTPUser(t, db, "cora", "")
	topic := mustTPTopic(t, db, mem, mustTPCategory(t, db, "Help", "help"), "Cookies on this forum", "Only the needed ones.")
	paths := []string{"/", "/c/help", fmt.Sprintf("/t/%d/%s", topic.ID, topic.Slug), "/search?q=cookies", "/login", "/register",
		"/guidelines", "/privacy", "/badges", "/password/forgot", "/u/cora", "/settings", "/notifications"}
	for _, who := range []*tpUser{nil, mem} {
		for _, p := range paths {
			res, _ := who.get(t, a, p)
			for _, c := range res.Cookies() {
				if !allowed[c.Name] {
					t.Errorf("GET %s sets cookie %q", p, c.Name)
				}
				if !c.HttpOnly {
					t.Errorf("GET %s sets cookie %q readable by scripts", p, c.Name)
				}
			}
			if csp := res.Header.Get("Content-Security-Policy"); csp != "" && strings.Contains(csp, "*") {
				t.Errorf("GET %s: the CSP allows any origin: %s", p, csp)
			}
		}
	}
}
