package app_test

import (
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/uptrace/bun"

	"agora/accounts"
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
		checks := map[string]any{"username": "alice", "email": "alice@example.com", "role": "member", "level": float64(1)}
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
			"level": float64(1), "badge_count": float64(0), "suspended_until": nil}
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
