package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/uptrace/bun"

	"agora/app"
	"agora/config"
	"agora/internal/browser"
	"agora/mailer"
	"agora/moderation"
	"agora/search"
	"agora/services"
)

func TestMain(m *testing.M) {
	code := m.Run()
	browser.Stop()
	os.Exit(code)
}

// testConfig is the configuration the tests run with.
func testConfig(t testing.TB) config.Config {
	t.Helper()
	cfg, _, err := config.Load(nil, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// newApp builds the real app over db's services; change adjusts the
// dependencies (a clock set there reaches the services too; so does a search
// service, else search has no index).
func newApp(t testing.TB, db *bun.DB, change ...func(*app.Deps)) *fiber.App {
	t.Helper()
	a, _ := newAppSet(t, db, change...)
	return a
}

// newAppSet is newApp that also returns the services, for the tests that
// run a background pass (the mail queue) themselves.
func newAppSet(t testing.TB, db *bun.DB, change ...func(*app.Deps)) (*fiber.App, services.Set) {
	t.Helper()
	d := app.Deps{Config: testConfig(t), Log: slog.New(slog.NewTextHandler(io.Discard, nil)), AuthRateLimit: 1000}
	d.Config.AbuseLimits = false // tests of the limits turn them on (withAbuseLimits)
	for _, f := range change {
		f(&d)
	}
	sender, err := mailer.NewSender(d.Config.SMTPURL, d.Log)
	if err != nil {
		t.Fatalf("mail sender: %v", err)
	}
	set, err := services.New(context.Background(), db, d.Now, nil, services.Options{Mail: mailer.Config{BaseURL: d.Config.BaseURL,
		From: d.Config.MailFrom, PostalAddress: d.Config.MailPostalAddress, Sender: sender, Log: d.Log}, RetentionDays: d.Config.RetentionDays})
	if err != nil {
		t.Fatalf("services.New: %v", err)
	}
	if d.Search != nil {
		set.Search = d.Search
	}
	if d.Limits != nil {
		set.Limits = d.Limits
	}
	d.Set = set
	a, err := app.New(d)
	if err != nil {
		t.Fatalf("app.New: %v", err)
	}
	return a, set
}

// startServer serves a on 127.0.0.1, as agora serve does, and returns its base URL.
func startServer(t testing.TB, a *fiber.App) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go a.Listener(app.Linger(ln))
	t.Cleanup(func() { a.ShutdownWithTimeout(5 * time.Second) })
	return "http://" + ln.Addr().String()
}

// call sends one request through app.Test and returns the response and body.
func call(t testing.TB, a *fiber.App, req *http.Request) (*http.Response, string) {
	t.Helper()
	res, err := a.Test(req, -1)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	return res, string(body)
}

// jsonReq builds an API request with a JSON body and an optional bearer token.
func jsonReq(method, path string, body any, token string) *http.Request {
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req := httptest.NewRequest(method, path, r)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return req
}

// formReq builds an HTML form post carrying cookies.
func formReq(path string, values map[string]string, cookies ...*http.Cookie) *http.Request {
	var parts []string
	for k, v := range values {
		parts = append(parts, urlEncode(k)+"="+urlEncode(v))
	}
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(strings.Join(parts, "&")))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, c := range cookies {
		req.AddCookie(c)
	}
	return req
}

func urlEncode(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}

// decode parses a JSON body into a generic map.
func decode(t testing.TB, body string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("decode %q: %v", body, err)
	}
	return m
}

// cookieNamed returns the Set-Cookie with that name, or nil.
func cookieNamed(res *http.Response, name string) *http.Cookie {
	for _, c := range res.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// withSearch gives the app a real search index in a temp dir; the returned
// catchUp applies the outbox to it, as the background indexer would.
func withSearch(t testing.TB, db *bun.DB) (func(*app.Deps), func()) {
	t.Helper()
	ix, err := search.Open(t.TempDir())
	if err != nil && !errors.Is(err, search.ErrNoIndex) {
		t.Fatal(err)
	}
	t.Cleanup(func() { ix.Close() })
	if _, err := search.Rebuild(context.Background(), db, ix, nil); err != nil {
		t.Fatal(err)
	}
	x := &search.Indexer{DB: db, Index: ix, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	return func(d *app.Deps) { d.Search = search.NewService(db, ix) }, func() {
		t.Helper()
		if _, err := x.CatchUp(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}

// why is a moderator's reason in the plain string form.
func why(s string) moderation.Reason { return moderation.ParseReason(s) }

// errOf keeps only the error of a call that returns a value too.
func errOf[T any](_ T, err error) error { return err }
