package forum

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/uptrace/bun"

	"agora/models"
)

// ViewCounter counts topic views once per viewer per hour, and what members
// read and the days they visit (what levels are computed from). All are
// buffered in memory and written in one transaction per flush, so reading a
// topic costs no write; topic_views, topic_reads and users.last_visit_day
// dedupe across app nodes.
type ViewCounter struct {
	db  *bun.DB
	now func() time.Time
	// Events, when set, hears of new reads, visits and much-viewed topics in
	// the flush's transaction (levels, badges).
	Events models.Reactor

	mu      sync.Mutex
	pending map[viewKey]struct{}
	reads   map[readKey]int // the highest post number seen
	visits  map[int64]int64 // member → Unix day
}

type readKey struct{ userID, topicID int64 }

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
	return &ViewCounter{db: db, now: now, pending: map[viewKey]struct{}{}, reads: map[readKey]int{}, visits: map[int64]int64{}}
}

// Read notes that a member saw a topic up to post number upTo (the flush
// caps it at the topic's last post).
func (v *ViewCounter) Read(userID, topicID int64, upTo int) {
	k := readKey{userID, topicID}
	v.mu.Lock()
	if len(v.reads) < maxPending && upTo > v.reads[k] {
		v.reads[k] = upTo
	}
	v.mu.Unlock()
}

// Visit notes that a member made a request today.
func (v *ViewCounter) Visit(userID int64) {
	day := v.now().Unix() / 86400
	v.mu.Lock()
	if len(v.visits) < maxPending {
		v.visits[userID] = day
	}
	v.mu.Unlock()
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

// Flush writes the buffered reads and visits (flushMembers), then the views:
// new (topic, viewer, hour) rows add one to the topic's view_count. Rows
// older than a day are purged.
func (v *ViewCounter) Flush(ctx context.Context) error {
	v.mu.Lock()
	batch, reads, visits := v.pending, v.reads, v.visits
	v.pending, v.reads, v.visits = map[viewKey]struct{}{}, map[readKey]int{}, map[int64]int64{}
	v.mu.Unlock()
	if len(batch) == 0 && len(reads) == 0 && len(visits) == 0 {
		return nil
	}
	if err := v.flushMembers(ctx, reads, visits); err != nil {
		return err
	}
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
		ids := make([]int64, 0, len(counts))
		for id, n := range counts {
			if _, err := tx.NewRaw("UPDATE topics SET view_count = view_count + ? WHERE id = ?", n, id).Exec(ctx); err != nil {
				return fmt.Errorf("count views: %w", err)
			}
			ids = append(ids, id)
		}
		if _, err := tx.NewRaw("DELETE FROM topic_views WHERE hour < ?", v.now().Unix()/3600-24).Exec(ctx); err != nil {
			return fmt.Errorf("purge views: %w", err)
		}
		return v.popular(ctx, tx, ids)
	})
	return err
}

// flushMembers writes buffered reads and visits, one short transaction per
// member: a member's row is locked only while their own reads are counted,
// so their posts and likes meanwhile wait for nobody else's.
func (v *ViewCounter) flushMembers(ctx context.Context, reads map[readKey]int, visits map[int64]int64) error {
	now := v.now().UTC()
	byMember := map[int64]map[int64]int{} // member → topic → post number
	for k, upTo := range reads {
		if byMember[k.userID] == nil {
			byMember[k.userID] = map[int64]int{}
		}
		byMember[k.userID][k.topicID] = upTo
	}
	for id := range visits {
		if byMember[id] == nil {
			byMember[id] = map[int64]int{}
		}
	}
	for id, topics := range byMember {
		err := v.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			read := false
			for topicID, upTo := range topics {
				ok, err := models.CountRead(ctx, tx, id, topicID, upTo)
				if err != nil {
					return err
				}
				read = read || ok
			}
			if read {
				if err := models.React(ctx, v.Events, tx, models.Event{Kind: models.EventRead, Users: []int64{id}}); err != nil {
					return err
				}
			}
			day, ok := visits[id]
			if !ok {
				return nil
			}
			if ok, err := models.CountVisit(ctx, tx, id, day, now); err != nil || !ok {
				return err
			}
			return models.React(ctx, v.Events, tx, models.Event{Kind: models.EventVisit, Users: []int64{id}})
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// popular reports the topics among ids with enough views for a badge.
func (v *ViewCounter) popular(ctx context.Context, tx bun.Tx, ids []int64) error {
	if v.Events == nil || len(ids) == 0 {
		return nil
	}
	var rows []struct {
		ID     int64 `bun:"id"`
		UserID int64 `bun:"user_id"`
	}
	if err := tx.NewRaw("SELECT id, user_id FROM topics WHERE id IN (?) AND view_count >= ?", bun.List(ids), models.PopularViews).
		Scan(ctx, &rows); err != nil {
		return fmt.Errorf("load popular topics: %w", err)
	}
	ev := models.Event{Kind: models.EventViews}
	for _, r := range rows {
		ev.Users, ev.Topics = append(ev.Users, r.UserID), append(ev.Topics, r.ID)
	}
	return models.React(ctx, v.Events, tx, ev)
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
