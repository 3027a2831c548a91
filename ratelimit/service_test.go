package ratelimit_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"agora/internal/testdb"
	"agora/models"
	"agora/policy"
	"agora/ratelimit"
)

// TestTakeLeases: a large budget is taken from the store a fiftieth at a
// time, yet one node counts down exactly and refuses the request past the
// limit, and two nodes sharing the store never let through more than the
// limit and refuse it at most a lease early each.
func TestTakeLeases(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		l := policy.Limit{Max: 500, Per: time.Minute}
		one := ratelimit.New(ratelimit.NewDB(db, nil), nil)
		for i := range l.Max {
			r, err := one.Take(ctx, "one", l, "test")
			if err != nil || r.Remaining != l.Max-1-i || r.Limit != l.Max {
				t.Fatalf("take %d: %+v, %v; want remaining %d", i+1, r, err, l.Max-1-i)
			}
		}
		var rle *models.RateLimitError
		if _, err := one.Take(ctx, "one", l, "test"); !errors.As(err, &rle) || rle.RetryAfter <= 0 {
			t.Fatalf("take past the limit: %v, want a RateLimitError with a wait", err)
		}
		var writes int
		if err := db.NewRaw("SELECT n FROM shared_store WHERE k = 'one'").Scan(ctx, &writes); err != nil {
			t.Fatalf("read the shared count: %v", err)
		}
		if writes < l.Max || writes > l.Max+l.Max/50 {
			t.Errorf("shared count %d for %d takes", writes, l.Max)
		}

		a, b := ratelimit.New(ratelimit.NewDB(db, nil), nil), ratelimit.New(ratelimit.NewDB(db, nil), nil)
		allowed := 0
		for i := range 2 * l.Max {
			node := a
			if i%2 == 1 {
				node = b
			}
			if _, err := node.Take(ctx, "two", l, "test"); err == nil {
				allowed++
			}
		}
		if lease := l.Max / 50; allowed > l.Max || allowed < l.Max-2*lease {
			t.Errorf("two nodes allowed %d of a limit of %d, want %d to %d", allowed, l.Max, l.Max-2*lease, l.Max)
		}
	})
}
