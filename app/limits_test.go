package app_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/uptrace/bun"

	"agora/app"
	"agora/internal/testdb"
)

func TestBodyTooLarge(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		// Over a real connection (app.Test reports an oversized body as its own
		// error). Only the headers are sent: the server must answer from the
		// declared length, and an unread body would make it reset the connection.
		a := newApp(t, db)
		addr := strings.TrimPrefix(startServer(t, a), "http://")
		post := func(path, contentType string, length int, cookies ...*http.Cookie) (*http.Response, string) {
			t.Helper()
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(5 * time.Second))
			head := fmt.Sprintf("POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n", path, addr, contentType, length)
			for _, c := range cookies {
				head += "Cookie: " + c.Name + "=" + c.Value + "\r\n"
			}
			if _, err := io.WriteString(conn, head+"\r\n"); err != nil {
				t.Fatal(err)
			}
			res, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatalf("POST %s with %d bytes: %v", path, length, err)
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			return res, string(b)
		}

		res, body := post("/api/v1/auth/register", "application/json", 1<<20+1)
		if res.StatusCode != http.StatusRequestEntityTooLarge {
			t.Fatalf("API: status = %d, want 413; body %.200s", res.StatusCode, body)
		}
		if code, _ := apiErr(t, body); code != "body_too_large" {
			t.Errorf("API: error.code = %q, want body_too_large", code)
		}

		ck, _ := anonCSRF(t, a, "/register")
		res, body = post("/register", "application/x-www-form-urlencoded", 5<<20, ck)
		if res.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("form: status = %d, want 413", res.StatusCode)
		}
		if strings.Contains(body, `"error"`) || !strings.Contains(body, "<html") {
			t.Errorf("form: a 413 for a page is not an HTML page: %.200s", body)
		}

		// Just under the limit is an ordinary request.
		ok := `{"username":"` + strings.Repeat("a", 1<<20-100) + `"}`
		res, body = call(t, a, rawReq(http.MethodPost, "/api/v1/auth/register", "application/json", ok))
		if res.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("body under 1 MiB: status = %d, want 422; body %.200s", res.StatusCode, body)
		}
		if n := rowCount(t, db, "users"); n != 0 {
			t.Errorf("users = %d, want 0", n)
		}
	})
}

func TestMalformedJSON(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		a := newApp(t, db)
		token := mustAPIRegister(t, a, "scripter", "scripter@example.com")
		tests := []struct {
			name, contentType, body string
			wantStatus              int
			wantCode                string
		}{
			{"truncated", "application/json", `{"username":"x"`, http.StatusBadRequest, "bad_json"},
			{"not JSON", "application/json", `username=x`, http.StatusBadRequest, "bad_json"},
			{"array", "application/json", `[1,2,3]`, http.StatusBadRequest, "bad_json"},
			{"wrong type", "application/json", `{"login":5,"password":true,"age_confirmed":"yes"}`, http.StatusBadRequest, "bad_json"},
			{"empty body", "application/json", ``, http.StatusBadRequest, "bad_json"},
			{"no content type", "", `{"username":"x"}`, http.StatusUnsupportedMediaType, "unsupported_media_type"},
			{"xml", "application/xml", `<a/>`, http.StatusUnsupportedMediaType, "unsupported_media_type"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				for _, path := range []string{"/api/v1/auth/register", "/api/v1/auth/login"} {
					req := rawReq(http.MethodPost, path, tt.contentType, tt.body)
					if !strings.HasPrefix(tt.contentType, "application/json") {
						// Anonymous non-JSON posts are refused by CSRF first; a script sends a token.
						req.Header.Set("Authorization", "Bearer "+token)
					}
					res, body := call(t, a, req)
					if res.StatusCode != tt.wantStatus {
						t.Fatalf("%s: status = %d, want %d; body %s", path, res.StatusCode, tt.wantStatus, body)
					}
					if code, _ := apiErr(t, body); code != tt.wantCode {
						t.Errorf("%s: error.code = %q, want %q", path, code, tt.wantCode)
					}
					if strings.Contains(body, "json:") || strings.Contains(body, "invalid character") {
						t.Errorf("%s: the parser's message leaks into the answer: %s", path, body)
					}
				}
			})
		}
	})
}

func TestNULRefused(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		a := newApp(t, db)
		ck, token := anonCSRF(t, a, "/register")
		tests := []struct {
			name string
			req  func() *http.Request
		}{
			{"JSON escape in username", func() *http.Request {
				return rawReq(http.MethodPost, "/api/v1/auth/register", "application/json",
					`{"username":"nul\u0000name","email":"n@example.com","password":"`+memberPassword+`","age_confirmed":true}`)
			}},
			{"JSON escape in password", func() *http.Request {
				return rawReq(http.MethodPost, "/api/v1/auth/register", "application/json",
					`{"username":"nulname","email":"n@example.com","password":"long enough\u0000","age_confirmed":true}`)
			}},
			{"raw NUL byte in JSON", func() *http.Request {
				return rawReq(http.MethodPost, "/api/v1/auth/register", "application/json",
					"{\"username\":\"nul\x00name\",\"email\":\"n@example.com\",\"password\":\""+memberPassword+"\",\"age_confirmed\":true}")
			}},
			{"JSON escape in login", func() *http.Request {
				return rawReq(http.MethodPost, "/api/v1/auth/login", "application/json", `{"login":"a\u0000","password":"x"}`)
			}},
			{"form value", func() *http.Request {
				return withCookies(rawReq(http.MethodPost, "/register", "application/x-www-form-urlencoded",
					"_csrf="+token+"&username=nul%00name&email=n%40example.com&password=long+enough+pw&age_confirmed=on"), ck)
			}},
			{"form login", func() *http.Request {
				return withCookies(rawReq(http.MethodPost, "/login", "application/x-www-form-urlencoded",
					"_csrf="+token+"&login=x%00&password=y"), ck)
			}},
			{"form value not UTF-8", func() *http.Request {
				return withCookies(rawReq(http.MethodPost, "/register", "application/x-www-form-urlencoded",
					"_csrf="+token+"&username=name%FF%FE&email=n%40example.com&password=long+enough+pw&age_confirmed=on"), ck)
			}},
			{"query string", func() *http.Request { return httptest.NewRequest(http.MethodGet, "/?q=a%00b", nil) }},
			{"query string not UTF-8", func() *http.Request { return httptest.NewRequest(http.MethodGet, "/search?q=caf%E9", nil) }},
			{"query string of the API", func() *http.Request { return httptest.NewRequest(http.MethodGet, "/api/v1/users/someone?x=%00", nil) }},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				res, body := call(t, a, tt.req())
				if res.StatusCode != http.StatusBadRequest {
					t.Errorf("status = %d, want 400; body %.300s", res.StatusCode, body)
				}
			})
		}
		// A NUL in the path is not a 500 either.
		for _, path := range []string{"/u/a%00b", "/api/v1/users/a%00b"} {
			res, body := call(t, a, httptest.NewRequest(http.MethodGet, path, nil))
			if res.StatusCode < 400 || res.StatusCode >= 500 {
				t.Errorf("GET %s = %d, want a 4xx; body %.300s", path, res.StatusCode, body)
			}
		}
		if n := rowCount(t, db, "users"); n != 0 {
			t.Errorf("users = %d after NUL requests, want 0", n)
		}
	})
}

// TestNULCheckDecodesFirst: text that merely looks like an escaped NUL —
// "%00" in a JSON string, an escaped backslash before u0000 — is ordinary
// text (a password, a post about URL encoding), not a NUL character.
func TestNULCheckDecodesFirst(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		a := newApp(t, db)
		tests := []struct{ name, username, password string }{
			{"percent zero zero in a JSON string", "percent", "100%00 sure, long enough"},
			{"escaped backslash before u0000", "backslash", `C:\\u0000 is a folder`}, // JSON for the text C:\u0000
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				body := `{"username":"` + tt.username + `","email":"` + tt.username + `@example.com","password":"` + tt.password + `","age_confirmed":true}`
				res, b := call(t, a, rawReq(http.MethodPost, "/api/v1/auth/register", "application/json", body))
				if res.StatusCode != http.StatusCreated {
					t.Errorf("status = %d, want 201; body %s", res.StatusCode, b)
				}
			})
		}
	})
}

// TestAuthRateLimitClientIP: without trusted proxies a client cannot
// escape the limit by sending X-Forwarded-For; behind a trusted proxy each
// forwarded client has its own budget.
func TestAuthRateLimitClientIP(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		attempt := func(a *fiber.App, forwardedFor string) int {
			req := jsonReq(http.MethodPost, "/api/v1/auth/login", map[string]string{"login": "nobody", "password": "guess-guess"}, "")
			req.Header.Set("X-Forwarded-For", forwardedFor)
			res, _ := call(t, a, req)
			return res.StatusCode
		}
		direct := newApp(t, db, func(d *app.Deps) { d.AuthRateLimit = 2 })
		codes := []int{attempt(direct, "198.51.100.1"), attempt(direct, "198.51.100.2"), attempt(direct, "198.51.100.3")}
		if codes[2] != http.StatusTooManyRequests {
			t.Errorf("no trusted proxy, three X-Forwarded-For values: statuses %v, want the third limited (429)", codes)
		}

		// app.Test connects from 0.0.0.0: trust it as the proxy.
		proxied := newApp(t, db, func(d *app.Deps) {
			d.AuthRateLimit = 2
			d.Config.TrustedProxies = []string{"0.0.0.0"}
		})
		codes = []int{attempt(proxied, "198.51.100.1"), attempt(proxied, "198.51.100.2"), attempt(proxied, "198.51.100.3")}
		for i, c := range codes {
			if c != http.StatusUnauthorized {
				t.Errorf("behind a trusted proxy, client %d: status %d, want 401 (own budget)", i+1, c)
			}
		}
		attempt(proxied, "198.51.100.1")
		if c := attempt(proxied, "198.51.100.1"); c != http.StatusTooManyRequests {
			t.Errorf("behind a trusted proxy, third attempt of one client: status %d, want 429", c)
		}
	})
}

func TestAuthRateLimit(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		a := newApp(t, db, func(d *app.Deps) { d.AuthRateLimit = 3 })
		attempt := func() (*http.Response, string) {
			return call(t, a, jsonReq(http.MethodPost, "/api/v1/auth/login", map[string]string{"login": "nobody", "password": "guess-guess"}, ""))
		}
		for i := 1; i <= 3; i++ {
			if res, body := attempt(); res.StatusCode != http.StatusUnauthorized {
				t.Fatalf("attempt %d: status = %d, want 401; body %s", i, res.StatusCode, body)
			}
		}
		res, body := attempt()
		if res.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("attempt 4: status = %d, want 429; body %s", res.StatusCode, body)
		}
		if code, _ := apiErr(t, body); code != "rate_limited" {
			t.Errorf("error.code = %q, want rate_limited", code)
		}
		ra, err := strconv.Atoi(res.Header.Get("Retry-After"))
		if err != nil || ra < 1 || ra > 60 {
			t.Errorf("Retry-After = %q, want 1 to 60 seconds", res.Header.Get("Retry-After"))
		}
		// The same budget covers registration and the HTML sign-in form.
		res, _ = call(t, a, jsonReq(http.MethodPost, "/api/v1/auth/register", map[string]any{
			"username": "later", "email": "later@example.com", "password": memberPassword, "age_confirmed": true,
		}, ""))
		if res.StatusCode != http.StatusTooManyRequests {
			t.Errorf("register after the limit = %d, want 429", res.StatusCode)
		}
		ck, token := anonCSRF(t, a, "/login")
		res, body = call(t, a, formReq("/login", map[string]string{"_csrf": token, "login": "nobody", "password": "guess"}, ck))
		if res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") == "" {
			t.Errorf("form sign-in after the limit = %d (Retry-After %q), want 429 with Retry-After", res.StatusCode, res.Header.Get("Retry-After"))
		}
		if !strings.Contains(body, "Slow down") {
			t.Error("the 429 page does not say to slow down")
		}
		// Reading pages is not limited by the sign-in budget.
		if res, _ := getPage(t, a, "/"); res.StatusCode != http.StatusOK {
			t.Errorf("GET / after the sign-in limit = %d, want 200", res.StatusCode)
		}
	})
}

func TestAPIRateLimitHeaders(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		a := newApp(t, db, func(d *app.Deps) { d.Config.RateLimit = 1000 })
		token := mustAPIRegister(t, a, "hal", "hal@example.com")
		session, _ := mustAPILogin(t, a, "hal")
		tests := []struct {
			name string
			req  func() *http.Request
			want int
		}{
			{"public read", func() *http.Request { return jsonReq(http.MethodGet, "/api/v1/users/hal", nil, "") }, 200},
			{"signed-in read", func() *http.Request { return jsonReq(http.MethodGet, "/api/v1/me", nil, token) }, 200},
			{"validation error", func() *http.Request {
				return jsonReq(http.MethodPost, "/api/v1/auth/register", map[string]any{}, "")
			}, 422},
			{"bad JSON", func() *http.Request {
				return rawReq(http.MethodPost, "/api/v1/auth/login", "application/json", "{")
			}, 400},
			{"unknown route", func() *http.Request { return jsonReq(http.MethodGet, "/api/v1/no-such-thing", nil, "") }, 404},
			{"anonymous", func() *http.Request { return jsonReq(http.MethodGet, "/api/v1/me", nil, "") }, 401},
			{"garbage bearer", func() *http.Request { return jsonReq(http.MethodGet, "/api/v1/me", nil, "garbage") }, 401},
			{"CSRF refused", func() *http.Request {
				return withCookies(jsonReq(http.MethodPost, "/api/v1/auth/logout", map[string]any{}, ""), session)
			}, 403},
			{"NUL refused", func() *http.Request {
				return rawReq(http.MethodPost, "/api/v1/auth/login", "application/json", `{"login":"\u0000"}`)
			}, 400},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				res, body := call(t, a, tt.req())
				if res.StatusCode != tt.want {
					t.Fatalf("status = %d, want %d; body %s", res.StatusCode, tt.want, body)
				}
				if got := res.Header.Get("X-RateLimit-Limit"); got != "1000" {
					t.Errorf("X-RateLimit-Limit = %q, want 1000", got)
				}
				for _, h := range []string{"X-RateLimit-Remaining", "X-RateLimit-Reset"} {
					if v, err := strconv.Atoi(res.Header.Get(h)); err != nil || v < 0 {
						t.Errorf("%s = %q, want a whole number", h, res.Header.Get(h))
					}
				}
			})
		}
		// Pages are not API responses.
		if res, _ := getPage(t, a, "/"); res.Header.Get("X-RateLimit-Limit") != "" {
			t.Error("an HTML page carries X-RateLimit headers")
		}
	})
}

func TestAPIRateLimitReached(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		a := newApp(t, db, func(d *app.Deps) { d.Config.RateLimit = 3 })
		var remaining []string
		for i := 1; i <= 3; i++ {
			res, _ := call(t, a, jsonReq(http.MethodGet, "/api/v1/users/nobody", nil, ""))
			if res.StatusCode != http.StatusNotFound {
				t.Fatalf("request %d: status = %d, want 404", i, res.StatusCode)
			}
			remaining = append(remaining, res.Header.Get("X-RateLimit-Remaining"))
		}
		if strings.Join(remaining, ",") != "2,1,0" {
			t.Errorf("X-RateLimit-Remaining over three requests = %v, want 2,1,0", remaining)
		}
		res, body := call(t, a, jsonReq(http.MethodGet, "/api/v1/users/nobody", nil, ""))
		if res.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("request 4: status = %d, want 429; body %s", res.StatusCode, body)
		}
		if code, _ := apiErr(t, body); code != "rate_limited" {
			t.Errorf("error.code = %q, want rate_limited", code)
		}
		if res.Header.Get("Retry-After") == "" {
			t.Error("429 without Retry-After")
		}
		// "Every API response carries X-RateLimit-*": the 429 too.
		want := map[string]string{"X-RateLimit-Limit": "3", "X-RateLimit-Remaining": "0"}
		for h, v := range want {
			if got := res.Header.Get(h); got != v {
				t.Errorf("429 %s = %q, want %q", h, got, v)
			}
		}
		if res.Header.Get("X-RateLimit-Reset") == "" {
			t.Error("429 without X-RateLimit-Reset")
		}
	})
}

// TestRequestLogOmitsSecrets: the request log never shows query strings
// (the setup token travels in one) or submitted passwords.
func TestRequestLogOmitsSecrets(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		var buf lockedBuffer
		a := newApp(t, db, func(d *app.Deps) {
			d.Log = slog.New(slog.NewTextHandler(&buf, nil))
			d.SetupToken = setupToken
		})
		getPage(t, a, "/setup?token="+setupToken)
		call(t, a, jsonReq(http.MethodPost, "/api/v1/auth/login", map[string]string{"login": "x", "password": "hunter2-hunter2"}, ""))
		log := buf.String()
		if !strings.Contains(log, "path=/setup") || !strings.Contains(log, "status=200") {
			t.Errorf("request log lacks the /setup request:\n%s", log)
		}
		for _, secret := range []string{setupToken, "hunter2"} {
			if strings.Contains(log, secret) {
				t.Errorf("request log contains %q:\n%s", secret, log)
			}
		}
	})
}

// lockedBuffer is a bytes.Buffer safe for concurrent log writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestPanicIsA500: a handler's panic answers 500 with the error page and a
// logged stack, and the app goes on serving.
func TestPanicIsA500(t *testing.T) {
	db := testdb.Open(t, "sqlite")
	var buf lockedBuffer
	var boom atomic.Bool // the next reading of the clock panics, as a bug deep in a handler would
	a := newApp(t, db, func(d *app.Deps) {
		d.Log = slog.New(slog.NewTextHandler(&buf, nil))
		d.Now = func() time.Time {
			if boom.CompareAndSwap(true, false) {
				panic("a handler's bug")
			}
			return time.Now()
		}
	})
	boom.Store(true)
	res, body := getPage(t, a, "/")
	tpWantStatus(t, res, body, http.StatusInternalServerError)
	if !strings.Contains(res.Header.Get("Content-Type"), "text/html") || !strings.Contains(res.Header.Get("Content-Security-Policy"), "default-src") {
		t.Errorf("the 500 is not the forum's error page: %s %q", res.Header, body)
	}
	log := buf.String()
	if !strings.Contains(log, "a handler's bug") || !strings.Contains(log, "limits_test.go") {
		t.Errorf("the log lacks the panic and its stack:\n%s", log)
	}
	if res, body := getPage(t, a, "/"); res.StatusCode != http.StatusOK {
		t.Errorf("after the panic: %d %s", res.StatusCode, body)
	}
}
