package app_test

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"agora/internal/testdb"
)

func TestHomeHeader(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		a := newApp(t, db)
		res, body := getPage(t, a, "/")
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET / = %d, want 200", res.StatusCode)
		}
		if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
			t.Errorf("Content-Type = %q, want text/html", ct)
		}
		for _, want := range []string{`<a class="btn btn-ghost" href="/login">Sign in</a>`, `href="/register"`, "<title>Agora Community</title>"} {
			if !strings.Contains(body, want) {
				t.Errorf("anonymous home page lacks %q", want)
			}
		}
		if strings.Contains(body, `class="user-chip"`) {
			t.Error("anonymous home page shows a signed-in member")
		}

		mustAPIRegister(t, a, "ivan", "ivan@example.com")
		ck, _ := mustAPILogin(t, a, "ivan")
		res, body = getPage(t, a, "/", ck)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET / signed in = %d, want 200", res.StatusCode)
		}
		for _, want := range []string{`<span class="user-name">ivan</span>`, `href="/u/ivan"`, `id="logout"`} {
			if !strings.Contains(body, want) {
				t.Errorf("signed-in home page lacks %q", want)
			}
		}
		if strings.Contains(body, ">Sign in</a>") {
			t.Error("signed-in home page still offers Sign in")
		}
		if strings.Contains(body, "ivan@example.com") {
			t.Error("home page shows the member's email")
		}
		if cc := res.Header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
			t.Errorf("signed-in page Cache-Control = %q, want no-store", cc)
		}
	})
}

func TestNotFound(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		a := newApp(t, db)
		pages := []string{"/no-such-page", "/u/nobody", "/u/", "/assets/nope.css", "/c/none/extra/parts"}
		for _, path := range pages {
			t.Run("page "+path, func(t *testing.T) {
				res, body := getPage(t, a, path)
				if res.StatusCode != http.StatusNotFound {
					t.Fatalf("GET %s = %d, want 404", path, res.StatusCode)
				}
				if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
					t.Errorf("Content-Type = %q, want text/html", ct)
				}
				if !strings.Contains(body, "Page not found") || !strings.Contains(body, `href="/"`) {
					t.Error("404 page lacks its heading or the way back")
				}
			})
		}
		apis := []struct{ method, path string }{
			{http.MethodGet, "/api/v1/x"},
			{http.MethodGet, "/api/v1/users/nobody"},
			{http.MethodPost, "/api/v1/x"},
			{http.MethodGet, "/api/v2/me"},
		}
		for _, r := range apis {
			t.Run("api "+r.method+" "+r.path, func(t *testing.T) {
				var body any
				if r.method == http.MethodPost {
					body = map[string]any{}
				}
				res, b := call(t, a, jsonReq(r.method, r.path, body, ""))
				if res.StatusCode != http.StatusNotFound {
					t.Fatalf("%s %s = %d, want 404; body %s", r.method, r.path, res.StatusCode, b)
				}
				if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
					t.Errorf("Content-Type = %q, want application/json", ct)
				}
				if code, _ := apiErr(t, b); code != "not_found" {
					t.Errorf("error.code = %q, want not_found", code)
				}
			})
		}
	})
}

func TestProfilePage(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		a := newApp(t, db)
		mustAPIRegister(t, a, "Judy", "judy@example.com")
		for _, path := range []string{"/u/Judy", "/u/judy"} {
			res, body := getPage(t, a, path)
			if res.StatusCode != http.StatusOK {
				t.Fatalf("GET %s = %d, want 200", path, res.StatusCode)
			}
			for _, want := range []string{"Userlevel 1", "Badge +0", "@Judy", "<title>Judy · Agora Community</title>"} {
				if !strings.Contains(body, want) {
					t.Errorf("GET %s lacks %q", path, want)
				}
			}
			if strings.Contains(body, "judy@example.com") {
				t.Errorf("GET %s shows the email", path)
			}
		}
		// An erased member has no profile any more.
		if _, err := db.NewUpdate().TableExpr("users").Set("deleted_at = ?", time.Now().UTC()).Where("username = ?", "Judy").Exec(context.Background()); err != nil {
			t.Fatal(err)
		}
		if res, _ := getPage(t, a, "/u/Judy"); res.StatusCode != http.StatusNotFound {
			t.Errorf("profile of an erased member = %d, want 404", res.StatusCode)
		}
		if res, _ := call(t, a, jsonReq(http.MethodGet, "/api/v1/users/Judy", nil, "")); res.StatusCode != http.StatusNotFound {
			t.Errorf("API profile of an erased member = %d, want 404", res.StatusCode)
		}
	})
}

func TestHealth(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		a := newApp(t, db)
		for _, path := range []string{"/healthz", "/readyz"} {
			res, body := getPage(t, a, path)
			if res.StatusCode != http.StatusOK {
				t.Errorf("GET %s = %d, want 200; body %s", path, res.StatusCode, body)
			}
			if m := decode(t, body); m["status"] == nil {
				t.Errorf("GET %s body %s has no status", path, body)
			}
		}
	})
}

func TestReadyzDatabaseDown(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		a := newApp(t, db)
		db.Close() // this test's own database: nothing else uses it
		res, body := getPage(t, a, "/readyz")
		if res.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("GET /readyz with the database closed = %d, want 503; body %s", res.StatusCode, body)
		}
		if res, _ := getPage(t, a, "/healthz"); res.StatusCode != http.StatusOK {
			t.Errorf("GET /healthz with the database closed = %d, want 200 (the process is up)", res.StatusCode)
		}
		if strings.Contains(body, "sql:") || strings.Contains(body, "closed") {
			t.Errorf("/readyz leaks the database error: %s", body)
		}
	})
}

func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		a := newApp(t, db)
		_, home := getPage(t, a, "/")
		css := regexp.MustCompile(`href="(/assets/app\.[0-9a-f]{10}\.css)"`).FindStringSubmatch(home)
		if css == nil {
			t.Fatal("home page links no hashed stylesheet")
		}
		for _, path := range []string{"/", "/login", "/no-such-page", "/api/v1/me", "/healthz", css[1]} {
			t.Run(path, func(t *testing.T) {
				res, _ := getPage(t, a, path)
				csp := res.Header.Get("Content-Security-Policy")
				directives := map[string]string{}
				for _, d := range strings.Split(csp, ";") {
					name, value, _ := strings.Cut(strings.TrimSpace(d), " ")
					directives[name] = value
				}
				wants := map[string]string{
					"default-src":     "'self'",
					"script-src":      "'self'",
					"object-src":      "'none'",
					"frame-ancestors": "'none'",
					"base-uri":        "'self'",
				}
				for d, v := range wants {
					if directives[d] != v {
						t.Errorf("CSP %s = %q, want %q (CSP %q)", d, directives[d], v, csp)
					}
				}
				if strings.Contains(directives["script-src"], "unsafe") {
					t.Errorf("CSP script-src allows %q", directives["script-src"])
				}
				headers := map[string]string{
					"X-Content-Type-Options": "nosniff",
					"Referrer-Policy":        "strict-origin-when-cross-origin",
				}
				for h, v := range headers {
					if got := res.Header.Get(h); got != v {
						t.Errorf("%s = %q, want %q", h, got, v)
					}
				}
				if res.Header.Get("X-Frame-Options") == "" {
					t.Error("no X-Frame-Options")
				}
				if res.Header.Get("Server") != "" || res.Header.Get("X-Powered-By") != "" {
					t.Errorf("response names the server software: Server %q, X-Powered-By %q", res.Header.Get("Server"), res.Header.Get("X-Powered-By"))
				}
			})
		}
	})
}

func TestAssets(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		a := newApp(t, db)
		_, home := getPage(t, a, "/")
		tests := []struct {
			name, pattern, contentType string
		}{
			{"stylesheet", `href="(/assets/app\.[0-9a-f]{10}\.css)"`, "text/css"},
			{"script", `src="(/assets/app\.[0-9a-f]{10}\.js)"`, "javascript"},
			{"icon", `href="(/assets/favicon\.[0-9a-f]{10}\.svg)"`, "image/svg+xml"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				m := regexp.MustCompile(tt.pattern).FindStringSubmatch(home)
				if m == nil {
					t.Fatalf("home page has no hashed %s URL matching %s", tt.name, tt.pattern)
				}
				res, body := getPage(t, a, m[1])
				if res.StatusCode != http.StatusOK {
					t.Fatalf("GET %s = %d, want 200", m[1], res.StatusCode)
				}
				if body == "" {
					t.Errorf("GET %s: empty body", m[1])
				}
				if ct := res.Header.Get("Content-Type"); !strings.Contains(ct, tt.contentType) {
					t.Errorf("GET %s Content-Type = %q, want %s", m[1], ct, tt.contentType)
				}
				cc := res.Header.Get("Cache-Control")
				if !strings.Contains(cc, "immutable") || !strings.Contains(cc, "max-age=31536000") {
					t.Errorf("GET %s Cache-Control = %q, want a year, immutable", m[1], cc)
				}
				// Another hash or no hash is not this file.
				wrong := regexp.MustCompile(`\.[0-9a-f]{10}\.`).ReplaceAllString(m[1], ".0000000000.")
				plain := regexp.MustCompile(`\.[0-9a-f]{10}\.`).ReplaceAllString(m[1], ".")
				for _, p := range []string{wrong, plain} {
					if res, _ := getPage(t, a, p); res.StatusCode != http.StatusNotFound {
						t.Errorf("GET %s = %d, want 404", p, res.StatusCode)
					}
				}
			})
		}
		for _, p := range []string{"/assets/../go.mod", "/assets/%2e%2e%2fgo.mod", "/assets/"} {
			if res, _ := getPage(t, a, p); res.StatusCode != http.StatusNotFound {
				t.Errorf("GET %s = %d, want 404", p, res.StatusCode)
			}
		}
	})
}
