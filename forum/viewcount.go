package forum

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/uptrace/bun"
)

// ViewCounter counts topic views once per viewer per hour. Page views are
// buffered in memory and written in one transaction per flush, so reading a
// topic costs no write; the topic_views table dedupes across app nodes.
type ViewCounter struct {
	db  *bun.DB
	now func() time.Time

	mu      sync.Mutex
	pending map[viewKey]struct{}
}

type viewKey struct {
	topicID int64
	viewer  string
	hour    int64
}

// maxPending bounds memory if flushing falls behind; extra views are dropped.
const maxPending = 200_000

// NewViewCounter returns a counter writing to db.
func NewViewCounter(db *bun.DB, now func() time.Time) *ViewCounter {
	if now == nil {
		now = time.Now
	}
	return &ViewCounter{db: db, now: now, pending: map[viewKey]struct{}{}}
}

// Record notes that viewer (a member id or a hashed address) saw a topic.
func (v *ViewCounter) Record(topicID int64, viewer string) {
	k := viewKey{topicID, viewer, v.now().Unix() / 3600}
	v.mu.Lock()
	if len(v.pending) < maxPending {
		v.pending[k] = struct{}{}
	}
	v.mu.Unlock()
}

// Flush writes the buffered views: new (topic, viewer, hour) rows add one to
// the topic's view_count. Rows older than a day are purged.
func (v *ViewCounter) Flush(ctx context.Context) error {
	v.mu.Lock()
	batch := v.pending
	v.pending = map[viewKey]struct{}{}
	v.mu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	counts := map[int64]int{}
	err := v.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		for k := range batch {
			res, err := tx.NewRaw("INSERT INTO topic_views (topic_id, viewer, hour) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
				k.topicID, k.viewer, k.hour).Exec(ctx)
			if err != nil {
				return fmt.Errorf("record view: %w", err)
			}
			if n, _ := res.RowsAffected(); n > 0 {
				counts[k.topicID]++
			}
		}
		for id, n := range counts {
			if _, err := tx.NewRaw("UPDATE topics SET view_count = view_count + ? WHERE id = ?", n, id).Exec(ctx); err != nil {
				return fmt.Errorf("count views: %w", err)
			}
		}
		_, err := tx.NewRaw("DELETE FROM topic_views WHERE hour < ?", v.now().Unix()/3600-24).Exec(ctx)
		return err
	})
	return err
}

// Run flushes every interval until ctx ends, then once more.
func (v *ViewCounter) Run(ctx context.Context, every time.Duration, onErr func(error)) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			if err := v.Flush(context.WithoutCancel(ctx)); err != nil {
				onErr(err)
			}
			return
		case <-tick.C:
			if err := v.Flush(ctx); err != nil {
				onErr(err)
			}
		}
	}
}
