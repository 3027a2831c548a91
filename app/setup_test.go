package app_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/uptrace/bun"

	"agora/app"
	"agora/internal/testdb"
	"agora/models"
)

const setupToken = "setup-token-0123456789abcdefghijklmnopqrstu"

func TestSetupClosed(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		withToken := newApp(t, db, func(d *app.Deps) { d.SetupToken = setupToken })
		without := newApp(t, db)
		tests := []struct {
			name string
			app  string
			path string
		}{
			{"no token", "with", "/setup"},
			{"empty token", "with", "/setup?token="},
			{"wrong token", "with", "/setup?token=wrong"},
			{"token prefix", "with", "/setup?token=" + setupToken[:20]},
			{"token with suffix", "with", "/setup?token=" + setupToken + "x"},
			{"setup disabled, no token", "without", "/setup"},
			{"setup disabled, empty token", "without", "/setup?token="},
			{"setup disabled, some token", "without", "/setup?token=" + setupToken},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				a := withToken
				if tt.app == "without" {
					a = without
				}
				res, body := getPage(t, a, tt.path)
				if res.StatusCode != http.StatusNotFound {
					t.Fatalf("GET %s = %d, want 404", tt.path, res.StatusCode)
				}
				if !strings.Contains(body, "Page not found") {
					t.Error("404 for /setup is not the normal not-found page")
				}
			})
		}
		// A POST with a wrong token is refused the same way, and creates nothing.
		ck, csrf := anonCSRF(t, withToken, "/login")
		res, _ := call(t, withToken, formReq("/setup", map[string]string{
			"_csrf": csrf, "token": "wrong", "community": "Evil", "username": "evil", "email": "evil@example.com", "password": memberPassword,
		}, ck))
		if res.StatusCode != http.StatusNotFound {
			t.Errorf("POST /setup with a wrong token = %d, want 404", res.StatusCode)
		}
		if n := rowCount(t, db, "users"); n != 0 {
			t.Errorf("users = %d, want 0", n)
		}
	})
}

func TestSetupFlow(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		a := newApp(t, db, func(d *app.Deps) { d.SetupToken = setupToken })

		res, page := getPage(t, a, "/setup?token="+setupToken)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET /setup with the token = %d, want 200", res.StatusCode)
		}
		for _, want := range []string{"Set up your community", `name="community"`, `name="username"`, `name="token" value="` + setupToken + `"`} {
			if !strings.Contains(page, want) {
				t.Errorf("setup form lacks %q", want)
			}
		}
		if cc := res.Header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
			t.Errorf("setup page Cache-Control = %q, want no-store (it carries a secret)", cc)
		}
		ck := cookieNamed(res, "agora_csrf")
		csrf := csrfFromPage(t, page)

		// Bad fields: 422, the form comes back with what was typed.
		res, page = call(t, a, formReq("/setup", map[string]string{
			"_csrf": csrf, "token": setupToken, "community": "X", "username": "the-admin", "email": "not-an-email", "password": "short",
		}, ck))
		if res.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("POST /setup with bad fields = %d, want 422", res.StatusCode)
		}
		for _, want := range []string{
			`value="X"`, `value="the-admin"`, `value="not-an-email"`, `name="token" value="` + setupToken + `"`,
			"give the community a name of 2 to 80 characters", "use at least 10 characters", "enter a valid email address",
		} {
			if !strings.Contains(page, want) {
				t.Errorf("setup error page lacks %q", want)
			}
		}
		if ok, _ := models.AdminExists(ctx, db); ok {
			t.Fatal("an admin exists after a refused setup")
		}

		// Valid: the admin, the community name and a session.
		res, _ = call(t, a, formReq("/setup", map[string]string{
			"_csrf": csrf, "token": setupToken, "community": "  Acme Help Center ", "username": "the-admin",
			"email": "admin@example.com", "password": memberPassword,
		}, ck))
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/" {
			t.Fatalf("POST /setup = %d to %q, want 303 to /", res.StatusCode, res.Header.Get("Location"))
		}
		session := cookieNamed(res, "agora_session")
		if session == nil || session.Value == "" {
			t.Fatal("setup did not sign the admin in")
		}
		u, err := models.UserByUsername(ctx, db, "the-admin")
		if err != nil {
			t.Fatalf("admin not created: %v", err)
		}
		if u.Role != models.RoleAdmin {
			t.Errorf("role = %q, want admin", u.Role)
		}
		if name, _ := models.GetSetting(ctx, db, models.SettingCommunityName, ""); name != "Acme Help Center" {
			t.Errorf("stored community name = %q, want Acme Help Center", name)
		}

		_, home := getPage(t, a, "/", session)
		if !strings.Contains(home, "<title>Acme Help Center</title>") || !strings.Contains(home, "<span>Acme Help Center</span>") {
			t.Error("home page does not show the new community name")
		}
		if !strings.Contains(home, `<span class="user-name">the-admin</span>`) || !strings.Contains(home, `<span class="role-badge">admin</span>`) {
			t.Error("home page does not show the admin signed in")
		}
		_, anon := getPage(t, a, "/")
		if !strings.Contains(anon, "Welcome to Acme Help Center") {
			t.Error("anonymous home page does not show the new community name")
		}

		// The page works once.
		res, _ = getPage(t, a, "/setup?token="+setupToken)
		if res.StatusCode != http.StatusNotFound {
			t.Errorf("GET /setup after setup = %d, want 404", res.StatusCode)
		}
		res, _ = call(t, a, formReq("/setup", map[string]string{
			"_csrf": csrf, "token": setupToken, "community": "Take Over", "username": "second-admin",
			"email": "second@example.com", "password": memberPassword,
		}, ck))
		if res.StatusCode != http.StatusNotFound {
			t.Errorf("second POST /setup = %d, want 404", res.StatusCode)
		}
		if second, err := models.UserByUsername(ctx, db, "second-admin"); err == nil && second.ID != 0 {
			t.Error("a second admin was created through /setup")
		}
	})
}
