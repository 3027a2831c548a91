package privacy_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"agora/internal/testdb"
	"agora/models"
	"agora/services"
)

// TestRetentionPass: the durable schedule's retention pass blanks the
// addresses and browsers of sessions older than the retention period, drops
// old view records and old sent mail, and purges expired sessions and
// tokens; everything younger stays. The clock is injected.
func TestRetentionPass(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		var mu sync.Mutex
		now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
		set, err := services.New(ctx, db, clock, nil, services.Options{RetentionDays: 30})
		if err != nil {
			t.Fatal(err)
		}
		u := &models.User{Username: "rita", Email: "rita@example.com", CreatedAt: now, UpdatedAt: now}
		if err := models.CreateUser(ctx, db, u); err != nil {
			t.Fatal(err)
		}
		cat := &models.Category{Name: "Help", Slug: "help", Color: "#336699", CreatedAt: now, UpdatedAt: now}
		if err := models.CreateCategory(ctx, db, cat); err != nil {
			t.Fatal(err)
		}
		topic := &models.Topic{CategoryID: cat.ID, UserID: u.ID, Title: "Old", Slug: "old", LastPostedAt: now, CreatedAt: now, UpdatedAt: now}
		if _, err := db.NewInsert().Model(topic).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		old, recent := now.AddDate(0, 0, -40), now.AddDate(0, 0, -10)
		exec := func(q string, args ...any) {
			t.Helper()
			if _, err := db.ExecContext(ctx, q, args...); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		for i, at := range []time.Time{old, recent} {
			exec("INSERT INTO sessions (user_id, token_hash, csrf_token, ip, user_agent, created_at, last_seen_at, expires_at) VALUES (?, ?, 'c', '198.51.100.7', 'Firefox', ?, ?, ?)",
				u.ID, []string{"h-old", "h-recent"}[i], at, now, now.Add(time.Hour))
			exec("INSERT INTO topic_views (topic_id, viewer, hour) VALUES (?, ?, ?)", topic.ID, "a0123", at.Unix()/3600)
			exec("INSERT INTO mail_queue (user_id, to_address, subject, body, status, next_attempt_at, created_at) VALUES (?, 'rita@example.com', 's', 'b', 'sent', ?, ?)",
				u.ID, at, at)
		}
		exec("INSERT INTO mail_queue (user_id, to_address, subject, body, status, next_attempt_at, created_at) VALUES (?, 'rita@example.com', 'waiting', 'b', 'pending', ?, ?)",
			u.ID, old, old)
		exec("INSERT INTO sessions (user_id, token_hash, csrf_token, created_at, last_seen_at, expires_at) VALUES (?, 'h-expired', 'c', ?, ?, ?)",
			u.ID, recent, recent, now.Add(-time.Minute))
		exec("INSERT INTO api_tokens (user_id, token_hash, name, created_at, expires_at) VALUES (?, 'tok-expired', 'x', ?, ?)", u.ID, recent, now.Add(-time.Minute))
		exec("INSERT INTO api_tokens (user_id, token_hash, name, created_at) VALUES (?, 'tok-live', 'y', ?)", u.ID, old)

		ran, err := set.Schedule.Tick(ctx)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, r := range ran {
			found = found || r == services.Retention
		}
		if !found {
			t.Fatalf("the schedule ran %v, want the retention pass among them", ran)
		}
		count := func(q string, args ...any) int {
			t.Helper()
			var n int
			if err := db.NewRaw(q, args...).Scan(ctx, &n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		if n := count("SELECT count(*) FROM sessions WHERE ip <> '' OR user_agent <> ''"); n != 1 {
			t.Errorf("%d sessions keep an address or browser, want only the recent one", n)
		}
		if n := count("SELECT count(*) FROM sessions WHERE token_hash = 'h-old'"); n != 1 {
			t.Error("the old, still live session was signed out: only its address should go")
		}
		if n := count("SELECT count(*) FROM sessions WHERE token_hash = 'h-expired'"); n != 0 {
			t.Error("an expired session is still there")
		}
		if n := count("SELECT count(*) FROM topic_views"); n != 1 {
			t.Errorf("%d view records, want the recent one", n)
		}
		if n := count("SELECT count(*) FROM mail_queue"); n != 2 {
			t.Errorf("%d queued mails, want the recent sent one and the pending one", n)
		}
		if n := count("SELECT count(*) FROM api_tokens"); n != 1 {
			t.Errorf("%d API tokens, want the live one", n)
		}
		// The next run is an hour on; a second tick now runs nothing.
		if ran, _ := set.Schedule.Tick(ctx); len(ran) != 0 {
			for _, r := range ran {
				if r == services.Retention {
					t.Error("the retention pass ran twice in the same hour")
				}
			}
		}
	})
}
