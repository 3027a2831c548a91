package seed

import (
	"context"
	"testing"
	"time"

	"agora/internal/testdb"
)

func BenchmarkScratchSynth(b *testing.B) {
	for i := 0; i < b.N; i++ {
		db := testdb.Open(b, "sqlite")
		s, err := Synthetic(context.Background(), db, Options{Topics: 100000, Replies: 900000, Users: 50000, Seed: 1}, time.Now())
		if err != nil {
			b.Fatal(err)
		}
		b.Log(s, s.PostsPerSecond())
	}
}
