package seed

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/schema"

	"agora/accounts"
	"agora/database"
	"agora/internal/progress"
	"agora/levels"
	"agora/markup"
	"agora/models"
)

// Options says how much Synthetic generates.
type Options struct {
	Topics   int       // topics, each with its first post
	Replies  int       // replies, spread unevenly over all topics (a total, not per topic)
	Users    int       // new members; every generated post is written by one of them
	Seed     int64     // the same seed on the same starting ids gives the same forum
	Progress io.Writer // receives a one-line progress display; nil for none
}

// Validate reports options Synthetic cannot honour.
func (o Options) Validate() error {
	switch {
	case o.Topics < 0 || o.Replies < 0 || o.Users < 0:
		return errors.New("topics, replies and users cannot be negative")
	case o.Replies > 0 && o.Topics == 0:
		return errors.New("replies need at least one topic")
	case o.Topics > 0 && o.Users == 0:
		return errors.New("topics need at least one user to write them")
	}
	return nil
}

const (
	// rowsPerInsert rows go into one multi-row INSERT. Values are SQL literals,
	// not placeholders, so SQLite's variable limit does not apply; 500 rows
	// keeps a statement of posts around a few hundred KB.
	rowsPerInsert = 500
	// rowsPerTx rows are committed together: big enough that commits cost
	// nothing, small enough that the SQLite WAL stays modest.
	rowsPerTx = 50_000
	// syntheticPassword is every synthetic member's password.
	syntheticPassword = "synthetic-password"
	// Durations in the Unix microseconds plan times are kept in.
	hourUS = int64(time.Hour / time.Microsecond)
	dayUS  = 24 * hourUS
	yearUS = 365 * dayUS
)

// Synthetic generates Options.Users members, Options.Topics topics and
// Options.Replies replies quickly (tens of thousands of posts per second),
// adding to whatever the database holds: ids continue after the current
// maximum, and existing categories are reused (the demo categories are
// created when there are none). Posts are Markdown about product subjects,
// rendered with markup.Render; created_at is spread over the year before now
// and increases within each topic; every counter (reply, topic and post
// counts, last post, solved answer) is computed here and written with the rows.
// Members sign in as <username>@example.com with the password "synthetic-password".
//
// It writes no likes and no search_outbox rows: a million outbox rows would
// only duplicate the posts table, so rebuild the search index afterwards
// (agora reindex). Nothing else may write to the database meanwhile (ids are
// assigned here), and it commits every rowsPerTx rows, so a failed run leaves
// the rows written so far.
func Synthetic(ctx context.Context, db *bun.DB, o Options, now time.Time) (Summary, error) {
	start := time.Now()
	if err := o.Validate(); err != nil {
		return Summary{}, err
	}
	now = now.UTC().Truncate(time.Microsecond)
	g := &synth{db: db, d: db.Dialect(), insert: "INSERT INTO ", now: now.UnixMicro(), seed: uint64(o.Seed)}
	if database.IsSQLite(db) {
		// A failed insert rolls the transaction back, as we would anyway;
		// the default (ABORT) needs a statement journal, see seedConn.
		g.insert = "INSERT OR ROLLBACK INTO "
	}
	var sum Summary
	if err := g.prepare(ctx, &sum); err != nil {
		return sum, err
	}
	g.plan(o)

	conn, err := seedConn(ctx, db)
	if err != nil {
		return sum, err
	}
	defer discard(conn)
	w := &writer{conn: conn}
	defer w.rollback()
	if err := g.writeUsers(ctx, w); err != nil {
		return sum, err
	}
	sum.Users = o.Users
	if err := g.writeTopics(ctx, w); err != nil {
		return sum, err
	}
	sum.Topics = o.Topics
	bar := progress.New(o.Progress, "posts", len(g.posts))
	err = g.writePosts(ctx, w, bar)
	bar.Finish()
	if err != nil {
		return sum, err
	}
	if err := w.commit(); err != nil {
		return sum, err
	}
	sum.Posts = len(g.posts)
	if err := g.finish(ctx); err != nil {
		return sum, err
	}
	sum.Elapsed = time.Since(start)
	return sum, nil
}

// synth holds one Synthetic run: the plan and the ids it starts from.
// Times are Unix microseconds, the precision both databases store.
type synth struct {
	db     *bun.DB
	d      schema.Dialect
	insert string // "INSERT INTO " in the dialect's fastest form
	now    int64
	seed   uint64

	userID0, topicID0, postID0 int64 // the largest ids before this run
	cats                       []*models.Category

	users  []plannedUser
	topics []plannedTopic
	posts  []plannedPost // in id order, which is created_at order
	// Per category: topics and posts added, applied to its counters at the end.
	catTopics, catPosts []int
}

type plannedUser struct {
	topics, posts int32
}

type plannedTopic struct {
	at        int64 // created_at
	user      int32 // index into users
	cat       int32 // index into cats
	subject   int32 // index into subjects
	replies   int32
	solvedNum int32 // post_number of the accepted answer; 0 when unsolved
	views     int32
	title     string
	// Set while numbering the posts.
	numbered   int32
	firstPost  int64
	solvedPost int64
	lastAt     int64
	lastUser   int32
}

type plannedPost struct {
	at    int64
	topic int32 // index into topics
	user  int32 // index into users
	num   int32 // post_number
}

// prepare finds the ids to continue from and the categories to post in.
func (g *synth) prepare(ctx context.Context, sum *Summary) error {
	for _, m := range []struct {
		table string
		id    *int64
	}{{"users", &g.userID0}, {"topics", &g.topicID0}, {"posts", &g.postID0}} {
		err := g.db.NewSelect().Table(m.table).ColumnExpr("COALESCE(MAX(id), 0)").Scan(ctx, m.id)
		if err != nil {
			return fmt.Errorf("find the largest %s id: %w", m.table, err)
		}
	}
	cats, err := models.ListCategories(ctx, g.db, false)
	if err != nil {
		return err
	}
	if len(cats) == 0 {
		if cats, err = createDefaultCategories(ctx, g.db, time.UnixMicro(g.now)); err != nil {
			return err
		}
		sum.Categories = len(cats)
	}
	g.cats = cats
	return nil
}

// plan decides every row in memory, so that ids, post numbers and counters
// are known before anything is written and no row is ever updated later.
func (g *synth) plan(o Options) {
	r := rand.New(rand.NewPCG(g.seed, 0x5eed))
	g.users = make([]plannedUser, o.Users)
	g.topics = make([]plannedTopic, o.Topics)
	g.posts = make([]plannedPost, 0, o.Topics+o.Replies)
	g.catTopics = make([]int, len(g.cats))
	g.catPosts = make([]int, len(g.cats))
	if o.Topics == 0 {
		return
	}
	// A few members write much of the forum, as in real communities.
	zipf := rand.NewZipf(r, 1.2, 8, uint64(o.Users-1))
	author := func() int32 {
		if r.IntN(2) == 0 {
			return int32(zipf.Uint64())
		}
		return int32(r.IntN(o.Users))
	}

	// Topics start over the past year (the last an hour ago, so replies fit
	// before now); sorting makes topic ids follow creation time.
	starts := make([]int64, o.Topics)
	for i := range starts {
		starts[i] = g.now - hourUS - r.Int64N(364*dayUS)
	}
	slices.Sort(starts)

	// Replies go to topics in proportion to log-normal weights: most topics
	// get a few, some none, a few become long threads.
	weights := make([]float64, o.Topics)
	var total float64
	for i := range weights {
		weights[i] = math.Exp(1.2 * r.NormFloat64())
		total += weights[i]
	}
	left := o.Replies
	for i := range g.topics {
		n := min(int(float64(o.Replies)*weights[i]/total), left) // min: rounding never overshoots
		g.topics[i].replies = int32(n)
		left -= n
	}
	for ; left > 0; left-- {
		g.topics[r.IntN(o.Topics)].replies++
	}

	offsets := make([]int64, 0, 64)
	for i := range g.topics {
		t := &g.topics[i]
		t.at, t.user, t.subject = starts[i], author(), int32(r.IntN(len(subjects)))
		t.cat = int32(subjects[t.subject].cat % len(g.cats))
		t.title = title(r, subjects[t.subject].phrase)
		t.views = (t.replies + 1) * int32(3+r.IntN(40))
		if t.replies > 0 && r.IntN(5) == 0 {
			t.solvedNum = 2 + int32(r.IntN(int(t.replies)))
		}
		g.posts = append(g.posts, plannedPost{at: t.at, topic: int32(i), user: t.user})
		// Replies come within three weeks, most of them early on.
		span := min(g.now-t.at, 21*dayUS) - 60e6
		offsets = offsets[:0]
		for range t.replies {
			u := r.Float64()
			offsets = append(offsets, 60e6+int64(float64(span)*u*u))
		}
		slices.Sort(offsets)
		prev := t.at
		for _, off := range offsets {
			at := max(t.at+off, prev+1) // strictly increasing within the topic
			g.posts = append(g.posts, plannedPost{at: at, topic: int32(i), user: author()})
			prev = at
		}
		g.users[t.user].topics++
		g.catTopics[t.cat]++
		g.catPosts[t.cat] += int(t.replies) + 1
	}

	// Post ids follow created_at across the forum, like a live one's.
	slices.SortFunc(g.posts, func(a, b plannedPost) int {
		return cmp.Or(cmp.Compare(a.at, b.at), cmp.Compare(a.topic, b.topic))
	})
	for i := range g.posts {
		p := &g.posts[i]
		t := &g.topics[p.topic]
		id := g.postID0 + int64(i) + 1
		t.numbered++
		p.num = t.numbered
		switch p.num {
		case 1:
			t.firstPost = id
		case t.solvedNum:
			t.solvedPost = id
		}
		t.lastAt, t.lastUser = p.at, p.user
		g.users[p.user].posts++
	}
}

var (
	firstNames = []string{"Ava", "Ben", "Chloe", "Daniel", "Emma", "Felix", "Grace", "Hiro", "Isla", "Jonas",
		"Kara", "Liam", "Maya", "Noah", "Olga", "Pedro", "Quinn", "Rosa", "Sven", "Tara", "Umar", "Vera",
		"Wei", "Ximena", "Yusuf", "Zoe"}
	lastNames = []string{"Adams", "Bauer", "Costa", "Dubois", "Eriksen", "Fischer", "Garcia", "Hansen",
		"Ito", "Jensen", "Kowalski", "Larsen", "Moreau", "Nakamura", "Okoro", "Patel", "Rossi", "Schmidt",
		"Tanaka", "Uddin", "Varga", "Walsh", "Yilmaz", "Zhou"}
	companies = []string{"", "", "", "Acme Logistics", "Brightwave Studio", "Northpeak", "Fernhill Health",
		"Orbit Labs", "Bluefield Retail", "Kestrel Finance"}
)

func (g *synth) writeUsers(ctx context.Context, w *writer) error {
	if len(g.users) == 0 {
		return nil
	}
	hash, err := hashPassword(syntheticPassword)
	if err != nil {
		return err
	}
	ts, err := models.ListLevelThresholds(ctx, g.db)
	if err != nil {
		return err
	}
	now := time.UnixMicro(g.now).UTC()
	r := rand.New(rand.NewPCG(g.seed, 0x05e5))
	var users, prefs []byte
	for from := 0; from < len(g.users); from += rowsPerInsert {
		to := min(from+rowsPerInsert, len(g.users))
		users = append(users[:0], g.insert+"users (id, username, email, display_name, password_hash, level, "+
			"topic_count, post_count, days_visited, topics_read, posts_read, likes_given, likes_received, "+
			"solution_count, company, created_at, updated_at) VALUES "...)
		prefs = append(prefs[:0], g.insert+"email_preferences (user_id, unsubscribe_token, updated_at) VALUES "...)
		for i := from; i < to; i++ {
			id := g.userID0 + int64(i) + 1
			first, last := pick(r, firstNames), pick(r, lastNames)
			// The id keeps generated names unique, also next to earlier runs.
			username := strings.ToLower(first[:1]+last) + strconv.FormatInt(id, 10)
			// Members join in the year before the posts start.
			joined := time.UnixMicro(g.now - yearUS - r.Int64N(yearUS)).UTC()
			u := &g.users[i]
			// What the member did beyond the rows written (visits and reads,
			// in proportion to their posts; likes and best answers count
			// rows) and the level it earns, so the first event that
			// recomputes it changes nothing. Badges: `agora badges backfill`.
			n := int(u.posts)
			m := &models.User{CreatedAt: joined, TopicCount: int(u.topics), PostCount: n, DaysVisited: 2 + n*3/2 + r.IntN(5),
				TopicsRead: 5 + n*4, PostsRead: 30 + n*25}
			level := levels.Computed(m, 0, ts, now)
			if i > from {
				users = append(users, ", "...)
				prefs = append(prefs, ", "...)
			}
			users = g.row(users, id, username, username+"@example.com", first+" "+last, hash, level, m.TopicCount, n,
				m.DaysVisited, m.TopicsRead, m.PostsRead, 0, 0, 0, pick(r, companies), joined, joined)
			prefs = g.row(prefs, id, accounts.NewToken(), joined)
		}
		if err := w.exec(ctx, string(users), to-from); err != nil {
			return fmt.Errorf("insert users: %w", err)
		}
		if err := w.exec(ctx, string(prefs), to-from); err != nil {
			return fmt.Errorf("insert email preferences: %w", err)
		}
	}
	return nil
}

func (g *synth) writeTopics(ctx context.Context, w *writer) error {
	var b []byte
	for from := 0; from < len(g.topics); from += rowsPerInsert {
		to := min(from+rowsPerInsert, len(g.topics))
		b = append(b[:0], g.insert+"topics (id, category_id, user_id, title, slug, first_post_id, solved_post_id, "+
			"reply_count, view_count, last_posted_at, last_post_user_id, created_at, updated_at) VALUES "...)
		for i := from; i < to; i++ {
			t := &g.topics[i]
			if i > from {
				b = append(b, ", "...)
			}
			var solved any // NULL
			if t.solvedPost != 0 {
				solved = t.solvedPost
			}
			created, last := time.UnixMicro(t.at).UTC(), time.UnixMicro(t.lastAt).UTC()
			b = g.row(b, g.topicID0+int64(i)+1, g.cats[t.cat].ID, g.userID(t.user), t.title, slugify(t.title),
				t.firstPost, solved, int(t.replies), int(t.views), last, g.userID(t.lastUser), created, last)
		}
		if err := w.exec(ctx, string(b), to-from); err != nil {
			return fmt.Errorf("insert topics: %w", err)
		}
	}
	return nil
}

// writePosts renders and formats batches of posts on every core while this
// goroutine inserts them in id order.
func (g *synth) writePosts(ctx context.Context, w *writer, bar *progress.Bar) error {
	var wg sync.WaitGroup
	defer wg.Wait() // after stop, which lets the dispatcher and workers end
	// The pipeline stops on pipe; the writer's transactions live on ctx, as
	// the last one outlives this function.
	pipe, stop := context.WithCancel(ctx)
	defer stop()
	type batch struct {
		from, to int
		sql      chan string // buffered: a worker never waits for the inserter
	}
	workers := runtime.NumCPU()
	jobs := make(chan *batch, 4*workers)
	inOrder := make(chan *batch, 4*workers)
	wg.Go(func() {
		defer close(inOrder)
		defer close(jobs)
		for from := 0; from < len(g.posts); from += rowsPerInsert {
			b := &batch{from: from, to: min(from+rowsPerInsert, len(g.posts)), sql: make(chan string, 1)}
			for _, ch := range []chan *batch{jobs, inOrder} {
				select {
				case ch <- b:
				case <-pipe.Done():
					return
				}
			}
		}
	})
	for range workers {
		wg.Go(func() {
			src := rand.NewPCG(0, 0)
			r := rand.New(src)
			var buf []byte
			for b := range jobs {
				if pipe.Err() != nil {
					continue // drain, so the dispatcher can finish
				}
				buf = g.postsSQL(buf[:0], b.from, b.to, src, r)
				b.sql <- string(buf)
			}
		})
	}
	for b := range inOrder {
		var query string
		select {
		case query = <-b.sql:
		case <-pipe.Done():
			return pipe.Err()
		}
		if err := w.exec(ctx, query, b.to-b.from); err != nil {
			return fmt.Errorf("insert posts: %w", err)
		}
		bar.Add(b.to - b.from)
	}
	return ctx.Err()
}

// postsSQL appends one INSERT of posts from..to. Each post's text comes from
// a generator seeded with its id, so the output does not depend on which
// worker rendered it.
func (g *synth) postsSQL(b []byte, from, to int, src *rand.PCG, r *rand.Rand) []byte {
	b = append(b, g.insert+"posts (id, topic_id, user_id, post_number, body, html, render_version, "+
		"created_at, updated_at) VALUES "...)
	for i := from; i < to; i++ {
		p := &g.posts[i]
		id := g.postID0 + int64(i) + 1
		src.Seed(g.seed, uint64(id))
		phrase := subjects[g.topics[p.topic].subject].phrase
		var body string
		if p.num == 1 {
			body = questionBody(r, phrase)
		} else {
			body = replyBody(r, phrase)
		}
		if i > from {
			b = append(b, ", "...)
		}
		at := time.UnixMicro(p.at).UTC()
		b = g.row(b, id, g.topicID0+int64(p.topic)+1, g.userID(p.user), int(p.num), body, markup.Render(body),
			markup.Version, at, at)
	}
	return b
}

func (g *synth) userID(i int32) int64 { return g.userID0 + int64(i) + 1 }

// row appends a parenthesized tuple of SQL literals in the dialect's syntax,
// the same text bun itself would send (times included).
func (g *synth) row(b []byte, values ...any) []byte {
	b = append(b, '(')
	for i, v := range values {
		if i > 0 {
			b = append(b, ", "...)
		}
		switch v := v.(type) {
		case nil:
			b = append(b, "NULL"...)
		case int:
			b = strconv.AppendInt(b, int64(v), 10)
		case int64:
			b = strconv.AppendInt(b, v, 10)
		case string:
			b = g.d.AppendString(b, v)
		case time.Time:
			b = g.d.AppendTime(b, v)
		default:
			panic(fmt.Sprintf("seed: no SQL literal for %T", v))
		}
	}
	return append(b, ')')
}

// finish adds the new topics and posts to the category counters, moves
// every page version on (see seedConn) and, on PostgreSQL, moves the
// identity sequences past the ids written here, which inserts with explicit
// ids do not do.
func (g *synth) finish(ctx context.Context) error {
	return g.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewRaw("UPDATE site_rev SET rev = rev + 1, lists = lists + 1").Exec(ctx); err != nil {
			return fmt.Errorf("move page versions on: %w", err)
		}
		for i, c := range g.cats {
			if g.catTopics[i] == 0 {
				continue
			}
			_, err := tx.NewUpdate().Model((*models.Category)(nil)).
				Set("topic_count = topic_count + ?", g.catTopics[i]).
				Set("post_count = post_count + ?", g.catPosts[i]).
				Where("id = ?", c.ID).Exec(ctx)
			if err != nil {
				return fmt.Errorf("update category %d counters: %w", c.ID, err)
			}
		}
		if database.IsSQLite(tx) {
			return nil
		}
		for _, table := range []string{"users", "topics", "posts"} {
			_, err := tx.ExecContext(ctx, "SELECT setval(pg_get_serial_sequence(?, 'id'), (SELECT max(id) FROM ?))",
				table, bun.Ident(table))
			if err != nil {
				return fmt.Errorf("reset %s id sequence: %w", table, err)
			}
		}
		return nil
	})
}
