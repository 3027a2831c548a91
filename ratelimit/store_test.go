package ratelimit_test

import (
	"context"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/redis/go-redis/v9"
	"github.com/uptrace/bun"

	"agora/accounts"
	"agora/internal/testclock"
	"agora/internal/testdb"
	"agora/ratelimit"
)

// Both stores are fiber.Storage, so Fiber's own middlewares could keep state there.
var (
	_ fiber.Storage = (*ratelimit.DB)(nil)
	_ fiber.Storage = (*ratelimit.Redis)(nil)
)

// redisStore is the store in the test Redis (AGORA_TEST_REDIS_URL, default 127.0.0.1:6379).
// Unreachable, the test is skipped, or fails under AGORA_REQUIRE_ALL_TESTS=1.
func redisStore(t *testing.T) *ratelimit.Redis {
	t.Helper()
	url := os.Getenv("AGORA_TEST_REDIS_URL")
	if url == "" {
		url = "redis://127.0.0.1:6379/0"
	}
	r, err := ratelimit.OpenRedis(context.Background(), url)
	if err != nil {
		if os.Getenv("AGORA_REQUIRE_ALL_TESTS") == "1" {
			t.Fatalf("Redis is required (AGORA_REQUIRE_ALL_TESTS=1): %v", err)
		}
		t.Skipf("no Redis: %v", err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// eachStore runs fn on the database store over SQLite and PostgreSQL, and on Redis.
func eachStore(t *testing.T, fn func(t *testing.T, s ratelimit.Store)) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) { fn(t, ratelimit.NewDB(db, nil)) })
	t.Run("redis", func(t *testing.T) { fn(t, redisStore(t)) })
}

// unique keeps parallel runs on one Redis apart.
func unique(t *testing.T, key string) string {
	return key + ":" + t.Name() + ":" + accounts.NewToken()[:8]
}

func TestStoreValues(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, s ratelimit.Store) {
		k := unique(t, "v")
		if v, err := s.Get(k); err != nil || v != nil {
			t.Fatalf("Get(missing) = %q, %v; want nil, nil", v, err)
		}
		for _, val := range []string{"one", "two"} {
			if err := s.Set(k, []byte(val), time.Minute); err != nil {
				t.Fatal(err)
			}
			if v, err := s.Get(k); err != nil || string(v) != val {
				t.Fatalf("Get after Set(%q) = %q, %v", val, v, err)
			}
		}
		if err := s.Set(k+"forever", []byte("x"), 0); err != nil {
			t.Fatal(err)
		}
		if v, _ := s.Get(k + "forever"); string(v) != "x" {
			t.Errorf("a value without expiry reads %q, want x", v)
		}
		if err := s.Delete(k); err != nil {
			t.Fatal(err)
		}
		if v, _ := s.Get(k); v != nil {
			t.Errorf("Get after Delete = %q, want nil", v)
		}
	})
}

func TestStoreHitCounts(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, s ratelimit.Store) {
		ctx := context.Background()
		k := unique(t, "hits")
		for want := 1; want <= 3; want++ {
			n, until, err := s.Hit(ctx, k, time.Minute, 1)
			if err != nil || n != want {
				t.Fatalf("hit %d: n = %d, %v", want, n, err)
			}
			if left := time.Until(until); left <= 50*time.Second || left > time.Minute+time.Second {
				t.Errorf("hit %d: window ends in %v, want about a minute", want, left)
			}
		}
		if err := s.Undo(ctx, k); err != nil {
			t.Fatal(err)
		}
		if n, _, _ := s.Hit(ctx, k, time.Minute, 1); n != 3 {
			t.Errorf("after an undo the next hit counts %d, want 3", n)
		}
		if n, _, _ := s.Hit(ctx, k+"other", time.Minute, 1); n != 1 {
			t.Errorf("another key starts at %d, want 1", n)
		}
		if n, _, _ := s.Hit(ctx, k+"lease", time.Minute, 5); n != 5 {
			t.Errorf("a hit by 5 starts at %d, want 5", n)
		}
		if n, _, _ := s.Hit(ctx, k+"lease", time.Minute, 5); n != 10 {
			t.Errorf("a second hit by 5 counts %d, want 10", n)
		}
	})
}

// TestStoreHitIsAtomic: hits racing from many connections (as from many
// nodes) all count; a read-modify-write would lose some.
func TestStoreHitIsAtomic(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, s ratelimit.Store) {
		ctx := context.Background()
		k := unique(t, "race")
		const workers, each = 8, 25
		var wg sync.WaitGroup
		seen := make(chan int, workers*each)
		for range workers {
			wg.Go(func() {
				for range each {
					n, _, err := s.Hit(ctx, k, time.Minute, 1)
					if err != nil {
						t.Error(err)
						return
					}
					seen <- n
				}
			})
		}
		wg.Wait()
		close(seen)
		got := map[int]bool{}
		for n := range seen {
			if got[n] {
				t.Errorf("two hits both counted %d", n)
			}
			got[n] = true
		}
		if n, _, _ := s.Hit(ctx, k, time.Minute, 1); n != workers*each+1 {
			t.Errorf("after %d racing hits the next counts %d, want %d", workers*each, n, workers*each+1)
		}
	})
}

// TestDBStoreExpiry: a window ends on time, a value expires, and Purge
// deletes what expired (on the database store, whose clock the test sets).
func TestDBStoreExpiry(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		clk := testclock.New(time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC))
		s := ratelimit.NewDB(db, clk.Now)
		for range 3 {
			s.Hit(ctx, "w", time.Minute, 1)
		}
		s.Set("v", []byte("x"), 30*time.Second)
		clk.Add(59 * time.Second)
		if n, _, _ := s.Hit(ctx, "w", time.Minute, 1); n != 4 {
			t.Errorf("within the window: n = %d, want 4", n)
		}
		if v, _ := s.Get("v"); v != nil {
			t.Errorf("a value past its expiry reads %q, want nil", v)
		}
		clk.Add(time.Second)
		n, until, err := s.Hit(ctx, "w", time.Minute, 1)
		if err != nil || n != 1 || !until.Equal(clk.Now().Add(time.Minute)) {
			t.Errorf("at the window's end: n = %d, until %v, %v; want 1 and a new window", n, until, err)
		}
		if err := s.Purge(ctx); err != nil {
			t.Fatal(err)
		}
		var rows int
		if err := db.NewRaw("SELECT count(*) FROM shared_store").Scan(ctx, &rows); err != nil || rows != 1 {
			t.Errorf("rows after Purge = %d, %v; want 1 (the live counter)", rows, err)
		}
		if err := s.Reset(); err != nil {
			t.Fatal(err)
		}
		if n, _, _ := s.Hit(ctx, "w", time.Minute, 1); n != 1 {
			t.Errorf("after Reset n = %d, want 1", n)
		}
	})
}

// TestRedisResetKeepsOthers: Reset deletes Agora's keys, not the rest of the Redis database.
func TestRedisResetKeepsOthers(t *testing.T) {
	r := redisStore(t).WithPrefix("agora-test-" + accounts.NewToken()[:8] + ":")
	ctx := context.Background()
	raw := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	defer raw.Close()
	other := "agora:not-this-prefix:" + accounts.NewToken()[:8]
	if err := raw.Set(ctx, other, "theirs", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	defer raw.Del(ctx, other)
	k := unique(t, "mine")
	r.Set(k, []byte("1"), time.Minute)
	if err := r.Reset(); err != nil {
		t.Fatal(err)
	}
	if v, _ := r.Get(k); v != nil {
		t.Errorf("Agora's key survived Reset")
	}
	if n, _ := raw.Exists(ctx, other).Result(); n != 1 {
		t.Errorf("Reset deleted a key that is not Agora's")
	}
}

func TestKeyHidesClient(t *testing.T) {
	k := ratelimit.Key("auth", "198.51.100.7")
	if k == ratelimit.Key("auth", "198.51.100.8") || k == ratelimit.Key("search", "198.51.100.7") {
		t.Error("keys of different clients or kinds collide")
	}
	for _, part := range []string{"198", "51.100"} {
		if strings.Contains(k, part) {
			t.Errorf("key %q shows the address", k)
		}
	}
}
