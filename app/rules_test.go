package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/uptrace/bun"

	"agora/app"
	"agora/internal/testdb"
	"agora/models"
	"agora/moderation"
	"agora/policy"
)

// Each rule here once had two copies that disagreed, or no service at all.
// Now it has one definition (policy/ and the domain services) and is asked
// through the page and through the API, which must give the same answer.

// api sends a JSON request as u, authenticated by the browser session with
// its CSRF header, the way app.js does.
func (u *tpUser) api(tb testing.TB, a *fiber.App, method, path string, body any) (*http.Response, string) {
	tb.Helper()
	b, _ := json.Marshal(body)
	req := httptest.NewRequest(method, path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", u.csrf)
	req.AddCookie(u.cookie)
	return call(tb, a, req)
}

// wantAPIError fails unless the API answered status with code (and, when
// field is set, a message for that field).
func wantAPIError(tb testing.TB, res *http.Response, body string, status int, code, field string) {
	tb.Helper()
	if res.StatusCode != status {
		tb.Fatalf("status = %d, want %d; body %s", res.StatusCode, status, body)
	}
	got, fields := apiErr(tb, body)
	if got != code {
		tb.Errorf("error.code = %q, want %q", got, code)
	}
	if field != "" && fields[field] == nil {
		tb.Errorf("error.fields lacks %q: %s", field, body)
	}
}

func TestOneRuleBothTransports(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		a := newApp(t, db)
		mod := mustTPUser(t, db, "mia", "moderator")
		admin := mustTPUser(t, db, "ada", "admin")
		alice := mustTPUser(t, db, "alice", "member")
		bob := mustTPUser(t, db, "bob", "member")
		cat := mustTPCategory(t, db, "Billing", "billing")
		ms := moderation.New(db, nil)
		user := func(u *tpUser) *models.User {
			t.Helper()
			got, err := models.UserByID(ctx, db, u.ID)
			if err != nil {
				t.Fatal(err)
			}
			return got
		}
		logged := func(action string) int {
			t.Helper()
			n, err := db.NewSelect().Model((*models.ModAction)(nil)).Where("action = ?", action).Count(ctx)
			if err != nil {
				t.Fatal(err)
			}
			return int(n)
		}

		t.Run("unsuspending needs a reason", func(t *testing.T) {
			if err := errOf(ms.Suspend(ctx, mod.User, bob.ID, 3, time.Time{}, why("spam"), false)); err != nil {
				t.Fatal(err)
			}
			path := fmt.Sprintf("/mod/users/%d/unsuspend", bob.ID)
			res, body := mod.post(t, a, path, map[string]string{"reason": "  "})
			tpWantStatus(t, res, body, http.StatusUnprocessableEntity)
			tpWantContains(t, body, "say why the suspension ends early")
			res, body = mod.api(t, a, http.MethodPost, "/api/v1"+path, map[string]any{})
			wantAPIError(t, res, body, http.StatusUnprocessableEntity, "validation_failed", "reason")
			if user(bob).Suspension(time.Now()) == nil {
				t.Fatal("a refused unsuspension lifted the suspension")
			}
			res, body = mod.api(t, a, http.MethodPost, "/api/v1"+path, map[string]any{"reason": "appeal accepted"})
			tpWantStatus(t, res, body, http.StatusOK)
			if user(bob).Suspension(time.Now()) != nil {
				t.Fatal("the API did not lift the suspension")
			}
			if err := errOf(ms.Suspend(ctx, mod.User, bob.ID, 3, time.Time{}, why("spam"), false)); err != nil {
				t.Fatal(err)
			}
			res, body = mod.post(t, a, path, map[string]string{"reason": "appeal accepted"})
			tpWantStatus(t, res, body, http.StatusSeeOther)
			if user(bob).Suspension(time.Now()) != nil {
				t.Fatal("the form did not lift the suspension")
			}
		})

		t.Run("no flags in a removed topic", func(t *testing.T) {
			tp := mustTPTopic(t, db, alice, cat, "Invoices show the wrong tax rate", "Since Monday every invoice says 0%.")
			reply := mustModReply(t, db, alice, tp.ID, "Same here, on every plan.")
			first, err := models.TopicPosts(ctx, db, tp.ID, 1, 1)
			if err != nil {
				t.Fatal(err)
			}
			if err := errOf(ms.RemovePost(ctx, mod.User, first[0].ID, why("spam"))); err != nil {
				t.Fatal(err)
			}
			id := strconv.FormatInt(reply.ID, 10)
			res, body := bob.get(t, a, "/p/"+id+"/flag")
			tpWantStatus(t, res, body, http.StatusNotFound)
			res, body = bob.post(t, a, "/p/"+id+"/flag", map[string]string{"reason": "spam"})
			tpWantStatus(t, res, body, http.StatusNotFound)
			res, body = bob.api(t, a, http.MethodPost, "/api/v1/posts/"+id+"/flags", map[string]any{"reason": "spam"})
			wantAPIError(t, res, body, http.StatusNotFound, "not_found", "")
			if n := rowCount(t, db, "flags"); n != 0 {
				t.Errorf("flags = %d, want 0", n)
			}
		})

		t.Run("the last admin keeps the role", func(t *testing.T) {
			page := fmt.Sprintf("/admin/users/%d/role", admin.ID)
			res, body := admin.post(t, a, page, map[string]string{"role": models.RoleMember})
			tpWantStatus(t, res, body, http.StatusConflict)
			tpWantContains(t, body, "this is the last admin; make someone else an admin first")
			res, body = admin.api(t, a, http.MethodPost, "/api/v1"+page, map[string]any{"role": "member"})
			wantAPIError(t, res, body, http.StatusConflict, "conflict", "role")
			if user(admin).Role != models.RoleAdmin {
				t.Fatal("the last admin was demoted")
			}
			before := logged(moderation.ActChangeRole)
			res, body = admin.post(t, a, fmt.Sprintf("/admin/users/%d/role", alice.ID), map[string]string{"role": models.RoleModerator})
			tpWantStatus(t, res, body, http.StatusSeeOther)
			res, body = admin.api(t, a, http.MethodPost, fmt.Sprintf("/api/v1/admin/users/%d/role", bob.ID), map[string]any{"role": "admin"})
			tpWantStatus(t, res, body, http.StatusOK)
			if user(alice).Role != models.RoleModerator || user(bob).Role != models.RoleAdmin {
				t.Fatalf("roles = %s, %s; want moderator, admin", user(alice).Role, user(bob).Role)
			}
			if got := logged(moderation.ActChangeRole); got != before+2 {
				t.Errorf("change_role entries = %d, want %d", got, before+2)
			}
			res, body = mod.api(t, a, http.MethodPost, fmt.Sprintf("/api/v1/admin/users/%d/role", mod.ID), map[string]any{"role": "admin"})
			wantAPIError(t, res, body, http.StatusForbidden, "forbidden", "")
			res, body = admin.api(t, a, http.MethodPost, "/api/v1"+page, map[string]any{"role": "member"})
			tpWantStatus(t, res, body, http.StatusOK) // bob is an admin now
			if err := errOf(ms.SetRole(ctx, user(bob), bob.ID, models.RoleMember)); !errors.Is(err, policy.ErrLastAdmin) {
				t.Errorf("demoting the last admin (bob) = %v, want the last-admin conflict", err)
			}
		})

		t.Run("guideline edits are logged", func(t *testing.T) {
			before := logged(moderation.ActEditGuidelines)
			res, body := bob.post(t, a, "/admin/guidelines", map[string]string{"body": "# Guidelines\n\nBe **kind**."})
			tpWantStatus(t, res, body, http.StatusSeeOther) // bob is the admin now
			res, body = bob.api(t, a, http.MethodPut, "/api/v1/admin/guidelines", map[string]any{"body": "# Guidelines\n\nBe *brief*."})
			tpWantStatus(t, res, body, http.StatusOK)
			if h, _ := decode(t, body)["html"].(string); !strings.Contains(h, "<em>brief</em>") {
				t.Errorf("html = %q, want the new rendering", h)
			}
			res, body = mod.api(t, a, http.MethodPut, "/api/v1/admin/guidelines", map[string]any{"body": "mine now"})
			wantAPIError(t, res, body, http.StatusForbidden, "forbidden", "")
			if got := logged(moderation.ActEditGuidelines); got != before+2 {
				t.Errorf("edit_guidelines entries = %d, want %d", got, before+2)
			}
			_, body = (*tpUser)(nil).get(t, a, "/guidelines")
			tpWantContains(t, body, "<em>brief</em>")
		})

		carol := mustTPUser(t, db, "carol", "member")
		dave := mustTPUser(t, db, "dave", "member")

		t.Run("a suspended author may not solve", func(t *testing.T) {
			alice := carol // alice and bob are staff by now
			tp := mustTPTopic(t, db, alice, cat, "How do I export my invoices?", "Looking for a CSV of last year.")
			answer := mustModReply(t, db, dave, tp.ID, "Billing → History → Export.")
			if err := errOf(ms.Suspend(ctx, user(bob), alice.ID, 1, time.Time{}, why("spam"), false)); err != nil {
				t.Fatal(err)
			}
			_, body := alice.get(t, a, fmt.Sprintf("/t/%d/%s", tp.ID, tp.Slug))
			if strings.Contains(body, fmt.Sprintf(`action="/t/%d/solution"`, tp.ID)) {
				t.Error("the suspended author is offered the best-answer form")
			}
			res, body := alice.post(t, a, fmt.Sprintf("/t/%d/solution", tp.ID), map[string]string{"post_id": strconv.FormatInt(answer.ID, 10)})
			tpWantStatus(t, res, body, http.StatusForbidden)
			res, body = alice.api(t, a, http.MethodPost, fmt.Sprintf("/api/v1/topics/%d/solution", tp.ID), map[string]any{"post_id": answer.ID})
			wantAPIError(t, res, body, http.StatusForbidden, "account_suspended", "")
		})

		t.Run("a hidden post is not quoted", func(t *testing.T) {
			bob := dave // a member, quoting their own post hidden pending review
			tp := mustTPTopic(t, db, mod, cat, "Which plan includes SSO?", "Asking for our security team.")
			hidden := mustModReply(t, db, bob, tp.ID, "SECRET-QUOTE-TEXT is only on Enterprise.")
			if _, err := db.NewUpdate().Model((*models.Post)(nil)).Set("hidden_at = ?", time.Now().UTC()).
				Where("id = ?", hidden.ID).Exec(ctx); err != nil {
				t.Fatal(err)
			}
			_, body := bob.get(t, a, fmt.Sprintf("/t/%d/%s?quote=%d", tp.ID, tp.Slug, hidden.ID))
			if strings.Contains(body, "@dave wrote:") || strings.Contains(body, fmt.Sprintf(`name="reply_to_post_id" value="%d"`, hidden.ID)) {
				t.Error("the reply form quotes a post hidden pending review")
			}
			res, body := bob.api(t, a, http.MethodPost, fmt.Sprintf("/api/v1/topics/%d/posts", tp.ID),
				map[string]any{"body": "As I said.", "reply_to_post_id": hidden.ID})
			wantAPIError(t, res, body, http.StatusUnprocessableEntity, "validation_failed", "reply_to_post_id")
			res, body = bob.post(t, a, fmt.Sprintf("/t/%d/reply", tp.ID), map[string]string{"body": "As I said.",
				"reply_to_post_id": strconv.FormatInt(hidden.ID, 10)})
			tpWantStatus(t, res, body, http.StatusUnprocessableEntity)
			tpWantContains(t, body, "that post is no longer visible", "As I said.")
		})
	})
}

// TestSetupOnlyOnce: setup submissions racing each other create exactly one admin.
func TestSetupOnlyOnce(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		a := newApp(t, db, func(d *app.Deps) { d.SetupToken = setupToken })
		ck, csrf := anonCSRF(t, a, "/setup?token="+setupToken)
		const racers = 6
		statuses := make([]int, racers)
		var wg sync.WaitGroup
		for i := range racers {
			wg.Go(func() {
				res, err := a.Test(formReq("/setup", map[string]string{"_csrf": csrf, "token": setupToken,
					"community": "Racers", "username": fmt.Sprintf("admin%d", i), "email": fmt.Sprintf("admin%d@example.com", i),
					"password": memberPassword}, ck), -1)
				if err != nil {
					t.Error(err)
					return
				}
				res.Body.Close()
				statuses[i] = res.StatusCode
			})
		}
		wg.Wait()
		won := 0
		for _, s := range statuses {
			switch s {
			case http.StatusSeeOther:
				won++
			case http.StatusConflict, http.StatusNotFound: // lost the race, or came after the winner committed
			default:
				t.Errorf("a setup answered %d", s)
			}
		}
		admins, err := db.NewSelect().Model((*models.User)(nil)).Where("role = ?", models.RoleAdmin).Count(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if won != 1 || admins != 1 || rowCount(t, db, "users") != 1 {
			t.Fatalf("statuses %v, %d admins, %d users; want one setup to win and one admin", statuses, admins, rowCount(t, db, "users"))
		}
		if n, _ := db.NewSelect().Model((*models.ModAction)(nil)).Where("action = ?", moderation.ActSetup).Count(context.Background()); n != 1 {
			t.Errorf("setup log entries = %d, want 1", n)
		}
	})
}
