package app

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	"agora/internal/testdb"
	"agora/models"
	"agora/seed"
	"agora/services"
)

// BenchmarkTopicTemplate times topic.html alone: a guest's page of a topic
// with 20 posts, its data loaded once from a seeded database, executed
// again and again. It separates the template's cost from the queries'
// (forum.BenchmarkTopicPage) and from a whole request's
// (BenchmarkTopicPage/html-nocache).
func BenchmarkTopicTemplate(b *testing.B) {
	ctx := context.Background()
	db := testdb.Open(b, "sqlite")
	if _, err := seed.Synthetic(ctx, db, seed.Options{Topics: 20, Replies: 600, Users: 50, Seed: 1}, time.Now()); err != nil {
		b.Fatal(err)
	}
	var topic models.Topic
	if err := db.NewSelect().Model(&topic).Where("reply_count >= 19").Limit(1).Scan(ctx); err != nil {
		b.Fatalf("no topic with 20 posts: %v", err)
	}
	set, err := services.New(ctx, db, nil, nil, services.Options{})
	if err != nil {
		b.Fatal(err)
	}
	s, _, err := newServer(Deps{Set: set, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	app := fiber.New()
	c := app.AcquireCtx(&fasthttp.RequestCtx{})
	defer app.ReleaseCtx(c)
	d, err := s.loadTopicPage(c, topic.ID, 1)
	if err != nil {
		b.Fatal(err)
	}
	if len(d.Posts) != 20 {
		b.Fatalf("the page holds %d posts, want 20", len(d.Posts))
	}
	p := page{Title: d.Topic.Title, Community: "Bench", Path: topicURL(d.Topic), Assets: s.assetURLs, Data: d}
	t := s.pages["topic"]
	var size int
	b.ReportAllocs()
	for b.Loop() {
		w := &countingWriter{}
		if err := t.Execute(w, p); err != nil {
			b.Fatal(err)
		}
		size = w.n
	}
	b.ReportMetric(float64(size), "bytes/page")
}

// countingWriter discards what it is given and counts it.
type countingWriter struct{ n int }

func (w *countingWriter) Write(p []byte) (int, error) {
	w.n += len(p)
	return len(p), nil
}
