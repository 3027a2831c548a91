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
		s, err := Synthetic(context.Background(), db, Options{Topics: 30000, Replies: 270000, Users: 15000, Seed: 1}, time.Now())
		if err != nil {
			b.Fatal(err)
		}
		b.Log(s, s.PostsPerSecond())
	}
}
