package app_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/uptrace/bun"

	"agora/internal/testdb"
)

func TestCSRFCookieAuthenticatedAPI(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		a := newApp(t, db)
		mustAPIRegister(t, a, "jack", "jack@example.com")
		ck, _ := mustAPILogin(t, a, "jack")
		_, page := getPage(t, a, "/", ck)
		csrf := csrfFromPage(t, page)
		anonCookie, anonToken := anonCSRF(t, a, "/login")

		// Each refused request leaves the session signed in.
		refused := []struct {
			name    string
			headers map[string]string
			cookies []*http.Cookie
		}{
			{"no token", nil, nil},
			{"wrong token", map[string]string{"X-CSRF-Token": "wrong"}, nil},
			{"token with a suffix", map[string]string{"X-CSRF-Token": csrf + "x"}, nil},
			{"anonymous token", map[string]string{"X-CSRF-Token": anonToken}, []*http.Cookie{anonCookie}},
			{"cross-site with the right token", map[string]string{"X-CSRF-Token": csrf, "Sec-Fetch-Site": "cross-site"}, nil},
		}
		for _, r := range refused {
			t.Run(r.name, func(t *testing.T) {
				req := withCookies(jsonReq(http.MethodPost, "/api/v1/auth/logout", map[string]any{}, ""), append([]*http.Cookie{ck}, r.cookies...)...)
				for k, v := range r.headers {
					req.Header.Set(k, v)
				}
				res, body := call(t, a, req)
				if res.StatusCode != http.StatusForbidden {
					t.Fatalf("status = %d, want 403; body %s", res.StatusCode, body)
				}
				if code, _ := apiErr(t, body); code != "csrf_failed" {
					t.Errorf("error.code = %q, want csrf_failed", code)
				}
				if res, _ := call(t, a, withCookies(jsonReq(http.MethodGet, "/api/v1/me", nil, ""), ck)); res.StatusCode != http.StatusOK {
					t.Errorf("session after a refused logout: GET /me = %d, want 200 (still signed in)", res.StatusCode)
				}
			})
		}

		// Every unsafe method is guarded, whatever the route.
		for _, method := range []string{http.MethodPut, http.MethodPatch, http.MethodDelete} {
			res, body := call(t, a, withCookies(jsonReq(method, "/api/v1/me", map[string]any{"password": memberPassword}, ""), ck))
			if res.StatusCode != http.StatusForbidden {
				t.Errorf("%s /api/v1/me without a token = %d, want 403; body %s", method, res.StatusCode, body)
			}
		}

		// Same-origin requests with the right token pass.
		req := withCookies(jsonReq(http.MethodPost, "/api/v1/auth/logout", map[string]any{}, ""), ck)
		req.Header.Set("X-CSRF-Token", csrf)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		res, body := call(t, a, req)
		if res.StatusCode != http.StatusNoContent {
			t.Fatalf("logout with the right token = %d, want 204; body %s", res.StatusCode, body)
		}
	})
}

func TestCSRFHTMLLogout(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		a := newApp(t, db)
		mustAPIRegister(t, a, "kate", "kate@example.com")
		ck, _ := mustAPILogin(t, a, "kate")

		res, _ := call(t, a, formReq("/logout", map[string]string{}, ck))
		if res.StatusCode != http.StatusForbidden {
			t.Errorf("form logout without _csrf = %d, want 403", res.StatusCode)
		}
		res, _ = call(t, a, formReq("/logout", map[string]string{"_csrf": "forged"}, ck))
		if res.StatusCode != http.StatusForbidden {
			t.Errorf("form logout with a forged _csrf = %d, want 403", res.StatusCode)
		}
		if res, _ := getPage(t, a, "/", ck); res.StatusCode != http.StatusOK {
			t.Fatalf("GET / = %d", res.StatusCode)
		}

		_, page := getPage(t, a, "/", ck)
		res, _ = call(t, a, formReq("/logout", map[string]string{"_csrf": csrfFromPage(t, page)}, ck))
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/" {
			t.Errorf("form logout = %d to %q, want 303 to /", res.StatusCode, res.Header.Get("Location"))
		}
		if !cookieCleared(cookieNamed(res, "agora_session")) {
			t.Error("form logout did not clear the session cookie")
		}
		_, page = getPage(t, a, "/", ck)
		if !strings.Contains(page, `href="/login"`) || strings.Contains(page, "kate") {
			t.Error("home page after logout still shows the member signed in")
		}
	})
}

func TestCSRFAnonymousForms(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		a := newApp(t, db)
		mustAPIRegister(t, a, "liam", "liam@example.com")
		ck, token := anonCSRF(t, a, "/login")
		if ck.Value != token {
			t.Errorf("agora_csrf cookie %q and the form's _csrf %q differ (double submit needs them equal)", ck.Value, token)
		}
		if !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode {
			t.Errorf("agora_csrf cookie = %+v, want HttpOnly and SameSite=Lax", ck)
		}
		_, other := anonCSRF(t, a, "/login") // another browser's token

		creds := func(extra map[string]string) map[string]string {
			m := map[string]string{"login": "liam", "password": memberPassword}
			for k, v := range extra {
				m[k] = v
			}
			return m
		}
		tests := []struct {
			name     string
			values   map[string]string
			cookie   *http.Cookie
			header   map[string]string
			wantCode int
		}{
			{"no cookie, no field", creds(nil), nil, nil, http.StatusForbidden},
			{"cookie, no field", creds(nil), ck, nil, http.StatusForbidden},
			{"field, no cookie", creds(map[string]string{"_csrf": token}), nil, nil, http.StatusForbidden},
			{"field from another browser", creds(map[string]string{"_csrf": other}), ck, nil, http.StatusForbidden},
			{"empty field and empty cookie", creds(map[string]string{"_csrf": ""}), &http.Cookie{Name: "agora_csrf", Value: ""}, nil, http.StatusForbidden},
			{"cross-site", creds(map[string]string{"_csrf": token}), ck, map[string]string{"Sec-Fetch-Site": "cross-site"}, http.StatusForbidden},
			{"header instead of field", creds(nil), ck, map[string]string{"X-CSRF-Token": token}, http.StatusSeeOther},
			{"matching cookie and field", creds(map[string]string{"_csrf": token}), ck, nil, http.StatusSeeOther},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				var cookies []*http.Cookie
				if tt.cookie != nil {
					cookies = append(cookies, tt.cookie)
				}
				req := formReq("/login", tt.values, cookies...)
				for k, v := range tt.header {
					req.Header.Set(k, v)
				}
				res, body := call(t, a, req)
				if res.StatusCode != tt.wantCode {
					t.Fatalf("POST /login = %d, want %d", res.StatusCode, tt.wantCode)
				}
				if tt.wantCode == http.StatusForbidden {
					if !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
						t.Errorf("403 Content-Type = %q, want an HTML page", res.Header.Get("Content-Type"))
					}
					if ck := cookieNamed(res, "agora_session"); ck != nil && ck.Value != "" {
						t.Error("a refused sign-in set a session cookie")
					}
					if !strings.Contains(body, "reload the page") {
						t.Errorf("403 page does not explain what to do:\n%s", body)
					}
				}
			})
		}

		// Registration is guarded the same way and writes nothing when refused.
		res, _ := call(t, a, formReq("/register", map[string]string{
			"username": "mallory", "email": "mallory@example.com", "password": memberPassword, "age_confirmed": "on",
		}))
		if res.StatusCode != http.StatusForbidden {
			t.Errorf("POST /register without CSRF = %d, want 403", res.StatusCode)
		}
		if n := rowCount(t, db, "users"); n != 1 {
			t.Errorf("users = %d after a forged registration, want 1", n)
		}
	})
}

// TestCSRFAnonymousAPI: a JSON API call without cookies needs no token (no
// browser can send it cross-site without a preflight), and a form-encoded or
// text/plain one — which any site can post — is refused as the wrong media
// type before it can sign anyone in.
func TestCSRFAnonymousAPI(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		a := newApp(t, db)
		tests := []struct {
			name, contentType, body string
			want                    int
		}{
			{"json", "application/json", `{"login":"x","password":"y"}`, http.StatusUnauthorized},
			{"json with charset", "application/json; charset=utf-8", `{"login":"x","password":"y"}`, http.StatusUnauthorized},
			{"form encoded", "application/x-www-form-urlencoded", "login=x&password=y", http.StatusUnsupportedMediaType},
			{"text plain", "text/plain", `{"login":"x","password":"y"}`, http.StatusUnsupportedMediaType},
			{"multipart", "multipart/form-data; boundary=x", "--x--", http.StatusUnsupportedMediaType},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				res, body := call(t, a, rawReq(http.MethodPost, "/api/v1/auth/login", tt.contentType, tt.body))
				if res.StatusCode != tt.want {
					t.Errorf("status = %d, want %d; body %s", res.StatusCode, tt.want, body)
				}
			})
		}
	})
}
