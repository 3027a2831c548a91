package seed_test

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"agora/accounts"
	"agora/internal/testdb"
	"agora/markup"
	"agora/models"
	"agora/seed"
)

var now = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

func TestDemo(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		sum, err := seed.Demo(ctx, db, now)
		if err != nil {
			t.Fatalf("Demo: %v", err)
		}
		if sum.Categories != 5 || sum.Users != 8 || sum.Topics != 15 || sum.Posts < 40 {
			t.Errorf("summary = %+v, want 5 categories, 8 users, 15 topics, 40+ posts", sum)
		}
		wantRows(t, db, sum)
		checkConsistent(t, db)

		atLeast := func(min int) func(int) bool { return func(n int) bool { return n >= min } }
		exactly := func(want int) func(int) bool { return func(n int) bool { return n == want } }
		for _, c := range []struct {
			what  string
			query string
			ok    func(int) bool
		}{
			{"distinct colours", "SELECT count(DISTINCT color) FROM categories", exactly(5)},
			{"moderators", "SELECT count(*) FROM users WHERE role = 'moderator'", exactly(1)},
			{"distinct levels", "SELECT count(DISTINCT level) FROM users", exactly(5)},
			{"members with badges", "SELECT count(*) FROM users WHERE badge_count > 0", atLeast(3)},
			{"solved topics", "SELECT count(*) FROM topics WHERE solved_post_id IS NOT NULL", atLeast(3)},
			{"unanswered topics", "SELECT count(*) FROM topics WHERE reply_count = 0", atLeast(2)},
			{"likes", "SELECT count(*) FROM likes", atLeast(10)},
			{"posts with code blocks", "SELECT count(*) FROM posts WHERE html LIKE '%<pre><code%'", atLeast(3)},
			{"posts with tables", "SELECT count(*) FROM posts WHERE html LIKE '%<table>%'", exactly(1)},
			{"posts with lists", "SELECT count(*) FROM posts WHERE html LIKE '%<li>%'", atLeast(3)},
			{"posts with links", "SELECT count(*) FROM posts WHERE html LIKE '%<a href=%'", atLeast(3)},
			{"posts queued for search", "SELECT count(*) FROM search_outbox WHERE entity = 'post'", exactly(sum.Posts)},
			{"stale renders", "SELECT count(*) FROM posts WHERE render_version <> " + strconv.Itoa(markup.Version), exactly(0)},
		} {
			if got := count(t, db, c.query); !c.ok(got) {
				t.Errorf("%s: %d", c.what, got)
			}
		}
		if n := count(t, db, "SELECT count(*) FROM posts WHERE created_at > ?", now); n != 0 {
			t.Errorf("%d posts after now", n)
		}
		if n := count(t, db, "SELECT count(*) FROM topics WHERE created_at > ?", now.AddDate(0, 0, -7)); n < 3 {
			t.Errorf("%d topics in the last week, want 3 or more", n)
		}

		u, err := models.UserByLogin(ctx, db, "nadia.okafor@example.com")
		if err != nil {
			t.Fatalf("demo moderator: %v", err)
		}
		if !accounts.CheckPassword(seed.DemoPassword, u.PasswordHash) {
			t.Error("the demo password does not sign the moderator in")
		}

		again, err := seed.Demo(ctx, db, now)
		if !errors.Is(err, seed.ErrNotEmpty) {
			t.Fatalf("second Demo = %+v, %v; want ErrNotEmpty", again, err)
		}
		wantRows(t, db, sum) // nothing duplicated
	})
}

func TestSynthetic(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		var progress bytes.Buffer
		o := seed.Options{Topics: 50, Replies: 300, Users: 20, Seed: 7, Progress: &progress}
		sum, err := seed.Synthetic(ctx, db, o, now)
		if err != nil {
			t.Fatalf("Synthetic: %v", err)
		}
		if sum.Categories != 5 || sum.Users != 20 || sum.Topics != 50 || sum.Posts != 350 {
			t.Errorf("summary = %+v, want 5 categories, 20 users, 50 topics, 350 posts", sum)
		}
		wantRows(t, db, sum)
		checkConsistent(t, db)
		// Pages cached before the seed must not survive it (the triggers may be skipped).
		var site, lists int
		if err := db.NewRaw("SELECT rev, lists FROM site_rev").Scan(ctx, &site, &lists); err != nil || site == 0 || lists == 0 {
			t.Errorf("page versions after seeding: rev %d, lists %d (%v); want both moved on", site, lists, err)
		}
		if !strings.Contains(progress.String(), "posts 350/350") || !strings.HasSuffix(progress.String(), "\n") {
			t.Errorf("progress output %q lacks the final line", progress.String())
		}
		for what, q := range map[string]string{
			"stale renders":         "SELECT count(*) FROM posts WHERE render_version <> " + strconv.Itoa(markup.Version) + " OR html = ''",
			"topics without posts":  "SELECT count(*) FROM topics WHERE first_post_id IS NULL",
			"outbox rows":           "SELECT count(*) FROM search_outbox",
			"posts after now":       "SELECT count(*) FROM posts WHERE created_at > ?",
			"posts over a year old": "SELECT count(*) FROM posts WHERE created_at < ?",
		} {
			var args []any
			switch what {
			case "posts after now":
				args = []any{now}
			case "posts over a year old":
				args = []any{now.AddDate(-1, 0, -1)}
			}
			if got := count(t, db, q, args...); got != 0 {
				t.Errorf("%s: %d", what, got)
			}
		}
		if n := count(t, db, "SELECT count(*) FROM topics WHERE solved_post_id IS NOT NULL"); n == 0 {
			t.Error("no synthetic topic is solved")
		}

		// A second run continues the ids and reuses the categories.
		o.Seed, o.Progress = 8, nil
		sum2, err := seed.Synthetic(ctx, db, o, now.Add(time.Hour))
		if err != nil {
			t.Fatalf("second Synthetic: %v", err)
		}
		if sum2.Categories != 0 {
			t.Errorf("second run created %d categories, want 0", sum2.Categories)
		}
		wantRows(t, db, seed.Summary{Categories: 5, Users: 40, Topics: 100, Posts: 700})
		checkConsistent(t, db)

		// Ordinary inserts still get fresh ids (PostgreSQL's sequences were moved on).
		c := &models.Category{Name: "Off topic", Slug: "off-topic", CreatedAt: now, UpdatedAt: now}
		if err := models.CreateCategory(ctx, db, c); err != nil {
			t.Fatalf("create category after seeding: %v", err)
		}
		u := &models.User{Username: "after", Email: "after@example.com", Role: models.RoleMember, CreatedAt: now, UpdatedAt: now}
		if err := models.CreateUser(ctx, db, u); err != nil {
			t.Fatalf("create user after seeding: %v", err)
		}
		tp := &models.Topic{CategoryID: c.ID, UserID: u.ID, Title: "After the seed", Slug: "after-the-seed",
			LastPostedAt: now, CreatedAt: now, UpdatedAt: now}
		if _, err := db.NewInsert().Model(tp).Returning("id").Exec(ctx); err != nil {
			t.Fatalf("create topic after seeding: %v", err)
		}
		p := &models.Post{TopicID: tp.ID, UserID: u.ID, PostNumber: 1, Body: "x", HTML: "<p>x</p>", CreatedAt: now, UpdatedAt: now}
		if _, err := db.NewInsert().Model(p).Returning("id").Exec(ctx); err != nil {
			t.Fatalf("create post after seeding: %v", err)
		}
		if u.ID <= 40 || tp.ID <= 100 || p.ID <= 700 {
			t.Errorf("new ids user %d, topic %d, post %d reuse seeded ones", u.ID, tp.ID, p.ID)
		}
	})
}

func TestSyntheticAfterDemo(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		demo, err := seed.Demo(ctx, db, now)
		if err != nil {
			t.Fatalf("Demo: %v", err)
		}
		if _, err := seed.Synthetic(ctx, db, seed.Options{Topics: 30, Replies: 100, Users: 10, Seed: 1}, now); err != nil {
			t.Fatalf("Synthetic: %v", err)
		}
		wantRows(t, db, seed.Summary{Categories: 5, Users: demo.Users + 10, Topics: demo.Topics + 30, Posts: demo.Posts + 130})
		checkConsistent(t, db)
	})
}

// Cancelling stops the render workers and the inserter without hanging.
func TestSyntheticCancel(t *testing.T) {
	db := testdb.Open(t, "sqlite")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	o := seed.Options{Topics: 2000, Replies: 60000, Users: 100, Progress: cancelWriter(cancel)}
	_, err := seed.Synthetic(ctx, db, o, now)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Synthetic = %v, want context.Canceled", err)
	}
	if n := count(t, db, "SELECT count(*) FROM posts"); n >= 62000 {
		t.Errorf("all %d posts written despite the cancel", n)
	}
}

// cancelWriter cancels at the first progress line.
type cancelWriter context.CancelFunc

func (c cancelWriter) Write(p []byte) (int, error) {
	c()
	return len(p), nil
}

// The same seed on the same starting ids writes the same forum.
func TestSyntheticDeterministic(t *testing.T) {
	ctx := context.Background()
	var dumps [2]string
	for i := range dumps {
		db := testdb.Open(t, "sqlite")
		if _, err := seed.Synthetic(ctx, db, seed.Options{Topics: 20, Replies: 60, Users: 5, Seed: 42}, now); err != nil {
			t.Fatalf("Synthetic: %v", err)
		}
		var rows []string
		err := db.NewRaw("SELECT t.title || '|' || p.post_number || '|' || p.user_id || '|' || p.created_at || '|' || p.body "+
			"FROM posts p JOIN topics t ON t.id = p.topic_id ORDER BY p.id").Scan(ctx, &rows)
		if err != nil {
			t.Fatal(err)
		}
		dumps[i] = strings.Join(rows, "\n")
	}
	if dumps[0] != dumps[1] {
		t.Error("two runs with the same seed differ")
	}
}

func TestOptionsValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    seed.Options
		ok   bool
	}{
		{"typical", seed.Options{Topics: 10, Replies: 50, Users: 3}, true},
		{"users only", seed.Options{Users: 3}, true},
		{"topics without replies", seed.Options{Topics: 3, Users: 1}, true},
		{"negative", seed.Options{Topics: -1, Users: 1}, false},
		{"replies without topics", seed.Options{Replies: 5, Users: 1}, false},
		{"topics without users", seed.Options{Topics: 5}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.o.Validate(); (err == nil) != tc.ok {
				t.Errorf("Validate() = %v, want ok %v", err, tc.ok)
			}
		})
	}
}

func TestSummaryString(t *testing.T) {
	s := seed.Summary{Categories: 5, Users: 8, Topics: 15, Posts: 48, Elapsed: 1500 * time.Millisecond}
	if got, want := s.String(), "5 categories, 8 users, 15 topics, 48 posts in 1.5s"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if got := s.PostsPerSecond(); got != 32 {
		t.Errorf("PostsPerSecond() = %v, want 32", got)
	}
}

func BenchmarkSynthetic(b *testing.B) {
	ctx := context.Background()
	for b.Loop() {
		b.StopTimer()
		db := testdb.Open(b, "sqlite")
		b.StartTimer()
		sum, err := seed.Synthetic(ctx, db, seed.Options{Topics: 5000, Replies: 45000, Users: 2500, Seed: 1}, now)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(sum.PostsPerSecond(), "posts/s")
	}
}

// wantRows checks the table sizes against want's counts.
func wantRows(t *testing.T, db *bun.DB, want seed.Summary) {
	t.Helper()
	got := seed.Summary{
		Categories: count(t, db, "SELECT count(*) FROM categories"),
		Users:      count(t, db, "SELECT count(*) FROM users"),
		Topics:     count(t, db, "SELECT count(*) FROM topics"),
		Posts:      count(t, db, "SELECT count(*) FROM posts"),
	}
	want.Elapsed = 0
	if got != want {
		t.Errorf("rows: got %+v, want %+v", got, want)
	}
	if n := count(t, db, "SELECT count(*) FROM users WHERE id NOT IN (SELECT user_id FROM email_preferences)"); n != 0 {
		t.Errorf("%d users without email preferences", n)
	}
}

// checkConsistent checks every stored counter and link against the rows
// themselves; each query counts the rows that break one rule.
func checkConsistent(t *testing.T, db *bun.DB) {
	t.Helper()
	for _, c := range []struct{ rule, query string }{
		{"reply_count = posts - 1", `SELECT count(*) FROM topics t
			WHERE t.reply_count <> (SELECT count(*) - 1 FROM posts p WHERE p.topic_id = t.id)`},
		{"last_posted_at = newest post", `SELECT count(*) FROM topics t
			WHERE t.last_posted_at <> (SELECT max(p.created_at) FROM posts p WHERE p.topic_id = t.id)`},
		{"last_post_user_id = author of the last post", `SELECT count(*) FROM topics t
			WHERE t.last_post_user_id <> (SELECT p.user_id FROM posts p WHERE p.topic_id = t.id
				AND p.post_number = (SELECT max(post_number) FROM posts q WHERE q.topic_id = t.id))`},
		{"first_post_id = post 1 by the topic's author, at its creation", `SELECT count(*) FROM topics t
			WHERE NOT EXISTS (SELECT 1 FROM posts p WHERE p.id = t.first_post_id AND p.topic_id = t.id
				AND p.post_number = 1 AND p.user_id = t.user_id AND p.created_at = t.created_at)`},
		{"solved_post_id is a reply in the topic", `SELECT count(*) FROM topics t WHERE t.solved_post_id IS NOT NULL
			AND NOT EXISTS (SELECT 1 FROM posts p WHERE p.id = t.solved_post_id AND p.topic_id = t.id AND p.post_number > 1)`},
		{"post numbers run 1..n", `SELECT count(*) FROM topics t WHERE (SELECT count(*) FROM posts p WHERE p.topic_id = t.id)
			<> (SELECT max(post_number) FROM posts p WHERE p.topic_id = t.id)
			OR (SELECT min(post_number) FROM posts p WHERE p.topic_id = t.id) <> 1`},
		{"created_at increases with post_number", `SELECT count(*) FROM posts a JOIN posts b
			ON b.topic_id = a.topic_id AND b.post_number = a.post_number + 1 WHERE b.created_at <= a.created_at`},
		{"category topic_count", `SELECT count(*) FROM categories c
			WHERE c.topic_count <> (SELECT count(*) FROM topics t WHERE t.category_id = c.id)`},
		{"category post_count", `SELECT count(*) FROM categories c WHERE c.post_count <>
			(SELECT count(*) FROM posts p JOIN topics t ON t.id = p.topic_id WHERE t.category_id = c.id)`},
		{"user topic_count", `SELECT count(*) FROM users u
			WHERE u.topic_count <> (SELECT count(*) FROM topics t WHERE t.user_id = u.id)`},
		{"user post_count", `SELECT count(*) FROM users u
			WHERE u.post_count <> (SELECT count(*) FROM posts p WHERE p.user_id = u.id)`},
		{"post like_count", `SELECT count(*) FROM posts p
			WHERE p.like_count <> (SELECT count(*) FROM likes l WHERE l.post_id = p.id)`},
		{"topic like_count", `SELECT count(*) FROM topics t
			WHERE t.like_count <> (SELECT coalesce(sum(p.like_count), 0) FROM posts p WHERE p.topic_id = t.id)`},
		{"likes_received", `SELECT count(*) FROM users u WHERE u.likes_received <>
			(SELECT count(*) FROM likes l JOIN posts p ON p.id = l.post_id WHERE p.user_id = u.id)`},
		{"likes_given", `SELECT count(*) FROM users u
			WHERE u.likes_given <> (SELECT count(*) FROM likes l WHERE l.user_id = u.id)`},
		{"no self-likes", `SELECT count(*) FROM likes l JOIN posts p ON p.id = l.post_id WHERE p.user_id = l.user_id`},
		// SQLite's foreign keys are off while Synthetic writes.
		{"posts point at rows", `SELECT count(*) FROM posts p WHERE p.topic_id NOT IN (SELECT id FROM topics)
			OR p.user_id NOT IN (SELECT id FROM users)`},
		{"topics point at rows", `SELECT count(*) FROM topics t WHERE t.category_id NOT IN (SELECT id FROM categories)
			OR t.user_id NOT IN (SELECT id FROM users) OR t.last_post_user_id NOT IN (SELECT id FROM users)`},
		{"email preferences point at users", `SELECT count(*) FROM email_preferences e WHERE e.user_id NOT IN (SELECT id FROM users)`},
	} {
		if n := count(t, db, c.query); n != 0 {
			t.Errorf("%s: broken in %d rows", c.rule, n)
		}
	}
}

func count(t *testing.T, db *bun.DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := db.NewRaw(query, args...).Scan(context.Background(), &n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}
