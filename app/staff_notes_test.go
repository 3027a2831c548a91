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

// TestStaffNotes: moderators keep notes on a member that only staff see, and
// the member dossier lists them with the member's flags and history.
func TestStaffNotes(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		a := newApp(t, db)
		mod, member := apiMember(t, a, "mod1"), apiMember(t, a, "member1")
		promote(t, db, "mod1", models.RoleModerator)
		var target models.User
		if err := db.NewSelect().Model(&target).Where("username = 'member1'").Scan(t.Context()); err != nil {
			t.Fatal(err)
		}
		notes := fmt.Sprintf("/api/v1/mod/users/%d/notes", target.ID)
		if res, _ := call(t, a, jsonReq(http.MethodPost, notes, map[string]any{"body": "sneaky"}, member)); res.StatusCode != http.StatusForbidden {
			t.Errorf("member adding a note: %d, want 403", res.StatusCode)
		}
		if res, _ := call(t, a, jsonReq(http.MethodPost, notes, map[string]any{"body": "  "}, mod)); res.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("empty note: %d, want 422", res.StatusCode)
		}
		res, body := call(t, a, jsonReq(http.MethodPost, notes, map[string]any{"body": "Warned privately about tone on Nov 20."}, mod))
		if res.StatusCode != http.StatusCreated {
			t.Fatalf("add note: %d %s", res.StatusCode, body)
		}
		res, body = call(t, a, jsonReq(http.MethodGet, fmt.Sprintf("/api/v1/mod/users/%d", target.ID), nil, mod))
		if res.StatusCode != http.StatusOK || !strings.Contains(body, "Warned privately") || !strings.Contains(body, `"flags_given":0`) {
			t.Errorf("dossier: %d %s", res.StatusCode, body)
		}
		res, page := call(t, a, jsonReq(http.MethodGet, "/u/member1", nil, mod))
		if res.StatusCode != http.StatusOK || !strings.Contains(page, "Warned privately") || !strings.Contains(page, "Staff notes") {
			t.Errorf("profile for staff lacks the note (%d)", res.StatusCode)
		}
		_, page = call(t, a, jsonReq(http.MethodGet, "/u/member1", nil, member))
		if strings.Contains(page, "Warned privately") || strings.Contains(page, "Staff notes") {
			t.Error("the member sees staff notes on their own profile")
		}
	})
}
