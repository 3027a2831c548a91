package app_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/uptrace/bun"

	"agora/accounts"
)

// Helpers for the Foundation tests: accounts, sessions, CSRF and pages.

// memberPassword is the password of every member the tests register.
const memberPassword = "a long enough password"

// mustAPIRegister registers username through the JSON API and returns its bearer token.
func mustAPIRegister(t testing.TB, a *fiber.App, username, email string) string {
	t.Helper()
	res, body := call(t, a, jsonReq(http.MethodPost, "/api/v1/auth/register", map[string]any{
		"username": username, "email": email, "password": memberPassword, "age_confirmed": true,
	}, ""))
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("register %s: status %d, want 201; body %s", username, res.StatusCode, body)
	}
	token, _ := decode(t, body)["token"].(string)
	if token == "" {
		t.Fatalf("register %s: no token in %s", username, body)
	}
	return token
}

// mustAPILogin signs in through the JSON API and returns the session cookie
// and the bearer token.
func mustAPILogin(t testing.TB, a *fiber.App, login string) (*http.Cookie, string) {
	t.Helper()
	res, body := call(t, a, jsonReq(http.MethodPost, "/api/v1/auth/login",
		map[string]string{"login": login, "password": memberPassword}, ""))
	if res.StatusCode != http.StatusOK {
		t.Fatalf("login %s: status %d, want 200; body %s", login, res.StatusCode, body)
	}
	ck := cookieNamed(res, "agora_session")
	if ck == nil || ck.Value == "" {
		t.Fatalf("login %s: no agora_session cookie", login)
	}
	token, _ := decode(t, body)["token"].(string)
	if token == "" {
		t.Fatalf("login %s: no token in %s", login, body)
	}
	return ck, token
}

// cookieCleared reports whether a Set-Cookie deletes the cookie.
func cookieCleared(c *http.Cookie) bool {
	return c != nil && c.Value == "" && (c.MaxAge < 0 || (!c.Expires.IsZero() && c.Expires.Before(time.Now())))
}

// withCookies adds cookies to req and returns it.
func withCookies(req *http.Request, cookies ...*http.Cookie) *http.Request {
	for _, c := range cookies {
		if c != nil {
			req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
		}
	}
	return req
}

// getPage sends a GET with cookies.
func getPage(t testing.TB, a *fiber.App, path string, cookies ...*http.Cookie) (*http.Response, string) {
	t.Helper()
	return call(t, a, withCookies(httptest.NewRequest(http.MethodGet, path, nil), cookies...))
}

var csrfInputRE = regexp.MustCompile(`name="_csrf" value="([^"]*)"`)

// csrfFromPage returns the value of the first hidden _csrf input of a page.
func csrfFromPage(t testing.TB, body string) string {
	t.Helper()
	m := csrfInputRE.FindStringSubmatch(body)
	if m == nil || m[1] == "" {
		t.Fatalf("page has no _csrf input:\n%s", body)
	}
	return m[1]
}

// sessionCSRFToken reads the CSRF token of the session behind cookie from the database.
func sessionCSRFToken(t testing.TB, db *bun.DB, cookie *http.Cookie) string {
	t.Helper()
	var tok string
	err := db.NewSelect().TableExpr("sessions").Column("csrf_token").
		Where("token_hash = ?", accounts.HashToken(cookie.Value)).Scan(context.Background(), &tok)
	if err != nil {
		t.Fatalf("session of cookie not found: %v", err)
	}
	return tok
}

// anonCSRF loads path anonymously and returns the agora_csrf cookie and the
// _csrf value of its form: what a browser holds before it posts the form.
func anonCSRF(t testing.TB, a *fiber.App, path string) (*http.Cookie, string) {
	t.Helper()
	res, body := getPage(t, a, path)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: status %d, want 200", path, res.StatusCode)
	}
	ck := cookieNamed(res, "agora_csrf")
	if ck == nil || ck.Value == "" {
		t.Fatalf("GET %s set no agora_csrf cookie", path)
	}
	return ck, csrfFromPage(t, body)
}

// apiErr returns the error code and fields of an API error body.
func apiErr(t testing.TB, body string) (string, map[string]any) {
	t.Helper()
	e, ok := decode(t, body)["error"].(map[string]any)
	if !ok {
		t.Fatalf("body has no error object: %s", body)
	}
	code, _ := e["code"].(string)
	if msg, _ := e["message"].(string); msg == "" {
		t.Errorf("error %q has no message: %s", code, body)
	}
	fields, _ := e["fields"].(map[string]any)
	return code, fields
}

// rowCount counts the rows of table.
func rowCount(t testing.TB, db *bun.DB, table string) int {
	t.Helper()
	n, err := db.NewSelect().TableExpr(table).Count(context.Background())
	if err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return int(n)
}

// rawReq builds a request with a raw body and content type.
func rawReq(method, path, contentType, body string) *http.Request {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return req
}
