package app_test

import (
	"context"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/uptrace/bun"

	"agora/accounts"
	"agora/app"
	"agora/internal/testdb"
)

func TestAPIRegister(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		a := newApp(t, db)
		res, body := call(t, a, jsonReq(http.MethodPost, "/api/v1/auth/register", map[string]any{
			"username": "alice", "email": "alice@example.com", "password": memberPassword, "age_confirmed": true,
		}, ""))
		if res.StatusCode != http.StatusCreated {
			t.Fatalf("status = %d, want 201; body %s", res.StatusCode, body)
		}
		if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("Content-Type = %q, want application/json", ct)
		}
		m := decode(t, body)
		user, _ := m["user"].(map[string]any)
		if user == nil {
			t.Fatalf("no user in %s", body)
		}
		checks := map[string]any{"username": "alice", "email": "alice@example.com", "role": "member", "level": float64(0)}
		for k, want := range checks {
			if user[k] != want {
				t.Errorf("user.%s = %v, want %v", k, user[k], want)
			}
		}
		if id, _ := user["id"].(float64); id < 1 {
			t.Errorf("user.id = %v, want a positive integer", user["id"])
		}
		if strings.Contains(body, "argon2id") || strings.Contains(body, memberPassword) || strings.Contains(body, "password") {
			t.Errorf("register answer shows the password or its hash: %s", body)
		}
		token, _ := m["token"].(string)
		if token == "" {
			t.Fatalf("no token in %s", body)
		}
		// The token works at once.
		res, body = call(t, a, jsonReq(http.MethodGet, "/api/v1/me", nil, token))
		if res.StatusCode != http.StatusOK || !strings.Contains(body, `"username":"alice"`) {
			t.Errorf("GET /me with the new token = %d %s, want 200 alice", res.StatusCode, body)
		}
		if n := rowCount(t, db, "users"); n != 1 {
			t.Errorf("users = %d, want 1", n)
		}
	})
}

func TestAPIRegisterValidation(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		a := newApp(t, db)
		valid := func(change map[string]any) map[string]any {
			m := map[string]any{"username": "newbie", "email": "newbie@example.com", "password": memberPassword, "age_confirmed": true}
			for k, v := range change {
				if v == nil {
					delete(m, k)
				} else {
					m[k] = v
				}
			}
			return m
		}
		tests := []struct {
			name       string
			body       map[string]any
			wantFields []string
		}{
			{"username too short", valid(map[string]any{"username": "ab"}), []string{"username"}},
			{"username too long", valid(map[string]any{"username": strings.Repeat("a", 21)}), []string{"username"}},
			{"username with space", valid(map[string]any{"username": "new bie"}), []string{"username"}},
			{"username starting with dot", valid(map[string]any{"username": ".newbie"}), []string{"username"}},
			{"username reserved", valid(map[string]any{"username": "Support"}), []string{"username"}},
			{"username missing", valid(map[string]any{"username": nil}), []string{"username"}},
			{"email without at", valid(map[string]any{"email": "newbie.example.com"}), []string{"email"}},
			{"email with two ats", valid(map[string]any{"email": "new@bie@example.com"}), []string{"email"}},
			{"email missing", valid(map[string]any{"email": nil}), []string{"email"}},
			{"password nine characters", valid(map[string]any{"password": "123456789"}), []string{"password"}},
			{"password missing", valid(map[string]any{"password": nil}), []string{"password"}},
			{"password equals username", valid(map[string]any{"username": "longername", "password": "longername"}), []string{"password"}},
			{"password equals username other case", valid(map[string]any{"username": "LongerName", "password": "lONGERnAME"}), []string{"password"}},
			{"age not confirmed", valid(map[string]any{"age_confirmed": false}), []string{"age_confirmed"}},
			{"age confirmation missing", valid(map[string]any{"age_confirmed": nil}), []string{"age_confirmed"}},
			{"empty object", map[string]any{}, []string{"age_confirmed", "email", "password", "username"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				res, body := call(t, a, jsonReq(http.MethodPost, "/api/v1/auth/register", tt.body, ""))
				if res.StatusCode != http.StatusUnprocessableEntity {
					t.Fatalf("status = %d, want 422; body %s", res.StatusCode, body)
				}
				code, fields := apiErr(t, body)
				if code != "validation_failed" {
					t.Errorf("error.code = %q, want validation_failed", code)
				}
				if got := slices.Sorted(maps.Keys(fields)); !slices.Equal(got, tt.wantFields) {
					t.Errorf("error.fields = %v, want keys %q", fields, tt.wantFields)
				}
				for k, v := range fields {
					if s, _ := v.(string); s == "" {
						t.Errorf("error.fields.%s = %v, want a reason", k, v)
					}
				}
			})
		}
		if n := rowCount(t, db, "users"); n != 0 {
			t.Errorf("users = %d after only invalid sign-ups, want 0", n)
		}
	})
}

func TestAPIRegisterDuplicate(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		a := newApp(t, db)
		mustAPIRegister(t, a, "Alice", "alice@example.com")
		tests := []struct {
			name, username, email, wantField string
		}{
			{"same username", "Alice", "a2@example.com", "username"},
			{"username other case", "aLiCe", "a3@example.com", "username"},
			{"same email", "alice2", "alice@example.com", "email"},
			{"email other case", "alice3", "ALICE@Example.com", "email"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				res, body := call(t, a, jsonReq(http.MethodPost, "/api/v1/auth/register", map[string]any{
					"username": tt.username, "email": tt.email, "password": memberPassword, "age_confirmed": true,
				}, ""))
				if res.StatusCode != http.StatusConflict {
					t.Fatalf("status = %d, want 409; body %s", res.StatusCode, body)
				}
				code, fields := apiErr(t, body)
				if code != "conflict" {
					t.Errorf("error.code = %q, want conflict", code)
				}
				if s, _ := fields[tt.wantField].(string); s == "" || len(fields) != 1 {
					t.Errorf("error.fields = %v, want only %s", fields, tt.wantField)
				}
			})
		}
		if n := rowCount(t, db, "users"); n != 1 {
			t.Errorf("users = %d, want 1", n)
		}
	})
}

func TestAPILogin(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		a := newApp(t, db)
		mustAPIRegister(t, a, "bob", "Bob@Example.com")

		for _, login := range []string{"bob", "BOB", "bob@example.com", "Bob@Example.com", " bob "} {
			t.Run("login "+login, func(t *testing.T) {
				res, body := call(t, a, jsonReq(http.MethodPost, "/api/v1/auth/login",
					map[string]string{"login": login, "password": memberPassword}, ""))
				if res.StatusCode != http.StatusOK {
					t.Fatalf("status = %d, want 200; body %s", res.StatusCode, body)
				}
				m := decode(t, body)
				user, _ := m["user"].(map[string]any)
				if user["username"] != "bob" || user["email"] != "Bob@Example.com" {
					t.Errorf("user = %v, want bob with his email", user)
				}
				if tok, _ := m["token"].(string); !strings.HasPrefix(tok, "agora_") {
					t.Errorf("token = %q, want an agora_ token", tok)
				}
				ck := cookieNamed(res, "agora_session")
				if ck == nil {
					t.Fatal("no agora_session cookie")
				}
				if !ck.HttpOnly {
					t.Error("session cookie is not HttpOnly")
				}
				if ck.SameSite != http.SameSiteLaxMode {
					t.Errorf("session cookie SameSite = %v, want Lax", ck.SameSite)
				}
				if ck.Secure {
					t.Error("session cookie is Secure on a plain-http base URL; browsers would drop it")
				}
				if ck.Path != "/" {
					t.Errorf("session cookie Path = %q, want /", ck.Path)
				}
				if ck.MaxAge <= 0 {
					t.Errorf("session cookie Max-Age = %d, want a lasting cookie", ck.MaxAge)
				}
				if !strings.Contains(strings.Join(res.Header.Values("Set-Cookie"), "\n"), "SameSite=Lax") {
					t.Errorf("Set-Cookie %q lacks SameSite=Lax", res.Header.Values("Set-Cookie"))
				}
			})
		}

		// Wrong password and unknown account answer the same, so nobody can
		// probe which accounts exist.
		fails := []struct{ name, login, password string }{
			{"wrong password", "bob", "not the password!"},
			{"unknown username", "nobody", memberPassword},
			{"unknown email", "nobody@example.com", memberPassword},
		}
		var bodies []string
		for _, f := range fails {
			res, body := call(t, a, jsonReq(http.MethodPost, "/api/v1/auth/login",
				map[string]string{"login": f.login, "password": f.password}, ""))
			if res.StatusCode != http.StatusUnauthorized {
				t.Errorf("%s: status = %d, want 401; body %s", f.name, res.StatusCode, body)
			}
			if cookieNamed(res, "agora_session") != nil && cookieNamed(res, "agora_session").Value != "" {
				t.Errorf("%s: a session cookie was set", f.name)
			}
			if code, _ := apiErr(t, body); code != "invalid_credentials" {
				t.Errorf("%s: error.code = %q, want invalid_credentials", f.name, code)
			}
			bodies = append(bodies, body)
		}
		for i := 1; i < len(bodies); i++ {
			if bodies[i] != bodies[0] {
				t.Errorf("%s answers %s, %s answers %s: want identical bodies", fails[0].name, bodies[0], fails[i].name, bodies[i])
			}
		}

		res, body := call(t, a, jsonReq(http.MethodPost, "/api/v1/auth/login", map[string]string{}, ""))
		if res.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("empty login: status = %d, want 422; body %s", res.StatusCode, body)
		} else if _, fields := apiErr(t, body); fields["login"] == nil || fields["password"] == nil {
			t.Errorf("empty login: fields = %v, want login and password", fields)
		}
	})
}

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

func TestAPIMe(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		a := newApp(t, db)
		token := mustAPIRegister(t, a, "dora", "dora@example.com")

		res, body := call(t, a, jsonReq(http.MethodGet, "/api/v1/me", nil, token))
		if res.StatusCode != http.StatusOK {
			t.Fatalf("status = %d, want 200; body %s", res.StatusCode, body)
		}
		user, _ := decode(t, body)["user"].(map[string]any)
		if user == nil {
			t.Fatalf("no user in %s", body)
		}
		for _, k := range []string{"id", "username", "email", "role", "level", "badge_count", "suspended_until", "created_at"} {
			if _, ok := user[k]; !ok {
				t.Errorf("user has no %q: %s", k, body)
			}
		}
		want := map[string]any{"username": "dora", "email": "dora@example.com", "role": "member",
			"level": float64(0), "badge_count": float64(0), "suspended_until": nil}
		for k, v := range want {
			if user[k] != v {
				t.Errorf("user.%s = %#v, want %#v", k, user[k], v)
			}
		}
		for _, secret := range []string{"password_hash", "argon2id", "deleted_at", "flags_agreed"} {
			if strings.Contains(body, secret) {
				t.Errorf("GET /me shows %q: %s", secret, body)
			}
		}

		// The session cookie works as well as the bearer token.
		ck, _ := mustAPILogin(t, a, "dora")
		res, body = call(t, a, withCookies(jsonReq(http.MethodGet, "/api/v1/me", nil, ""), ck))
		if res.StatusCode != http.StatusOK || !strings.Contains(body, `"username":"dora"`) {
			t.Errorf("GET /me with the session cookie = %d %s, want 200 dora", res.StatusCode, body)
		}

		refused := []struct {
			name, authorization string
		}{
			{"no credentials", ""},
			{"garbage bearer", "Bearer not-a-token"},
			{"empty bearer", "Bearer "},
			{"stored hash as bearer", "Bearer " + accounts.HashToken(token)},
			{"token without scheme", token},
			{"basic auth", "Basic ZG9yYTpwYXNzd29yZA=="},
		}
		for _, r := range refused {
			t.Run(r.name, func(t *testing.T) {
				req := jsonReq(http.MethodGet, "/api/v1/me", nil, "")
				if r.authorization != "" {
					req.Header.Set("Authorization", r.authorization)
				}
				res, body := call(t, a, req)
				if res.StatusCode != http.StatusUnauthorized {
					t.Fatalf("status = %d, want 401; body %s", res.StatusCode, body)
				}
				if code, _ := apiErr(t, body); code != "unauthenticated" {
					t.Errorf("error.code = %q, want unauthenticated", code)
				}
			})
		}

		// A stale session cookie is not an identity either, and is cleared.
		res, _ = call(t, a, withCookies(jsonReq(http.MethodGet, "/api/v1/me", nil, ""),
			&http.Cookie{Name: "agora_session", Value: "stale"}))
		if res.StatusCode != http.StatusUnauthorized {
			t.Errorf("stale cookie: status = %d, want 401", res.StatusCode)
		}
		if ck := cookieNamed(res, "agora_session"); !cookieCleared(ck) {
			t.Errorf("stale cookie not cleared: %+v", ck)
		}
	})
}

func TestAPIUserIsPublic(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		a := newApp(t, db)
		mustAPIRegister(t, a, "erin", "erin@example.com")
		res, body := call(t, a, jsonReq(http.MethodGet, "/api/v1/users/ERIN", nil, ""))
		if res.StatusCode != http.StatusOK {
			t.Fatalf("status = %d, want 200; body %s", res.StatusCode, body)
		}
		if strings.Contains(body, "erin@example.com") || strings.Contains(body, `"email"`) {
			t.Errorf("public profile shows the email: %s", body)
		}
		user, _ := decode(t, body)["user"].(map[string]any)
		if user["username"] != "erin" || user["level"] == nil || user["badge_count"] == nil {
			t.Errorf("public profile = %v, want username, level and badge_count", user)
		}
		res, body = call(t, a, jsonReq(http.MethodGet, "/api/v1/users/nobody", nil, ""))
		if res.StatusCode != http.StatusNotFound {
			t.Errorf("unknown user: status = %d, want 404; body %s", res.StatusCode, body)
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
