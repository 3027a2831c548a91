package app_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/uptrace/bun"

	"agora/accounts"
	"agora/app"
	"agora/internal/testdb"
)

func TestSessionCookieSecureOnHTTPS(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		a := newApp(t, db, func(d *app.Deps) { d.Config.BaseURL = "https://forum.example" })
		mustAPIRegister(t, a, "carol", "carol@example.com")
		res, body := call(t, a, jsonReq(http.MethodPost, "/api/v1/auth/login",
			map[string]string{"login": "carol", "password": memberPassword}, ""))
		if res.StatusCode != http.StatusOK {
			t.Fatalf("login status = %d; body %s", res.StatusCode, body)
		}
		ck := cookieNamed(res, "agora_session")
		if ck == nil || !ck.Secure || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode {
			t.Errorf("session cookie over https = %+v, want Secure, HttpOnly, SameSite=Lax", ck)
		}
		res, _ = getPage(t, a, "/login")
		if ck := cookieNamed(res, "agora_csrf"); ck == nil || !ck.Secure || !ck.HttpOnly {
			t.Errorf("anonymous CSRF cookie over https = %+v, want Secure and HttpOnly", ck)
		}
	})
}

func TestAPILogoutBearer(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		a := newApp(t, db)
		token := mustAPIRegister(t, a, "frank", "frank@example.com")
		ck, other := mustAPILogin(t, a, "frank")

		// No CSRF token: bearer requests carry no ambient credentials.
		res, body := call(t, a, jsonReq(http.MethodPost, "/api/v1/auth/logout", nil, token))
		if res.StatusCode != http.StatusNoContent {
			t.Fatalf("logout status = %d, want 204; body %s", res.StatusCode, body)
		}
		if body != "" {
			t.Errorf("204 has a body: %q", body)
		}
		res, body = call(t, a, jsonReq(http.MethodGet, "/api/v1/me", nil, token))
		if res.StatusCode != http.StatusUnauthorized {
			t.Errorf("GET /me with the revoked token = %d, want 401; body %s", res.StatusCode, body)
		}
		res, body = call(t, a, jsonReq(http.MethodPost, "/api/v1/auth/logout", nil, token))
		if res.StatusCode != http.StatusUnauthorized {
			t.Errorf("second logout with the revoked token = %d, want 401; body %s", res.StatusCode, body)
		}
		// Only that token ended: the member's other token and session still work.
		if res, _ := call(t, a, jsonReq(http.MethodGet, "/api/v1/me", nil, other)); res.StatusCode != http.StatusOK {
			t.Errorf("another token after logout = %d, want 200", res.StatusCode)
		}
		if res, _ := call(t, a, withCookies(jsonReq(http.MethodGet, "/api/v1/me", nil, ""), ck)); res.StatusCode != http.StatusOK {
			t.Errorf("the session after a token logout = %d, want 200", res.StatusCode)
		}
		if res, _ := call(t, a, jsonReq(http.MethodPost, "/api/v1/auth/logout", map[string]any{}, "")); res.StatusCode != http.StatusUnauthorized {
			t.Errorf("anonymous logout = %d, want 401", res.StatusCode)
		}
	})
}

func TestAPILogoutCookie(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		a := newApp(t, db)
		mustAPIRegister(t, a, "gina", "gina@example.com")
		ck, _ := mustAPILogin(t, a, "gina")

		// The CSRF token as the page gives it to scripts.
		_, page := getPage(t, a, "/", ck)
		csrf := csrfFromPage(t, page)
		if want := sessionCSRFToken(t, db, ck); csrf != want {
			t.Errorf("page _csrf = %q, want the session's token %q", csrf, want)
		}

		req := withCookies(jsonReq(http.MethodPost, "/api/v1/auth/logout", nil, ""), ck)
		req.Header.Set("X-CSRF-Token", csrf)
		res, body := call(t, a, req)
		if res.StatusCode != http.StatusNoContent {
			t.Fatalf("logout status = %d, want 204; body %s", res.StatusCode, body)
		}
		cleared := cookieNamed(res, "agora_session")
		if !cookieCleared(cleared) {
			t.Errorf("logout Set-Cookie = %+v, want agora_session cleared", cleared)
		}
		res, _ = call(t, a, withCookies(jsonReq(http.MethodGet, "/api/v1/me", nil, ""), ck))
		if res.StatusCode != http.StatusUnauthorized {
			t.Errorf("GET /me with the signed-out cookie = %d, want 401", res.StatusCode)
		}
		var n int
		err := db.NewSelect().TableExpr("sessions").ColumnExpr("count(*)").
			Where("token_hash = ?", accounts.HashToken(ck.Value)).Scan(context.Background(), &n)
		if err != nil || n != 0 {
			t.Errorf("session rows for the cookie after logout = %d (%v), want 0", n, err)
		}
	})
}

func TestNewSessionAtEverySignIn(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		a := newApp(t, db)
		mustAPIRegister(t, a, "hank", "hank@example.com")
		first, tok1 := mustAPILogin(t, a, "hank")
		second, tok2 := mustAPILogin(t, a, "hank")
		if first.Value == second.Value {
			t.Errorf("two sign-ins got the same session cookie %q", first.Value)
		}
		if tok1 == tok2 {
			t.Errorf("two sign-ins got the same token %q", tok1)
		}

		// Signing in again from the browser that holds `second` replaces it.
		req := withCookies(jsonReq(http.MethodPost, "/api/v1/auth/login",
			map[string]string{"login": "hank", "password": memberPassword}, ""), second)
		req.Header.Set("X-CSRF-Token", sessionCSRFToken(t, db, second))
		res, body := call(t, a, req)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("re-login status = %d, want 200; body %s", res.StatusCode, body)
		}
		third := cookieNamed(res, "agora_session")
		if third == nil || third.Value == "" || third.Value == second.Value {
			t.Fatalf("re-login cookie = %+v, want a new session id", third)
		}
		checks := []struct {
			name   string
			cookie *http.Cookie
			want   int
		}{
			{"replaced cookie", second, http.StatusUnauthorized},
			{"new cookie", third, http.StatusOK},
			{"other browser's cookie", first, http.StatusOK},
		}
		for _, c := range checks {
			res, _ := call(t, a, withCookies(jsonReq(http.MethodGet, "/api/v1/me", nil, ""), c.cookie))
			if res.StatusCode != c.want {
				t.Errorf("%s: GET /me = %d, want %d", c.name, res.StatusCode, c.want)
			}
		}

		// The same through the HTML form: a planted or old id never survives a sign-in.
		_, page := getPage(t, a, "/", third)
		res, _ = call(t, a, formReq("/login", map[string]string{
			"login": "hank", "password": memberPassword, "_csrf": csrfFromPage(t, page),
		}, third))
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("form re-login status = %d, want 303", res.StatusCode)
		}
		fourth := cookieNamed(res, "agora_session")
		if fourth == nil || fourth.Value == third.Value {
			t.Fatalf("form re-login cookie = %+v, want a new session id", fourth)
		}
		if res, _ := call(t, a, withCookies(jsonReq(http.MethodGet, "/api/v1/me", nil, ""), third)); res.StatusCode != http.StatusUnauthorized {
			t.Errorf("cookie replaced by the form sign-in: GET /me = %d, want 401", res.StatusCode)
		}
	})
}

func TestCredentialsStoredHashed(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		a := newApp(t, db)
		regToken := mustAPIRegister(t, a, "ivy", "ivy@example.com")
		ck, loginToken := mustAPILogin(t, a, "ivy")

		tests := []struct {
			table, raw string
		}{
			{"sessions", ck.Value},
			{"api_tokens", regToken},
			{"api_tokens", loginToken},
		}
		for _, tt := range tests {
			var hashes []string
			if err := db.NewSelect().TableExpr(tt.table).Column("token_hash").Scan(ctx, &hashes); err != nil {
				t.Fatal(err)
			}
			if slices.Contains(hashes, tt.raw) {
				t.Errorf("%s holds the raw credential %q", tt.table, tt.raw)
			}
			for _, h := range hashes {
				if strings.Contains(h, tt.raw) || strings.Contains(tt.raw, h) {
					t.Errorf("%s token_hash %q overlaps the raw credential %q", tt.table, h, tt.raw)
				}
			}
			if !slices.Contains(hashes, accounts.HashToken(tt.raw)) {
				t.Errorf("%s has no row with the hash of the credential (hashes %q)", tt.table, hashes)
			}
		}
		var csrf []string
		if err := db.NewSelect().TableExpr("sessions").Column("csrf_token").Scan(ctx, &csrf); err != nil {
			t.Fatal(err)
		}
		if slices.Contains(csrf, ck.Value) {
			t.Error("sessions.csrf_token equals the session cookie")
		}
		var hash string
		if err := db.NewSelect().TableExpr("users").Column("password_hash").Where("username = ?", "ivy").Scan(ctx, &hash); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(hash, "$argon2id$v=19$m=19456,t=2,p=1$") {
			t.Errorf("password_hash = %q, want argon2id with m=19456,t=2,p=1", hash)
		}
	})
}
