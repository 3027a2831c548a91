// Package scaleout_test runs two agora processes on one PostgreSQL
// database, as two nodes behind a load balancer would, and checks what
// docs/scale-out.md promises: a write on one node is read, searched and
// counted against the rate limits on the other within seconds, and neither
// node's page cache serves a page the other's write made stale. It runs once
// with the limits in the database and once in Redis (AGORA_REDIS_URL).
package scaleout_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"agora/accounts"
	"agora/database"
	"agora/internal/agoraproc"
	"agora/internal/testdb"
	"agora/models"
	"agora/ratelimit"
)

// testRedisURL is the Redis the Redis run uses.
func testRedisURL(t *testing.T) string {
	u := os.Getenv("AGORA_TEST_REDIS_URL")
	if u == "" {
		u = "redis://127.0.0.1:6379/0"
	}
	parsed, _ := url.Parse(u)
	conn, err := net.DialTimeout("tcp", parsed.Host, 2*time.Second)
	if err != nil {
		testdb.Skip(t, "Redis is unreachable at "+parsed.Host+": "+err.Error())
	}
	conn.Close()
	return u
}

func TestTwoNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and starts the server: not in -short")
	}
	t.Run("database", func(t *testing.T) { twoNodes(t, "") })
	t.Run("redis", func(t *testing.T) { twoNodes(t, testRedisURL(t)) })
}

func TestMain(m *testing.M) {
	code := m.Run()
	agoraproc.RemoveBin()
	os.Exit(code)
}

// apiLimit is AGORA_RATE_LIMIT for both nodes: what one token may do a
// minute. Under 100, every request asks the shared store (no leases:
// ratelimit.Service.Take), so the countdown across nodes is exact.
const apiLimit = 40

// forgetLoopback deletes the counters of 127.0.0.1 from Redis, which
// outlives the test's database: earlier runs' registrations would count.
func forgetLoopback(t *testing.T, redisURL string) {
	t.Helper()
	r, err := ratelimit.OpenRedis(context.Background(), redisURL)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for _, k := range []string{ratelimit.Key("register", "127.0.0.1"), ratelimit.Key("auth", "127.0.0.1"),
		ratelimit.Key("search", "127.0.0.1"), ratelimit.Key("api", "ip127.0.0.1")} {
		if err := r.Delete(k); err != nil {
			t.Fatal(err)
		}
	}
}

// ssoSecret signs single sign-on links for both nodes.
const ssoSecret = "scale-out-test-sso-secret-0123456789"

// ssoLink is the /sso link the customer's product would sign for user.
func ssoLink(user, nonce string) string {
	raw, _ := json.Marshal(map[string]any{"user_id": user, "email": user + "@customer.example", "name": "Customer " + user,
		"nonce": nonce, "expires_at": time.Now().Add(5 * time.Minute).Unix()})
	payload := base64.StdEncoding.EncodeToString(raw)
	mac := hmac.New(sha256.New, []byte(ssoSecret))
	mac.Write([]byte(payload))
	return "/sso?" + url.Values{"payload": {payload}, "signature": {hex.EncodeToString(mac.Sum(nil))}}.Encode()
}

// startNode starts agora serving dbURL with its own data and search
// directories, and stops it when the test ends.
func startNode(t *testing.T, name, dbURL, redisURL, baseURL, addr string) *agoraproc.Server {
	t.Helper()
	dir := t.TempDir()
	return agoraproc.Start(t, name, agoraproc.Env{"AGORA_ADDR": addr, "AGORA_DATABASE_URL": dbURL, "AGORA_DATA_DIR": dir,
		"AGORA_SEARCH_DIR": filepath.Join(dir, "search"), "AGORA_BASE_URL": baseURL, "AGORA_LOG_LEVEL": "warn",
		"AGORA_RATE_LIMIT": strconv.Itoa(apiLimit), "AGORA_REDIS_URL": redisURL, "AGORA_SSO_SECRET": ssoSecret})
}

// eventually polls ok every 250 ms (searches count against the address's
// limit) until it holds or within passes.
func eventually(t *testing.T, within time.Duration, what string, ok func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !ok() {
		if time.Since(start) > within {
			t.Fatalf("%s: not within %v", what, within)
		}
		time.Sleep(250 * time.Millisecond)
	}
	return time.Since(start)
}

var client = &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// do sends one request and returns the response (body read) and body.
func do(t *testing.T, method, u string, body any, token string) (*http.Response, string) {
	t.Helper()
	req, err := agoraproc.NewRequest(method, u, token, body)
	if err != nil {
		t.Fatal(err)
	}
	res, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

func want(t *testing.T, res *http.Response, body string, status int) {
	t.Helper()
	if res.StatusCode != status {
		t.Fatalf("%s %s: status %d, want %d; body %.300s", res.Request.Method, res.Request.URL, res.StatusCode, status, body)
	}
}

func twoNodes(t *testing.T, redisURL string) {
	dbURL := testdb.URL(t, "postgres")
	ctx := context.Background()
	db, err := database.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := database.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	cat := &models.Category{Name: "General", Slug: "general", Color: "#3b6ea8", Position: 1}
	if err := models.CreateCategory(ctx, db, cat); err != nil {
		t.Fatal(err)
	}
	if redisURL != "" {
		forgetLoopback(t, redisURL)
	}
	addrA, addrB := agoraproc.FreeAddr(t), agoraproc.FreeAddr(t)
	base := "http://" + addrA // one AGORA_BASE_URL for every node
	a := startNode(t, "node A", dbURL, redisURL, base, addrA)
	b := startNode(t, "node B", dbURL, redisURL, base, addrB)

	// Names unique to the run: Redis outlives the database.
	suffix := accounts.NewToken()[:6]
	name := "member" + strings.ToLower(strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return 'x'
	}, suffix))
	const password = "a long enough password"
	res, body := do(t, http.MethodPost, a.Base+"/api/v1/auth/register", map[string]any{"username": name, "email": name + "@example.com",
		"password": password, "age_confirmed": true}, "")
	want(t, res, body, http.StatusCreated)
	var reg struct{ Token string }
	json.Unmarshal([]byte(body), &reg)
	// Level 2: past the first-day caps of new members.
	if _, err := db.NewUpdate().Model((*models.User)(nil)).Set("level = 2").Where("username = ?", name).Exec(ctx); err != nil {
		t.Fatal(err)
	}

	// The session and token made on A work on B (sessions live in the database).
	res, body = do(t, http.MethodGet, b.Base+"/api/v1/me", nil, reg.Token)
	want(t, res, body, http.StatusOK)

	// An SSO link used on A is a replay on B (the nonces are shared).
	link := ssoLink("cust-"+suffix, "nonce-"+suffix)
	res, body = do(t, http.MethodGet, a.Base+link, nil, "")
	want(t, res, body, http.StatusSeeOther)
	res, body = do(t, http.MethodGet, b.Base+link, nil, "")
	want(t, res, body, http.StatusForbidden)

	// A write on A is read on B.
	word := "zebrafish" + strings.ToLower(name[len(name)-4:])
	res, body = do(t, http.MethodPost, a.Base+"/api/v1/topics", map[string]any{"category_id": cat.ID,
		"title": "How do I export the " + word + " report", "body": "Where is the export of the " + word + " report?"}, reg.Token)
	want(t, res, body, http.StatusCreated)
	var created struct {
		Topic struct {
			ID  int64
			URL string
		}
	}
	json.Unmarshal([]byte(body), &created)
	res, body = do(t, http.MethodGet, b.Base+"/api/v1/topics/"+strconv.FormatInt(created.Topic.ID, 10), nil, "")
	want(t, res, body, http.StatusOK)

	// … and searched on B: B's own index, fed from the shared outbox.
	took := eventually(t, 10*time.Second, "the topic in node B's search", func() bool {
		_, body := do(t, http.MethodGet, b.Base+"/api/v1/search?q="+word, nil, reg.Token)
		return strings.Contains(body, `"topic_id":`+strconv.FormatInt(created.Topic.ID, 10))
	})
	t.Logf("search on node B found node A's topic after %v", took)

	// B's page cache never serves a page that A's write made stale.
	page := b.Base + created.Topic.URL
	for range 2 { // the second answer comes from B's cache
		res, body = do(t, http.MethodGet, page, nil, "")
		want(t, res, body, http.StatusOK)
	}
	reply := "The export lives under Reports " + word
	res, body = do(t, http.MethodPost, a.Base+"/api/v1/topics/"+strconv.FormatInt(created.Topic.ID, 10)+"/posts",
		map[string]any{"body": reply}, reg.Token)
	want(t, res, body, http.StatusCreated)
	if _, body = do(t, http.MethodGet, page, nil, ""); !strings.Contains(body, reply) {
		t.Errorf("node B's topic page after a reply on node A does not show it: stale cache")
	}
	if _, body = do(t, http.MethodGet, b.Base+"/api/v1/topics/"+strconv.FormatInt(created.Topic.ID, 10), nil, ""); !strings.Contains(body, reply) {
		t.Errorf("node B's topic JSON after a reply on node A does not show it: stale cache")
	}

	// Rate limits count on both nodes: a member who has made no API request
	// yet, half the budget on each node.
	res, body = do(t, http.MethodPost, b.Base+"/api/v1/auth/register", map[string]any{"username": name + "x",
		"email": name + "x@example.com", "password": password, "age_confirmed": true}, "")
	want(t, res, body, http.StatusCreated)
	var login struct{ Token string }
	json.Unmarshal([]byte(body), &login)
	for i := range apiLimit {
		n := a
		if i%2 == 1 {
			n = b
		}
		res, body := do(t, http.MethodGet, n.Base+"/api/v1/me", nil, login.Token)
		want(t, res, body, http.StatusOK)
		if got := res.Header.Get("X-RateLimit-Remaining"); got != strconv.Itoa(apiLimit-1-i) {
			t.Fatalf("request %d on %s: X-RateLimit-Remaining = %q, want %d", i+1, n.Name, got, apiLimit-1-i)
		}
	}
	for _, n := range []*agoraproc.Server{a, b} {
		res, body := do(t, http.MethodGet, n.Base+"/api/v1/me", nil, login.Token)
		want(t, res, body, http.StatusTooManyRequests)
		if res.Header.Get("Retry-After") == "" {
			t.Errorf("%s: 429 without Retry-After", n.Name)
		}
	}

	// The counters are where the run put them: the database, or only Redis.
	var rows int
	if err := db.NewRaw("SELECT count(*) FROM shared_store WHERE k LIKE 'api:%'").Scan(ctx, &rows); err != nil {
		t.Fatal(err)
	}
	if (redisURL == "") != (rows > 0) {
		t.Errorf("API counters in the database: %d rows with AGORA_REDIS_URL=%q", rows, redisURL)
	}

	// Login backoff follows the account: failures on A lock sign-in on B.
	for range 5 {
		res, body := do(t, http.MethodPost, a.Base+"/api/v1/auth/login", map[string]string{"login": name, "password": "wrong password"}, "")
		want(t, res, body, http.StatusUnauthorized)
	}
	res, body = do(t, http.MethodPost, b.Base+"/api/v1/auth/login", map[string]string{"login": name, "password": password}, "")
	want(t, res, body, http.StatusTooManyRequests)
}
