package app

// TEMPORARY (perf work): render-only timing of topic.html and home.html. Delete before finishing.

import (
	"bytes"
	"context"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"agora/accounts"
	"agora/config"
	"agora/internal/testdb"
	"agora/models"
	"agora/seed"
)

func BenchmarkZZRender(b *testing.B) {
	ctx := context.Background()
	db := testdb.Open(b, "sqlite")
	if _, err := seed.Synthetic(ctx, db, seed.Options{Topics: 300, Replies: 9000, Users: 200, Seed: 1}, time.Now()); err != nil {
		b.Fatal(err)
	}
	var topics []*models.Topic
	if err := db.NewSelect().Model(&topics).Column("id", "slug").Where("reply_count >= 19").Limit(1).Scan(ctx); err != nil {
		b.Fatal(err)
	}
	cfg, _, _ := config.Load(nil, func(string) string { return "" })
	a, err := New(Deps{DB: db, Config: cfg, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	_ = a
	s := lastServer
	acc := accounts.New(db, nil)
	u, err := acc.Register(ctx, accounts.RegisterInput{Username: "zzmember", Email: "zz@example.com", Password: "a long enough password", AgeConfirmed: true})
	if err != nil {
		b.Fatal(err)
	}
	tok, _, _ := acc.StartSession(ctx, u.ID, "127.0.0.1", "x")
	var size int
	run := func(b *testing.B, path, cookie string, h func(c *fiber.Ctx) (string, any, error)) {
		app := fiber.New()
		app.Use(s.authenticate)
		app.Get("/*", func(c *fiber.Ctx) error {
			name, data, err := h(c)
			if err != nil {
				return err
			}
			u := currentUser(c)
			p := page{Title: "x", Community: "c", User: u, Staff: u.IsStaff(), Admin: u.IsAdmin(), CSRF: "tok", Path: c.Path(), Assets: s.assetURLs, Data: data}
			s.modFrame(c, &p)
			var buf bytes.Buffer
			if err := s.pages[name].Execute(&buf, p); err != nil {
				return err
			}
			size = buf.Len()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				buf.Reset()
				s.pages[name].Execute(&buf, p)
			}
			b.ReportMetric(float64(size), "bytes/page")
			return nil
		})
		req := httptest.NewRequest(http.MethodGet, path, nil)
		if cookie != "" {
			req.AddCookie(&http.Cookie{Name: "agora_session", Value: cookie})
		}
		res, err := app.Test(req, -1)
		if err != nil || res.StatusCode != 200 {
			b.Fatal(err, res.StatusCode)
		}
	}
	topic := func(c *fiber.Ctx) (string, any, error) {
		d, err := s.loadTopicPage(c, topics[0].ID, 1)
		if err != nil {
			return "", nil, err
		}
		return "topic", d, nil
	}
	home := func(c *fiber.Ctx) (string, any, error) {
		o, _ := listOptions(c, 0)
		o.PerPage = 30
		p, err := s.topicList(c, o)
		if err != nil {
			return "", nil, err
		}
		p.BaseURL = "/"
		return "home", s.listView(p), nil
	}
	b.Run("topic-guest", func(b *testing.B) { run(b, "/t", "", topic) })
	b.Run("topic-member", func(b *testing.B) { run(b, "/t", tok, topic) })
	b.Run("home-guest", func(b *testing.B) { run(b, "/", "", home) })
	b.Run("bare", func(b *testing.B) {
		// A bare html/template page of the topic page's size: static text and 20 rows of 3 actions.
		row := strings.Repeat("<p>static text of the page, as long as a post with its markup around it</p>\n", 30)
		bare := template.Must(template.New("").Parse(`<html><body>{{range .}}<article id="p-{{.N}}"><a href="/u/{{.U}}">{{.U}}</a>` + row + `</article>{{end}}</body></html>`))
		type r struct {
			N int
			U string
		}
		rows := make([]r, 20)
		for i := range rows {
			rows[i] = r{i, fmt.Sprint("user", i)}
		}
		var buf bytes.Buffer
		b.ReportAllocs()
		for b.Loop() {
			buf.Reset()
			bare.Execute(&buf, rows)
		}
		b.ReportMetric(float64(buf.Len()), "bytes/page")
	})
}
