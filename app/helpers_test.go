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
	"agora/forum"
	"agora/models"
)

// Helpers shared by the app tests: accounts, sessions, CSRF, pages, topics and moderation fixtures.

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

// tpUser is a member signed in through a session, as a browser would be.
type tpUser struct {
	*models.User
	cookie *http.Cookie
	csrf   string
}

// mustTPUser registers a member with role and starts a browser session for them.
func mustTPUser(tb testing.TB, db *bun.DB, username, role string) *tpUser {
	tb.Helper()
	ctx := context.Background()
	acc := accounts.New(db, nil)
	u, err := acc.Register(ctx, accounts.RegisterInput{Username: username, Email: username + "@example.com",
		Password: memberPassword, AgeConfirmed: true, Role: role})
	if err != nil {
		tb.Fatalf("register %s: %v", username, err)
	}
	token, sess, err := acc.StartSession(ctx, u.ID, "127.0.0.1", "test")
	if err != nil {
		tb.Fatalf("session for %s: %v", username, err)
	}
	return &tpUser{User: u, cookie: &http.Cookie{Name: "agora_session", Value: token}, csrf: sess.CSRFToken}
}

// mustTPCategory creates a category directly.
func mustTPCategory(tb testing.TB, db *bun.DB, name, slug string) *models.Category {
	tb.Helper()
	c := &models.Category{Name: name, Slug: slug, Color: "#3b6ea8", Position: 1}
	if err := models.CreateCategory(context.Background(), db, c); err != nil {
		tb.Fatalf("create category: %v", err)
	}
	return c
}

// mustTPTopic starts a topic as u.
func mustTPTopic(tb testing.TB, db *bun.DB, u *tpUser, cat *models.Category, title, body string) *models.Topic {
	tb.Helper()
	t, _, err := forum.New(db, nil).CreateTopic(context.Background(), u.User, forum.TopicInput{CategoryID: cat.ID, Title: title, Body: body})
	if err != nil {
		tb.Fatalf("create topic: %v", err)
	}
	return t
}

func tpWantStatus(tb testing.TB, res *http.Response, body string, want int) {
	tb.Helper()
	if res.StatusCode != want {
		if len(body) > 2000 {
			body = body[:2000]
		}
		tb.Fatalf("status = %d, want %d; body:\n%s", res.StatusCode, want, body)
	}
}

func tpWantContains(tb testing.TB, body string, wants ...string) {
	tb.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			tb.Errorf("page does not contain %q", w)
		}
	}
}

// apiMember registers a member through the API and returns their bearer token.
func apiMember(t *testing.T, a *fiber.App, name string) string {
	t.Helper()
	res, body := call(t, a, jsonReq(http.MethodPost, "/api/v1/auth/register", map[string]any{
		"username": name, "email": name + "@example.com", "password": "a long password", "age_confirmed": true}, ""))
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("register %s: %d %s", name, res.StatusCode, body)
	}
	return decode(t, body)["token"].(string)
}

// establish sets members' level to 2 directly in the database: members who
// have been around, free of the new-member limits (policy.NewMemberPace).
func establish(t *testing.T, db *bun.DB, names ...string) {
	t.Helper()
	if _, err := db.NewUpdate().Model((*models.User)(nil)).Set("level = 2").Where("username IN (?)", bun.List(names)).
		Exec(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// promote sets a role directly in the database.
func promote(t *testing.T, db *bun.DB, name, role string) {
	t.Helper()
	if _, err := db.NewUpdate().Model((*models.User)(nil)).Set("role = ?", role).Where("username = ?", name).Exec(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func num(m map[string]any, path ...string) float64 {
	var v any = m
	for _, p := range path {
		v = v.(map[string]any)[p]
	}
	f, _ := v.(float64)
	return f
}

// mustModReply answers a topic as u.
func mustModReply(tb testing.TB, db *bun.DB, u *tpUser, topicID int64, body string) *models.Post {
	tb.Helper()
	p, err := forum.New(db, nil).Reply(context.Background(), u.User, topicID, body, nil)
	if err != nil {
		tb.Fatalf("reply: %v", err)
	}
	return p
}

// get fetches a page, signed in as u when u is not nil.
func (u *tpUser) get(tb testing.TB, a *fiber.App, path string) (*http.Response, string) {
	tb.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	if u != nil {
		req.AddCookie(u.cookie)
	}
	return call(tb, a, req)
}

// post submits a form as u with the session's CSRF token.
func (u *tpUser) post(tb testing.TB, a *fiber.App, path string, values map[string]string) (*http.Response, string) {
	tb.Helper()
	v := map[string]string{"_csrf": u.csrf}
	for k, val := range values {
		v[k] = val
	}
	return call(tb, a, formReq(path, v, u.cookie))
}
