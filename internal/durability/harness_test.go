// Package durability tests the real agora binary as a process: killed
// under write load (crash_test.go) and backed up while it writes
// (backup_test.go). The harness here builds the binary once, starts and
// kills servers, and drives concurrent writes through the JSON API with
// bearer tokens, remembering every write the server acknowledged.
package durability

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"agora/database"
	"agora/internal/agoraproc"
)

func TestMain(m *testing.M) {
	code := m.Run()
	agoraproc.RemoveBin()
	os.Exit(code)
}

// env is the AGORA_* settings of one server and the commands run against it.
type env = agoraproc.Env

// newEnv is a server on dbURL with its data (the search index) in a temp dir.
func newEnv(t *testing.T, dbURL string) env {
	return env{"AGORA_DATABASE_URL": dbURL, "AGORA_DATA_DIR": t.TempDir(), "AGORA_LOG_LEVEL": "warn",
		"AGORA_RATE_LIMIT": "1000000", "AGORA_ABUSE_LIMITS": "off"}
}

// agora runs one command of the binary and returns its exit code and output.
func agora(t *testing.T, e env, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, agoraproc.Bin(t), args...)
	cmd.Env = e.List()
	out, err := cmd.CombinedOutput()
	if err != nil && cmd.ProcessState == nil {
		t.Fatalf("agora %s: %v", strings.Join(args, " "), err)
	}
	return cmd.ProcessState.ExitCode(), string(out)
}

// server is one running agora process, and the test it serves.
type server struct {
	*agoraproc.Server
	t *testing.T
}

// start runs `agora serve` on a free port and waits for /readyz.
func start(t *testing.T, e env) *server {
	t.Helper()
	return &server{agoraproc.Start(t, "the server", e), t}
}

var client = &http.Client{Timeout: 10 * time.Second}

// call sends a JSON request and returns the status and the decoded answer;
// a transport error (the server died mid-request) is status 0.
func (s *server) call(method, path, token string, body any) (int, map[string]any) {
	req, err := agoraproc.NewRequest(method, s.Base+path, token, body)
	if err != nil {
		s.t.Fatal(err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	var out map[string]any
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil
	}
	json.Unmarshal(b, &out) //nolint:errcheck // pages and empty bodies are not JSON
	return resp.StatusCode, out
}

// must calls and fails the test unless the answer is want.
func (s *server) must(want int, method, path, token string, body any) map[string]any {
	s.t.Helper()
	code, out := s.call(method, path, token, body)
	if code != want {
		s.t.Fatalf("%s %s: %d %v, want %d", method, path, code, out, want)
	}
	return out
}

// num reads a JSON number at a dotted path of a decoded answer.
func num(v map[string]any, path string) int64 {
	var cur any = v
	for _, k := range strings.Split(path, ".") {
		m, _ := cur.(map[string]any)
		cur = m[k]
	}
	f, _ := cur.(float64)
	return int64(f)
}

// account is a member or the admin, with a bearer token.
type account struct {
	ID    int64
	Token string
}

// forum is what the load writes into: a category, an admin, members.
type forum struct {
	Category int64
	Admin    account
	Members  []account
}

const password = "durability-password-2026"

// setup creates the admin and members with `agora user create`, signs them
// in for tokens, makes a category and raises the members to level 2 (a
// moderation-log entry each), all through the running server.
func setup(t *testing.T, s *server, e env, members int) *forum {
	t.Helper()
	f := &forum{}
	login := func(name, role string) account {
		if code, out := agora(t, e, "user", "create", "--username", name, "--email", name+"@example.com",
			"--password", password, "--role", role); code != 0 {
			t.Fatalf("user create %s: exit %d: %s", name, code, out)
		}
		out := s.must(200, "POST", "/api/v1/auth/login", "", map[string]any{"login": name, "password": password})
		return account{ID: num(out, "user.id"), Token: out["token"].(string)}
	}
	f.Admin = login("durableadmin", "admin")
	out := s.must(201, "POST", "/api/v1/admin/categories", f.Admin.Token, map[string]any{"name": "Durability"})
	f.Category = num(out, "category.id")
	for i := range members {
		m := login(fmt.Sprintf("durable%02d", i+1), "member")
		s.must(200, "POST", fmt.Sprintf("/api/v1/mod/users/%d/lock-level", m.ID), f.Admin.Token,
			map[string]any{"level": 2, "reason": "durability test member"})
		f.Members = append(f.Members, m)
	}
	return f
}

// written is a post the server acknowledged, with the word only it contains.
type written struct {
	ID, Topic, Author int64
	Word              string
	Slug              string // topics only
}

// acks are the writes the server acknowledged.
type acks struct {
	topics []written
	posts  []written // replies
	likes  [][2]int64
	flags  []int64
	mod    int // moderation actions (pin, unpin) answered 200
}

// ledger collects the acknowledgements of a running load.
type ledger struct {
	mu sync.Mutex
	acks
	other map[int]int // answers that acknowledged nothing, by status (0: cut off)
	n     int         // words handed out
}

func (l *ledger) word() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.n++
	return fmt.Sprintf("durw%06dk", l.n)
}

// snapshot copies the acknowledged writes so far.
func (l *ledger) snapshot() acks {
	l.mu.Lock()
	defer l.mu.Unlock()
	return acks{topics: slices.Clone(l.topics), posts: slices.Clone(l.posts), likes: slices.Clone(l.likes),
		flags: slices.Clone(l.flags), mod: l.mod}
}

func (l *ledger) count(status int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.other == nil {
		l.other = map[int]int{}
	}
	l.other[status]++
}

// randomPost is an acknowledged post by someone other than author, or ok false.
func (l *ledger) randomPost(r *rand.Rand, author int64) (written, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := len(l.topics) + len(l.posts)
	for range 5 {
		if n == 0 {
			break
		}
		i := r.IntN(n)
		p := l.topics[min(i, len(l.topics)-1)]
		if i >= len(l.topics) {
			p = l.posts[i-len(l.topics)]
		}
		if p.Author != author {
			return p, true
		}
	}
	return written{}, false
}

// load drives concurrent writes from every member (topics 25%, replies
// 50%, likes 15%, flags 10%) and pins and unpins topics as the admin,
// until stop is closed; every acknowledged write goes into the ledger.
// Requests cut off by a crash are simply not acknowledged.
func load(s *server, f *forum, l *ledger, stop <-chan struct{}) *sync.WaitGroup {
	var wg sync.WaitGroup
	stopped := func() bool {
		select {
		case <-stop:
			return true
		default:
			return false
		}
	}
	for i, m := range f.Members {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(i), 15))
			for !stopped() {
				n := r.IntN(100)
				target, ok := l.randomPost(r, m.ID)
				switch {
				case n < 25 || !ok:
					w := l.word()
					code, out := s.call("POST", "/api/v1/topics", m.Token, map[string]any{"category_id": f.Category,
						"title": "Does the forum keep " + w + " after a crash", "body": "A topic body that mentions " + w + " once."})
					if code == 201 {
						slug, _ := out["topic"].(map[string]any)["slug"].(string)
						l.mu.Lock()
						l.topics = append(l.topics, written{ID: num(out, "post.id"), Topic: num(out, "topic.id"), Author: m.ID, Word: w, Slug: slug})
						l.mu.Unlock()
						continue
					}
					l.count(code)
				case n < 75:
					w := l.word()
					code, out := s.call("POST", fmt.Sprintf("/api/v1/topics/%d/posts", target.Topic), m.Token,
						map[string]any{"body": "A reply that says " + w + " and nothing else of note."})
					if code == 201 {
						l.mu.Lock()
						l.posts = append(l.posts, written{ID: num(out, "post.id"), Topic: target.Topic, Author: m.ID, Word: w})
						l.mu.Unlock()
						continue
					}
					l.count(code)
				case n < 90:
					code, out := s.call("POST", fmt.Sprintf("/api/v1/posts/%d/like", target.ID), m.Token, nil)
					if code == 200 && out["liked"] == true {
						l.mu.Lock()
						l.likes = append(l.likes, [2]int64{target.ID, m.ID})
						l.mu.Unlock()
						continue
					}
					l.count(code)
				default:
					code, out := s.call("POST", fmt.Sprintf("/api/v1/posts/%d/flags", target.ID), m.Token,
						map[string]any{"reason": "off_topic"})
					if code == 201 {
						l.mu.Lock()
						l.flags = append(l.flags, num(out, "flag.id"))
						l.mu.Unlock()
						continue
					}
					l.count(code)
				}
			}
		})
	}
	wg.Go(func() {
		r := rand.New(rand.NewPCG(99, 15))
		for pin := true; !stopped(); pin = !pin {
			target, ok := l.randomPost(r, f.Admin.ID)
			if !ok {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			action := map[bool]string{true: "pin", false: "unpin"}[pin]
			code, _ := s.call("POST", fmt.Sprintf("/api/v1/mod/topics/%d/%s", target.Topic, action), f.Admin.Token,
				map[string]any{"reason": "durability test"})
			if code == 200 {
				l.mu.Lock()
				l.mod++
				l.mu.Unlock()
			} else {
				l.count(code)
			}
		}
	})
	return &wg
}

// openDB opens the database the server used, closed at cleanup.
func openDB(t *testing.T, dbURL string) *bun.DB {
	t.Helper()
	db, err := database.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatalf("open %s: %v", dbURL, err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// checkWrites fails for every acknowledged write missing from db, and for
// counters that disagree with the rows they count.
func checkWrites(t *testing.T, db *bun.DB, l acks) {
	t.Helper()
	ctx := context.Background()
	all := append(slices.Clone(l.topics), l.posts...)
	var rows []struct {
		ID   int64
		Body string
	}
	ids := make([]int64, 0, len(all))
	for _, p := range all {
		ids = append(ids, p.ID)
	}
	if err := db.NewRaw("SELECT id, body FROM posts WHERE id IN (?)", bun.List(ids)).Scan(ctx, &rows); err != nil {
		t.Fatal(err)
	}
	bodies := map[int64]string{}
	for _, r := range rows {
		bodies[r.ID] = r.Body
	}
	for _, p := range all {
		if !strings.Contains(bodies[p.ID], p.Word) {
			t.Errorf("acknowledged post %d (%s) is missing or changed: %q", p.ID, p.Word, bodies[p.ID])
		}
	}
	for _, lk := range l.likes {
		var n int
		if err := db.NewRaw("SELECT count(*) FROM likes WHERE post_id = ? AND user_id = ?", lk[0], lk[1]).Scan(ctx, &n); err != nil || n != 1 {
			t.Errorf("acknowledged like of post %d by %d: %d rows (%v)", lk[0], lk[1], n, err)
		}
	}
	var flags int
	if len(l.flags) > 0 {
		if err := db.NewRaw("SELECT count(*) FROM flags WHERE id IN (?)", bun.List(l.flags)).Scan(ctx, &flags); err != nil || flags != len(l.flags) {
			t.Errorf("acknowledged flags: %d of %d there (%v)", flags, len(l.flags), err)
		}
	}
	var mod int
	if err := db.NewRaw("SELECT count(*) FROM moderation_actions WHERE action IN ('pin_topic', 'unpin_topic')").Scan(ctx, &mod); err != nil || mod < l.mod {
		t.Errorf("acknowledged pins and unpins: %d logged, %d acknowledged (%v)", mod, l.mod, err)
	}
	// Counters move in the same transaction as the rows they count.
	var bad []int64
	if err := db.NewRaw("SELECT t.id FROM topics AS t WHERE t.reply_count <> "+
		"(SELECT count(*) - 1 FROM posts AS p WHERE p.topic_id = t.id)").Scan(ctx, &bad); err != nil {
		t.Fatal(err)
	}
	if len(bad) > 0 {
		t.Errorf("topics whose reply_count disagrees with their posts: %v", bad)
	}
	bad = nil
	if err := db.NewRaw("SELECT p.id FROM posts AS p WHERE p.like_count <> "+
		"(SELECT count(*) FROM likes AS l WHERE l.post_id = p.id)").Scan(ctx, &bad); err != nil {
		t.Fatal(err)
	}
	if len(bad) > 0 {
		t.Errorf("posts whose like_count disagrees with their likes: %v", bad)
	}
	t.Logf("acknowledged and found: %d topics, %d replies, %d likes, %d flags, %d pins/unpins", len(l.topics), len(l.posts),
		len(l.likes), len(l.flags), l.mod)
}

// integrityOK runs SQLite's integrity check.
func integrityOK(t *testing.T, db *bun.DB) {
	t.Helper()
	var res []string
	if err := db.NewRaw("PRAGMA integrity_check").Scan(context.Background(), &res); err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 || res[0] != "ok" {
		t.Errorf("integrity_check: %v", res)
	}
}

// searchCaughtUp waits (at most within) until /api/v1/search finds every
// post of posts by its word, and fails naming those it never found. Posts
// that flags hid meanwhile (db says which) must not be found instead.
func searchCaughtUp(t *testing.T, s *server, db *bun.DB, posts []written, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	var hidden []int64
	if err := db.NewRaw("SELECT id FROM posts WHERE hidden_at IS NOT NULL").Scan(context.Background(), &hidden); err != nil {
		t.Fatal(err)
	}
	var missing, unseen []written
	for _, p := range posts {
		if slices.Contains(hidden, p.ID) {
			unseen = append(unseen, p)
		} else {
			missing = append(missing, p)
		}
	}
	total := len(missing)
	for {
		var still []written
		for _, p := range missing {
			if !s.finds(p) {
				still = append(still, p)
			}
		}
		missing = still
		if len(missing) == 0 {
			break
		}
		if time.Since(start) > within {
			var ids []int64
			for _, p := range missing[:min(len(missing), 10)] {
				ids = append(ids, p.ID)
			}
			t.Errorf("after %s, search still does not find %d of %d acknowledged visible posts, e.g. %v (%s); server log:\n%s",
				within, len(missing), total, ids, missing[0].Word, s.Log())
			return time.Since(start)
		}
		time.Sleep(250 * time.Millisecond)
	}
	took := time.Since(start)
	for _, p := range unseen {
		if s.finds(p) {
			t.Errorf("search finds post %d, hidden by flags", p.ID)
		}
	}
	t.Logf("search found all %d acknowledged visible posts %s after the restart; %d hidden by flags are not found",
		total, took.Round(time.Millisecond), len(unseen))
	return took
}

// serverErrors fails when the load got a 5xx: a request a client can send
// never answers one.
func serverErrors(t *testing.T, s *server, other map[int]int) {
	t.Helper()
	for code := range other {
		if code >= 500 {
			t.Errorf("the load got 5xx answers (%s); server log:\n%s", statusSummary(other), s.Log())
			return
		}
	}
}

// finds reports whether searching for p's word answers p.
func (s *server) finds(p written) bool {
	code, out := s.call("GET", "/api/v1/search?q="+url.QueryEscape(p.Word), "", nil)
	if code != 200 {
		return false
	}
	items, _ := out["items"].([]any)
	for _, it := range items {
		if m, _ := it.(map[string]any); num(m, "post_id") == p.ID {
			return true
		}
	}
	return false
}

// statusSummary reads like "429×3, 0×8" for the answers that were not acknowledgements.
func statusSummary(m map[int]int) string {
	codes := make([]int, 0, len(m))
	for c := range m {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	parts := make([]string, 0, len(codes))
	for _, c := range codes {
		parts = append(parts, strconv.Itoa(c)+"×"+strconv.Itoa(m[c]))
	}
	return strings.Join(parts, ", ")
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
