package privacy_test

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"testing"
	"time"

	"agora/internal/testdb"
	"agora/models"
	"agora/privacy"
)

// BenchmarkExport exports a member who wrote 10,000 posts. The export
// streams row by row: the heap in use after it stays near where it
// started however many posts there are (heap-growth-KB), while
// B/op counts the garbage made along the way.
func BenchmarkExport(b *testing.B) {
	db := testdb.Open(b, "sqlite")
	ctx := context.Background()
	now := time.Now().UTC()
	u := &models.User{Username: "prolific", Email: "prolific@example.com", CreatedAt: now, UpdatedAt: now}
	if err := models.CreateUser(ctx, db, u); err != nil {
		b.Fatal(err)
	}
	cat := &models.Category{Name: "Help", Slug: "help", Color: "#336699", CreatedAt: now, UpdatedAt: now}
	if err := models.CreateCategory(ctx, db, cat); err != nil {
		b.Fatal(err)
	}
	topic := &models.Topic{CategoryID: cat.ID, UserID: u.ID, Title: "A long thread", Slug: "a-long-thread", LastPostedAt: now,
		CreatedAt: now, UpdatedAt: now}
	if _, err := db.NewInsert().Model(topic).Exec(ctx); err != nil {
		b.Fatal(err)
	}
	const posts = 10000
	for start := 0; start < posts; start += 500 {
		batch := make([]*models.Post, 500)
		for i := range batch {
			n := start + i + 1
			body := fmt.Sprintf("Post %d: the sync runs every hour, and the export must hold every word of it.", n)
			batch[i] = &models.Post{TopicID: topic.ID, UserID: u.ID, PostNumber: n, Body: body, HTML: "<p>" + body + "</p>",
				CreatedAt: now, UpdatedAt: now}
		}
		if _, err := db.NewInsert().Model(&batch).Exec(ctx); err != nil {
			b.Fatal(err)
		}
	}
	s := privacy.New(db, nil)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Export(ctx, u, io.Discard); err != nil {
			b.Fatal(err)
		}
	}
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(int64(after.HeapInuse)-int64(before.HeapInuse))/1024, "heap-growth-KB")
	b.ReportMetric(posts, "posts")
}
