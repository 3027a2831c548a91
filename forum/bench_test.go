package forum_test

import (
	"context"
	"testing"
	"time"

	"agora/forum"
	"agora/internal/testdb"
	"agora/models"
	"agora/seed"
)

// BenchmarkTopicPage measures loading one page of 20 posts with its authors,
// likes and best answer from SQLite: the read behind every topic view.
func BenchmarkTopicPage(b *testing.B) {
	ctx := context.Background()
	db := testdb.Open(b, "sqlite")
	if _, err := seed.Synthetic(ctx, db, seed.Options{Topics: 500, Replies: 15000, Users: 300, Seed: 1}, time.Now()); err != nil {
		b.Fatal(err)
	}
	var ids []int64
	if err := db.NewSelect().Model((*models.Topic)(nil)).Column("id").Where("reply_count >= 19").Scan(ctx, &ids); err != nil || len(ids) == 0 {
		b.Fatalf("no topics with 20 posts (%v)", err)
	}
	svc := forum.New(db, nil)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		v, err := svc.TopicPage(ctx, nil, ids[i%len(ids)], 1)
		if err != nil || len(v.Posts) != forum.PerPage {
			b.Fatalf("topic page: %d posts, %v", len(v.Posts), err)
		}
		i++
	}
}
