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

func TestModerationAPISuspensionRules(t *testing.T) {
	db := testdb.Open(t, "sqlite")
	w := newRoleWorld(t, db)
	cases := []struct {
		name   string
		by     string
		target *models.User
		status int
		code   string
	}{
		{"moderator suspends an admin", "moderator", w.user["admin"], http.StatusForbidden, "protected_user"},
		{"moderator suspends a moderator", "moderator", w.mod2, http.StatusForbidden, "protected_user"},
		{"moderator suspends themself", "moderator", w.user["moderator"], http.StatusForbidden, "self"},
		{"admin suspends a moderator", "admin", w.mod2, http.StatusOK, ""},
		{"moderator suspends a member", "moderator", w.user["member"], http.StatusOK, ""},
		{"unknown member", "moderator", &models.User{ID: 999999}, http.StatusNotFound, "not_found"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, body := call(t, w.a, jsonReq(http.MethodPost, fmt.Sprintf("/api/v1/mod/users/%d/suspend", c.target.ID),
				map[string]any{"days": 2, "reason": "harassment", "notify": false}, w.token[c.by]))
			if res.StatusCode != c.status {
				t.Fatalf("status %d %s, want %d", res.StatusCode, body, c.status)
			}
			if c.code != "" {
				if code, _ := apiErr(t, body); code != c.code {
					t.Errorf("code = %q, want %q", code, c.code)
				}
				return
			}
			if u := decode(t, body)["user"].(map[string]any); u["suspended_until"] == nil {
				t.Errorf("suspended user = %v, want suspended_until", u)
			}
		})
	}
	t.Run("indefinite when no days", func(t *testing.T) {
		target := w.account(t, "forever", models.RoleMember)
		res, body := call(t, w.a, jsonReq(http.MethodPost, fmt.Sprintf("/api/v1/mod/users/%d/suspend", target.ID),
			map[string]any{"reason": "malware"}, w.token["moderator"]))
		if res.StatusCode != http.StatusOK {
			t.Fatalf("status %d %s", res.StatusCode, body)
		}
		got := w.byName(t, "forever")
		if got.SuspendedUntil == nil || !got.SuspendedUntil.Equal(models.IndefiniteSuspension) {
			t.Errorf("suspended_until = %v, want %v", got.SuspendedUntil, models.IndefiniteSuspension)
		}
	})
	t.Run("unsuspend a member who is not suspended", func(t *testing.T) {
		res, body := call(t, w.a, jsonReq(http.MethodPost, fmt.Sprintf("/api/v1/mod/users/%d/unsuspend", w.user["author"].ID),
			map[string]any{"reason": "x"}, w.token["moderator"]))
		if res.StatusCode != http.StatusConflict {
			t.Errorf("status %d %s, want 409", res.StatusCode, body)
		}
	})
}

// TestSuspendedProfileStays: what others see of a suspended member (display
// name, bio, avatar colour, username) is theirs to change again only when
// the suspension ends; /settings says so instead of showing the forms, and
// their private settings still answer.
func TestSuspendedProfileStays(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		w := newRoleWorld(t, db)
		sam := w.caller["suspended"]
		res, body := call(t, w.a, jsonReq(http.MethodPatch, "/api/v1/me", map[string]any{"bio": "buy cheap watches"}, sam.token))
		wantAPIError(t, res, body, http.StatusForbidden, "account_suspended", "")
		res, body = call(t, w.a, jsonReq(http.MethodPut, "/api/v1/me/username", map[string]any{"username": "cheap_watches"}, sam.token))
		wantAPIError(t, res, body, http.StatusForbidden, "account_suspended", "")
		res, body = call(t, w.a, formReq("/settings/profile", map[string]string{"_csrf": sam.csrf, "display_name": "Cheap Watches",
			"bio": "buy cheap watches"}, sam.cookie))
		tpWantStatus(t, res, body, http.StatusForbidden)
		tpWantContains(t, body, `id="profile-suspended"`)
		if u := w.byName(t, sam.user.Username); u.Bio != "" || u.DisplayName != "" {
			t.Errorf("suspended member's profile changed: %q, %q", u.DisplayName, u.Bio)
		}
		res, body = getPage(t, w.a, "/settings", sam.cookie)
		tpWantStatus(t, res, body, http.StatusOK)
		tpWantContains(t, body, `id="profile-suspended"`, `id="password-form"`, `id="email-preferences"`)
		if strings.Contains(body, `id="profile-form"`) || strings.Contains(body, `id="username-form"`) {
			t.Error("/settings shows a suspended member the profile forms")
		}
		res, body = getPage(t, w.a, "/settings", w.caller["member"].cookie)
		tpWantContains(t, body, `id="profile-form"`, `id="username-form"`)
		if strings.Contains(body, `id="profile-suspended"`) {
			t.Error("/settings tells a member in good standing they are suspended")
		}
	})
}
