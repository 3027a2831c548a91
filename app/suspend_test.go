package app_test

import (
	"fmt"
	"net/http"
	"testing"

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
