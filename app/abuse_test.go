package app_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"agora/app"
	"agora/internal/oidctest"
	"agora/internal/testclock"
	"agora/internal/testdb"
	"agora/models"
	"agora/policy"
	"agora/ratelimit"
)

// withAbuseLimits turns on the per-member and per-address limits, which
// the other tests run without (AGORA_ABUSE_LIMITS=off).
func withAbuseLimits(d *app.Deps) { d.Config.AbuseLimits = true }

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

// TestLoginBackoff: after policy.LoginFreeFailures failures from one
// address an account's sign-in from there waits, doubling, even with the
// right password; the wait over, a success resets the count. Other accounts,
// and the account from other addresses, are not affected.
func TestLoginBackoff(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		clk := testclock.New(time.Now())
		a := newApp(t, db, func(d *app.Deps) { d.Now = clk.Now })
		mustAPIRegister(t, a, "victim", "victim@example.com")
		mustAPIRegister(t, a, "bystander", "bystander@example.com")
		login := func(name, password string) (*http.Response, string) {
			return call(t, a, jsonReq(http.MethodPost, "/api/v1/auth/login", map[string]string{"login": name, "password": password}, ""))
		}
		// The account's failures are counted together whether it is named
		// by username or by email.
		for i := 1; i <= policy.LoginFreeFailures; i++ {
			res, body := login([]string{"victim", "victim@example.com"}[i%2], "wrong password")
			tpWantStatus(t, res, body, http.StatusUnauthorized)
		}
		res, body := login("Victim", memberPassword) // the login as typed, in any case
		wantLimited(t, res, body, policy.LoginFreeFailures, 29, 30)
		res, body = login("VICTIM@example.com", memberPassword)
		wantLimited(t, res, body, policy.LoginFreeFailures, 29, 30)
		if res, body := login("bystander", memberPassword); res.StatusCode != http.StatusOK {
			t.Errorf("another account: %d %s, want 200", res.StatusCode, body)
		}
		// The member from elsewhere (another address, through a trusted
		// proxy) is not locked out by failures from this one.
		proxied := newApp(t, db, func(d *app.Deps) { d.Now = clk.Now; d.Config.TrustedProxies = []string{"0.0.0.0"} })
		req := jsonReq(http.MethodPost, "/api/v1/auth/login", map[string]string{"login": "victim", "password": memberPassword}, "")
		req.Header.Set("X-Forwarded-For", "198.51.100.9")
		if res, body := call(t, proxied, req); res.StatusCode != http.StatusOK {
			t.Errorf("the victim from another address: %d %s, want 200", res.StatusCode, body)
		}
		// The HTML form says so and keeps the login typed.
		ck, csrf := anonCSRF(t, a, "/login")
		res, body = call(t, a, formReq("/login", map[string]string{"_csrf": csrf, "login": "victim", "password": memberPassword}, ck))
		wantLimited(t, res, body, policy.LoginFreeFailures, 29, 30)
		tpWantContains(t, body, `value="victim"`, "failed sign-ins for this account")

		clk.Add(31 * time.Second)
		res, body = login("victim", "wrong again")
		tpWantStatus(t, res, body, http.StatusUnauthorized)
		res, body = login("victim", memberPassword)
		wantLimited(t, res, body, policy.LoginFreeFailures, 59, 60) // the sixth failure: twice as long

		clk.Add(61 * time.Second)
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
// accounts an hour, with a password or through a provider's sign-up;
// refused forms do not count, and the form is kept.
func TestRegisterPerAddress(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		a, idp, _ := oidcApp(t, db, withAbuseLimits)
		res, body := call(t, a, jsonReq(http.MethodPost, "/api/v1/auth/register", map[string]any{"username": "x"}, ""))
		tpWantStatus(t, res, body, http.StatusUnprocessableEntity)
		for i := range policy.RegisterPerAddress.Max - 1 {
			mustAPIRegister(t, a, fmt.Sprintf("sock%d", i), fmt.Sprintf("sock%d@example.com", i))
		}
		res, body, _ = signUpThroughOIDC(t, a, "/", "ana_lima") // the last one allowed
		tpWantStatus(t, res, body, http.StatusSeeOther)
		idp.SetUser(oidctest.User{Subject: "1002", Email: "ben@example.com", EmailVerified: true, Name: "Ben", PreferredUsername: "ben"})
		res, body, _ = signUpThroughOIDC(t, a, "/", "ben_ito")
		wantLimited(t, res, body, policy.RegisterPerAddress.Max, 3500, 3600)
		tpWantContains(t, body, `value="ben_ito"`, "Acme ID")
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

// TestAPILimitPerMember: a member's tokens share one budget (a token per
// sign-in must not multiply it); another member's is their own.
func TestAPILimitPerMember(t *testing.T) {
	t.Parallel()
	db := testdb.Open(t, "sqlite")
	a := newApp(t, db, func(d *app.Deps) { d.Config.RateLimit = 4 })
	first := mustAPIRegister(t, a, "scripter", "scripter@example.com") // one request of the guest address
	_, second := mustAPILogin(t, a, "scripter")
	other := mustAPIRegister(t, a, "bystander", "bystander@example.com")
	for _, token := range []string{first, second, first, second} {
		res, body := call(t, a, jsonReq(http.MethodGet, "/api/v1/me", nil, token))
		tpWantStatus(t, res, body, http.StatusOK)
	}
	res, body := call(t, a, jsonReq(http.MethodGet, "/api/v1/me", nil, first))
	wantLimited(t, res, body, 4, 1, 60)
	res, body = call(t, a, jsonReq(http.MethodGet, "/api/v1/me", nil, second))
	wantLimited(t, res, body, 4, 1, 60)
	res, body = call(t, a, jsonReq(http.MethodGet, "/api/v1/me", nil, other))
	tpWantStatus(t, res, body, http.StatusOK)
	if got := res.Header.Get("X-RateLimit-Remaining"); got != "3" {
		t.Errorf("another member's remaining = %q, want 3", got)
	}
}

// TestLoginBackoffRace: wrong passwords sent together get no more checks
// than the free failures and one more; the rest wait.
func TestLoginBackoffRace(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		a := newApp(t, db)
		mustAPIRegister(t, a, "target", "target@example.com")
		const n = 24
		codes := make(chan int, n)
		var wg sync.WaitGroup
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res, _ := call(t, a, jsonReq(http.MethodPost, "/api/v1/auth/login", map[string]string{"login": "target", "password": "a wrong guess"}, ""))
				codes <- res.StatusCode
			}()
		}
		wg.Wait()
		close(codes)
		checked := 0
		for c := range codes {
			switch c {
			case http.StatusUnauthorized:
				checked++
			case http.StatusTooManyRequests:
			default:
				t.Errorf("a guess answered %d", c)
			}
		}
		if checked > policy.LoginFreeFailures+1 {
			t.Errorf("%d of %d guesses sent together were checked, want at most %d", checked, n, policy.LoginFreeFailures+1)
		}
	})
}

// failingStore is a store of the limits that is down.
type failingStore struct{}

var errStoreDown = errors.New("store down")

func (failingStore) Get(string) ([]byte, error)              { return nil, errStoreDown }
func (failingStore) Set(string, []byte, time.Duration) error { return errStoreDown }
func (failingStore) Delete(string) error                     { return errStoreDown }
func (failingStore) Reset() error                            { return errStoreDown }
func (failingStore) Close() error                            { return nil }
func (failingStore) Undo(context.Context, string) error      { return errStoreDown }
func (failingStore) Purge(context.Context) error             { return errStoreDown }
func (failingStore) Hit(context.Context, string, time.Duration, int) (int, time.Time, error) {
	return 0, time.Time{}, errStoreDown
}

// TestLimitsStoreDown: while the store of the limits fails, budgets are
// not counted (the forum serves, posts and searches) but sign-in, whose
// backoff can't be kept, answers 503; the failure is logged, not per request.
func TestLimitsStoreDown(t *testing.T) {
	t.Parallel()
	db := testdb.Open(t, "sqlite")
	var buf lockedBuffer
	member := apiMember(t, newApp(t, db), "steady")
	a := newApp(t, db, withAbuseLimits, func(d *app.Deps) {
		d.Log = slog.New(slog.NewTextHandler(&buf, nil))
		d.Limits = ratelimit.New(failingStore{}, time.Now)
	})
	for _, path := range []string{"/api/v1/topics", "/api/v1/me"} {
		res, body := call(t, a, jsonReq(http.MethodGet, path, nil, member))
		if res.StatusCode != http.StatusOK {
			t.Errorf("GET %s with the store down: %d %s, want 200", path, res.StatusCode, body)
		}
	}
	establish(t, db, "steady")
	cat := mustTPCategory(t, db, "General", "general")
	res, body := call(t, a, jsonReq(http.MethodPost, "/api/v1/topics", map[string]any{"category_id": cat.ID,
		"title": "Posting while the store is down", "body": "The limits are not counted, the post lands."}, member))
	tpWantStatus(t, res, body, http.StatusCreated)
	res, body = call(t, a, jsonReq(http.MethodPost, "/api/v1/auth/login", map[string]string{"login": "steady", "password": "a long password"}, ""))
	tpWantStatus(t, res, body, http.StatusServiceUnavailable)
	if code, _ := apiErr(t, body); code != "unavailable" {
		t.Errorf("sign-in with the store down: code %q, want unavailable", code)
	}
	if n := strings.Count(buf.String(), "rate-limit store failing"); n != 1 {
		t.Errorf("the failing store was logged %d times, want once:\n%s", n, buf.String())
	}
}
