package app_test

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"agora/app"
	"agora/internal/testdb"
	"agora/models"
	"agora/policy"
)

// withAbuseLimits turns on the per-member and per-address limits, which
// the other tests run without (AGORA_ABUSE_LIMITS=off).
func withAbuseLimits(d *app.Deps) { d.Config.AbuseLimits = true }

// testClock is a settable clock for the app and its services.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// wantLimited checks a 429's Retry-After (within [lo, hi] seconds) and X-RateLimit-* headers.
func wantLimited(t *testing.T, res *http.Response, body string, limit, lo, hi int) {
	t.Helper()
	if res.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("status = %d, want 429; body %.300s", res.StatusCode, body)
	}
	if ra, err := strconv.Atoi(res.Header.Get("Retry-After")); err != nil || ra < lo || ra > hi {
		t.Errorf("Retry-After = %q, want %d to %d", res.Header.Get("Retry-After"), lo, hi)
	}
	if got := res.Header.Get("X-RateLimit-Limit"); got != strconv.Itoa(limit) {
		t.Errorf("X-RateLimit-Limit = %q, want %d", got, limit)
	}
	if got := res.Header.Get("X-RateLimit-Remaining"); got != "0" {
		t.Errorf("X-RateLimit-Remaining = %q, want 0", got)
	}
	if r, err := strconv.Atoi(res.Header.Get("X-RateLimit-Reset")); err != nil || r < lo || r > hi {
		t.Errorf("X-RateLimit-Reset = %q, want %d to %d", res.Header.Get("X-RateLimit-Reset"), lo, hi)
	}
}

// TestLimitsTable: the limits grow with the level and spare staff.
func TestLimitsTable(t *testing.T) {
	for _, a := range []policy.Action{policy.ActTopic, policy.ActReply, policy.ActFlag} {
		prev := 0
		for level := 0; level <= 7; level++ {
			l, ok := policy.MemberLimit(&models.User{Role: models.RoleMember, Level: level}, a)
			if !ok || l.Max < prev || l.Per != time.Hour {
				t.Errorf("%s at level %d: %+v, %v; want an hourly limit no lower than the level below (%d)", a, level, l, ok, prev)
			}
			prev = l.Max
		}
		if _, ok := policy.MemberLimit(&models.User{Role: models.RoleModerator, Level: 1}, a); ok {
			t.Errorf("%s: moderators are limited", a)
		}
	}
	waits := []time.Duration{0, 0, 0, 0, 0, 30 * time.Second, time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute, 15 * time.Minute, 15 * time.Minute}
	for n, want := range waits {
		if got := policy.LoginBackoff(n); got != want {
			t.Errorf("LoginBackoff(%d) = %v, want %v", n, got, want)
		}
	}
}

// TestFlagLimitByLevel: a level-1 member raises 20 flags an hour, a level-3
// member 30; each answer tells the budget, the refusal when to come back.
func TestFlagLimitByLevel(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		a := newApp(t, db, withAbuseLimits)
		author := mustTPUser(t, db, "writer", models.RoleMember)
		cat := mustTPCategory(t, db, "General", "general")
		tp := mustTPTopic(t, db, author, cat, "A topic to flag in", "The first post of the topic.")
		establish(t, db, "writer")
		token := apiMember(t, a, "watcher")
		for i := range 21 {
			p := mustModReply(t, db, author, tp.ID, fmt.Sprintf("reply number %d", i))
			res, body := call(t, a, jsonReq(http.MethodPost, fmt.Sprintf("/api/v1/posts/%d/flags", p.ID), map[string]any{"reason": "off_topic"}, token))
			if i < 20 {
				tpWantStatus(t, res, body, http.StatusCreated)
				if got, want := res.Header.Get("X-RateLimit-Remaining"), strconv.Itoa(19-i); got != want {
					t.Errorf("flag %d: X-RateLimit-Remaining = %q, want %s", i+1, got, want)
				}
				continue
			}
			wantLimited(t, res, body, 20, 3500, 3600)
			if code, _ := apiErr(t, body); code != "rate_limited" {
				t.Errorf("code = %q, want rate_limited", code)
			}
		}
		if n := rowCount(t, db, "flags"); n != 20 {
			t.Errorf("flags = %d, want 20", n)
		}
		// A flag that is refused (already flagged) does not use up the budget.
		promoteLevel(t, db, "watcher", 3)
		p := mustModReply(t, db, author, tp.ID, "one more reply")
		for range 2 {
			call(t, a, jsonReq(http.MethodPost, fmt.Sprintf("/api/v1/posts/%d/flags", p.ID), map[string]any{"reason": "off_topic"}, token))
		}
		p = mustModReply(t, db, author, tp.ID, "and another")
		res, body := call(t, a, jsonReq(http.MethodPost, fmt.Sprintf("/api/v1/posts/%d/flags", p.ID), map[string]any{"reason": "off_topic"}, token))
		tpWantStatus(t, res, body, http.StatusCreated)
		if l, r := res.Header.Get("X-RateLimit-Limit"), res.Header.Get("X-RateLimit-Remaining"); l != "30" || r != "8" {
			t.Errorf("level 3 after 22 flags: limit %s remaining %s, want 30 and 8", l, r)
		}
	})
}

// promoteLevel sets a member's level directly.
func promoteLevel(t *testing.T, db *bun.DB, name string, level int) {
	t.Helper()
	if _, err := db.NewUpdate().Model((*models.User)(nil)).Set("level = ?", level).Where("username = ?", name).Exec(t.Context()); err != nil {
		t.Fatal(err)
	}
}

// TestTopicLimitKeepsTheForm: past the hourly topic limit the new-topic
// form comes back with what was typed and a 429; a refused form (no title)
// does not count, and staff are not limited.
func TestTopicLimitKeepsTheForm(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		a := newApp(t, db, withAbuseLimits)
		cat := mustTPCategory(t, db, "General", "general")
		u := mustTPUser(t, db, "poster", models.RoleMember)
		establish(t, db, "poster") // level 2: 10 topics an hour
		post := func(title string) (*http.Response, string) {
			return call(t, a, formReq("/new-topic", map[string]string{"_csrf": u.csrf, "category_id": strconv.FormatInt(cat.ID, 10),
				"title": title, "body": "Some words for the body of this topic."}, u.cookie))
		}
		res, body := post("")
		tpWantStatus(t, res, body, http.StatusUnprocessableEntity)
		for i := range 10 {
			res, body := post(fmt.Sprintf("Question number %d about exports", i))
			tpWantStatus(t, res, body, http.StatusSeeOther)
			if got, want := res.Header.Get("X-RateLimit-Remaining"), strconv.Itoa(9-i); got != want {
				t.Errorf("topic %d: X-RateLimit-Remaining = %q, want %s (a refused form must not count)", i+1, got, want)
			}
		}
		res, body = post("One question too many")
		wantLimited(t, res, body, 10, 3500, 3600)
		tpWantContains(t, body, `value="One question too many"`, "Some words for the body of this topic.", "at most 10 times an hour")
		// The API shares the budget.
		_, token := mustAPILogin(t, a, "poster")
		res, body = call(t, a, jsonReq(http.MethodPost, "/api/v1/topics", map[string]any{"category_id": cat.ID,
			"title": "Through the API instead", "body": "Some words for the body of this topic."}, token))
		wantLimited(t, res, body, 10, 3500, 3600)

		mod := mustTPUser(t, db, "mona", models.RoleModerator)
		for i := range 12 {
			res, body := call(t, a, formReq("/new-topic", map[string]string{"_csrf": mod.csrf, "category_id": strconv.FormatInt(cat.ID, 10),
				"title": fmt.Sprintf("Announcement number %d", i), "body": "Some words for the body of this topic."}, mod.cookie))
			tpWantStatus(t, res, body, http.StatusSeeOther)
		}
	})
}

// TestReplyLimitByLevel: replies count per member within the level's hourly limit.
func TestReplyLimitByLevel(t *testing.T) {
	t.Parallel()
	db := testdb.Open(t, "sqlite")
	a := newApp(t, db, withAbuseLimits)
	cat := mustTPCategory(t, db, "General", "general")
	u := mustTPUser(t, db, "talker", models.RoleMember)
	tp := mustTPTopic(t, db, u, cat, "Somewhere to talk", "The first post of the topic.")
	establish(t, db, "talker")
	_, token := mustAPILogin(t, a, "talker")
	max, _ := policy.MemberLimit(&models.User{Level: 2}, policy.ActReply)
	for i := range max.Max {
		res, body := call(t, a, jsonReq(http.MethodPost, fmt.Sprintf("/api/v1/topics/%d/posts", tp.ID), map[string]any{"body": fmt.Sprintf("reply %d", i)}, token))
		tpWantStatus(t, res, body, http.StatusCreated)
	}
	res, body := call(t, a, formReq(fmt.Sprintf("/t/%d/reply", tp.ID), map[string]string{"_csrf": u.csrf, "body": "my typed reply"}, u.cookie))
	wantLimited(t, res, body, max.Max, 3500, 3600)
	tpWantContains(t, body, "my typed reply")
}

// TestLoginBackoff: after policy.LoginFreeFailures failures an account's
// sign-in waits, doubling, even with the right password; the wait over, a
// success resets the count. Other accounts are not affected.
func TestLoginBackoff(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		clk := &testClock{t: time.Now()}
		a := newApp(t, db, func(d *app.Deps) { d.Now = clk.now })
		mustAPIRegister(t, a, "victim", "victim@example.com")
		mustAPIRegister(t, a, "bystander", "bystander@example.com")
		login := func(name, password string) (*http.Response, string) {
			return call(t, a, jsonReq(http.MethodPost, "/api/v1/auth/login", map[string]string{"login": name, "password": password}, ""))
		}
		for i := 1; i <= policy.LoginFreeFailures; i++ {
			res, body := login("victim", "wrong password")
			tpWantStatus(t, res, body, http.StatusUnauthorized)
		}
		res, body := login("Victim", memberPassword) // the login as typed, in any case
		wantLimited(t, res, body, policy.LoginFreeFailures, 29, 30)
		if res, body := login("bystander", memberPassword); res.StatusCode != http.StatusOK {
			t.Errorf("another account: %d %s, want 200", res.StatusCode, body)
		}
		// The HTML form says so and keeps the login typed.
		ck, csrf := anonCSRF(t, a, "/login")
		res, body = call(t, a, formReq("/login", map[string]string{"_csrf": csrf, "login": "victim", "password": memberPassword}, ck))
		wantLimited(t, res, body, policy.LoginFreeFailures, 29, 30)
		tpWantContains(t, body, `value="victim"`, "failed sign-ins for this account")

		clk.add(31 * time.Second)
		res, body = login("victim", "wrong again")
		tpWantStatus(t, res, body, http.StatusUnauthorized)
		res, body = login("victim", memberPassword)
		wantLimited(t, res, body, policy.LoginFreeFailures, 59, 60) // the sixth failure: twice as long

		clk.add(61 * time.Second)
		res, body = login("victim", memberPassword)
		tpWantStatus(t, res, body, http.StatusOK)
		// Reset: the next failures are free again.
		for i := 1; i < policy.LoginFreeFailures; i++ {
			login("victim", "wrong password")
		}
		res, body = login("victim", memberPassword)
		tpWantStatus(t, res, body, http.StatusOK)
	})
}

// TestRegisterPerAddress: one address creates policy.RegisterPerAddress
// accounts an hour; refused forms do not count, and the form is kept.
func TestRegisterPerAddress(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		a := newApp(t, db, withAbuseLimits)
		res, body := call(t, a, jsonReq(http.MethodPost, "/api/v1/auth/register", map[string]any{"username": "x"}, ""))
		tpWantStatus(t, res, body, http.StatusUnprocessableEntity)
		for i := range policy.RegisterPerAddress.Max {
			mustAPIRegister(t, a, fmt.Sprintf("sock%d", i), fmt.Sprintf("sock%d@example.com", i))
		}
		ck, csrf := anonCSRF(t, a, "/register")
		res, body = call(t, a, formReq("/register", map[string]string{"_csrf": csrf, "username": "onemore", "email": "onemore@example.com",
			"password": memberPassword, "age_confirmed": "on"}, ck))
		wantLimited(t, res, body, policy.RegisterPerAddress.Max, 3500, 3600)
		tpWantContains(t, body, `value="onemore"`, `value="onemore@example.com"`)
		if n := rowCount(t, db, "users"); n != policy.RegisterPerAddress.Max {
			t.Errorf("users = %d, want %d", n, policy.RegisterPerAddress.Max)
		}
	})
}

// TestSearchPerAddress: searches count per address, page and API together,
// signed in or not; the limited page says so.
func TestSearchPerAddress(t *testing.T) {
	t.Parallel()
	db := testdb.Open(t, "sqlite")
	a := newApp(t, db, withAbuseLimits)
	token := apiMember(t, a, "seeker")
	max := policy.SearchPerAddress.Max
	for i := range max {
		req := jsonReq(http.MethodGet, "/api/v1/search?q=export", nil, "")
		if i%2 == 1 {
			req = jsonReq(http.MethodGet, "/api/v1/search?q=export", nil, token)
		}
		res, _ := call(t, a, req)
		if res.StatusCode == http.StatusTooManyRequests {
			t.Fatalf("search %d limited, want %d allowed", i+1, max)
		}
		if got := res.Header.Get("X-RateLimit-Remaining"); got != strconv.Itoa(max-1-i) {
			t.Fatalf("search %d: X-RateLimit-Remaining = %q, want %d", i+1, got, max-1-i)
		}
	}
	res, body := getPage(t, a, "/search?q=export")
	wantLimited(t, res, body, max, 1, 60)
	tpWantContains(t, body, "Slow down", "search at most 60 times a minute")
}

// TestAPILimitPerToken: each bearer token has its own budget.
func TestAPILimitPerToken(t *testing.T) {
	t.Parallel()
	db := testdb.Open(t, "sqlite")
	a := newApp(t, db, func(d *app.Deps) { d.Config.RateLimit = 4 })
	first := mustAPIRegister(t, a, "scripter", "scripter@example.com") // one request of the guest address
	_, second := mustAPILogin(t, a, "scripter")
	for range 4 {
		res, body := call(t, a, jsonReq(http.MethodGet, "/api/v1/me", nil, first))
		tpWantStatus(t, res, body, http.StatusOK)
	}
	res, body := call(t, a, jsonReq(http.MethodGet, "/api/v1/me", nil, first))
	wantLimited(t, res, body, 4, 1, 60)
	res, body = call(t, a, jsonReq(http.MethodGet, "/api/v1/me", nil, second))
	tpWantStatus(t, res, body, http.StatusOK)
	if !strings.Contains(res.Header.Get("X-RateLimit-Remaining"), "3") {
		t.Errorf("the second token's remaining = %q, want 3", res.Header.Get("X-RateLimit-Remaining"))
	}
}
