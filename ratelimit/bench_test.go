package ratelimit_test

import (
	"context"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"agora/internal/testdb"
	"agora/ratelimit"
)

// BenchmarkHit is the cost one limited request adds: one counter hit, from
// 8 goroutines per CPU over 64 clients (go test -bench Hit -benchtime 3s ./ratelimit).
func BenchmarkHit(b *testing.B) {
	stores := map[string]func(b *testing.B) ratelimit.Store{
		"sqlite": func(b *testing.B) ratelimit.Store { return ratelimit.NewDB(testdb.Open(b, "sqlite"), nil) },
		"postgres": func(b *testing.B) ratelimit.Store {
			if os.Getenv("AGORA_TEST_POSTGRES_URL") == "" {
				b.Skip("no PostgreSQL")
			}
			return ratelimit.NewDB(testdb.Open(b, "postgres"), nil)
		},
		"redis": func(b *testing.B) ratelimit.Store {
			r, err := ratelimit.OpenRedis(context.Background(), "redis://127.0.0.1:6379/0")
			if err != nil {
				b.Skip(err)
			}
			b.Cleanup(func() { r.Close() })
			return r
		},
	}
	for _, name := range []string{"sqlite", "postgres", "redis"} {
		b.Run(name, func(b *testing.B) {
			s := stores[name](b)
			ctx := context.Background()
			var next atomic.Int64
			b.SetParallelism(8)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, _, err := s.Hit(ctx, "bench:"+strconv.FormatInt(next.Add(1)%64, 10), time.Minute); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
