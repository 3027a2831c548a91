package ratelimit_test

import (
	"context"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"agora/internal/testdb"
	"agora/policy"
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
					if _, _, err := s.Hit(ctx, "bench:"+strconv.FormatInt(next.Add(1)%64, 10), time.Minute, 1); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkTake is the API limit's cost per allowed request at the default
// budget (600 a minute, leases of 12), with the store in SQLite and PostgreSQL.
func BenchmarkTake(b *testing.B) {
	for _, kind := range []string{"sqlite", "postgres"} {
		b.Run(kind, func(b *testing.B) {
			if kind == "postgres" && os.Getenv("AGORA_TEST_POSTGRES_URL") == "" {
				b.Skip("no PostgreSQL")
			}
			svc := ratelimit.New(ratelimit.NewDB(testdb.Open(b, kind), nil), nil)
			l := policy.Limit{Max: 600, Per: time.Minute}
			ctx := context.Background()
			var clients atomic.Int64
			b.SetParallelism(8)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				// Each goroutine is a client after another, making half its budget's requests, all allowed.
				me, i := clients.Add(1), 0
				for pb.Next() {
					i++
					if _, err := svc.Take(ctx, "bench:"+strconv.FormatInt(me, 10)+":"+strconv.Itoa(i/300), l, "bench"); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
