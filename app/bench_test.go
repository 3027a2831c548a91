package app_test

import (
	"context"
	"fmt"
	"html/template"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"agora/app"
	"agora/internal/testdb"
	"agora/models"
	"agora/seed"
)

// BenchmarkTopicPage measures a topic page of 20 posts end to end through
// the real app (queries, template rendering, middleware), as HTML and JSON
// for a guest and as HTML for a member, next to a bare page of the same size.
func BenchmarkTopicPage(b *testing.B) {
	ctx := context.Background()
	db := testdb.Open(b, "sqlite")
	if _, err := seed.Synthetic(ctx, db, seed.Options{Topics: 300, Replies: 9000, Users: 200, Seed: 1}, time.Now()); err != nil {
		b.Fatal(err)
	}
	var topics []*models.Topic
	if err := db.NewSelect().Model(&topics).Column("id", "slug").Where("reply_count >= 19").Scan(ctx); err != nil || len(topics) == 0 {
		b.Fatalf("no topics with 20 posts (%v)", err)
	}
	a := newApp(b, db, func(d *app.Deps) { d.Config.RateLimit = 1 << 30 })
	// nocache: every page rendered from the database, as on a page cache miss.
	nocache := newApp(b, db, func(d *app.Deps) { d.Config.RateLimit, d.Config.PageCacheMB = 1<<30, 0 })
	paths := map[string]func(t *models.Topic) string{
		"html": func(t *models.Topic) string { return fmt.Sprintf("/t/%d/%s", t.ID, t.Slug) },
		"json": func(t *models.Topic) string { return fmt.Sprintf("/api/v1/topics/%d", t.ID) },
	}
	// html-member: a signed-in member, who gets the like, flag and reply forms.
	member := mustTPUser(b, db, "benchmember", "")
	for _, name := range []string{"html", "json", "html-nocache", "json-nocache", "html-member"} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			defer reportCPU(b)()
			a := a
			if strings.HasSuffix(name, "-nocache") {
				a = nocache
			}
			kind, _, _ := strings.Cut(name, "-")
			i := 0
			for b.Loop() {
				req := httptest.NewRequest(http.MethodGet, paths[kind](topics[i%len(topics)]), nil)
				if strings.HasSuffix(name, "-member") {
					req.AddCookie(member.cookie)
				}
				res, err := a.Test(req, -1)
				if err != nil {
					b.Fatal(err)
				}
				if res.StatusCode != http.StatusOK {
					b.Fatalf("GET %s: %d", req.URL, res.StatusCode)
				}
				res.Body.Close()
				i++
			}
		})
	}
	// bare: a topic page's bytes from an html/template without actions on a
	// plain Fiber app, the floor the html case is compared with.
	_, page := call(b, a, httptest.NewRequest(http.MethodGet, paths["html"](topics[0]), nil))
	bare := template.Must(template.New("bare").Delims("{{{bare", "bare}}}").Parse(page))
	ba := fiber.New()
	ba.Get("/", func(c *fiber.Ctx) error {
		c.Response().Header.SetContentType(fiber.MIMETextHTMLCharsetUTF8)
		return bare.Execute(c.Response().BodyWriter(), nil)
	})
	b.Run("bare", func(b *testing.B) {
		b.ReportAllocs()
		defer reportCPU(b)()
		for b.Loop() {
			res, err := ba.Test(httptest.NewRequest(http.MethodGet, "/", nil), -1)
			if err != nil || res.StatusCode != http.StatusOK {
				b.Fatal(err, res.StatusCode)
			}
			res.Body.Close()
		}
	})
}

// BenchmarkTopicList measures the home page (the latest 30 topics) and a
// category's list end to end, as a guest.
func BenchmarkTopicList(b *testing.B) {
	ctx := context.Background()
	db := testdb.Open(b, "sqlite")
	if _, err := seed.Synthetic(ctx, db, seed.Options{Topics: 300, Replies: 9000, Users: 200, Seed: 1}, time.Now()); err != nil {
		b.Fatal(err)
	}
	var cat models.Category
	if err := db.NewSelect().Model(&cat).Order("topic_count DESC").Limit(1).Scan(ctx); err != nil {
		b.Fatal(err)
	}
	a := newApp(b, db)
	for _, c := range []struct{ name, path string }{{"home", "/"}, {"category", "/c/" + cat.Slug}} {
		path := c.path
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			defer reportCPU(b)()
			for b.Loop() {
				res, err := a.Test(httptest.NewRequest(http.MethodGet, path, nil), -1)
				if err != nil {
					b.Fatal(err)
				}
				if res.StatusCode != http.StatusOK {
					b.Fatalf("GET %s: %d", path, res.StatusCode)
				}
				res.Body.Close()
			}
		})
	}
}

// reportCPU reports the process's CPU time (user and system, GC included)
// per iteration as cpu-ns/op: on a busy machine wall time says little about
// what a request costs. Call it as defer reportCPU(b)().
func reportCPU(b *testing.B) func() {
	start := cpuTime()
	return func() {
		if b.N > 0 {
			b.ReportMetric(float64((cpuTime()-start).Nanoseconds())/float64(b.N), "cpu-ns/op")
		}
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
