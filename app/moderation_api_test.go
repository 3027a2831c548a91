package app_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/uptrace/bun"

	"agora/forum"
	"agora/internal/testdb"
	"agora/models"
	"agora/moderation"
)

// Helpers of the moderation API tests carry the mapi prefix.

// mapiRoles are the callers of the permission matrix.
var mapiRoles = []string{"anonymous", "member", "suspended", "author", "moderator", "admin"}

// mapiWorld is a community reachable through the real app: an author, a
// second member, a suspended member, a moderator (plus a second one) and an
// admin, each with a bearer token, and two categories.
type mapiWorld struct {
	db    *bun.DB
	a     *fiber.App
	forum *forum.Service
	mod   *moderation.Service
	token map[string]string       // role → bearer token ("" for anonymous)
	user  map[string]*models.User // role → account
	mod2  *models.User
	cat   *models.Category
	cat2  *models.Category
	seq   int
}

func newMapiWorld(t *testing.T, db *bun.DB) *mapiWorld {
	t.Helper()
	w := &mapiWorld{db: db, a: newApp(t, db), forum: forum.New(db, nil), mod: moderation.New(db, nil),
		token: map[string]string{"anonymous": ""}, user: map[string]*models.User{}}
	names := map[string]string{"member": "bob", "suspended": "sam", "author": "alice", "moderator": "mia", "admin": "ada"}
	for role, name := range names {
		w.token[role] = apiMember(t, w.a, name)
	}
	promote(t, db, "mia", models.RoleModerator)
	promote(t, db, "ada", models.RoleAdmin)
	for role, name := range names {
		w.user[role] = w.byName(t, name)
	}
	w.mod2 = w.account(t, "max", models.RoleModerator)
	w.cat = w.category(t, "Questions", "questions")
	w.cat2 = w.category(t, "Announcements", "announcements")
	if err := errOf(w.mod.Suspend(context.Background(), w.user["moderator"], w.user["suspended"].ID, 7, time.Time{}, why("vulgar"), false)); err != nil {
		t.Fatalf("suspend sam: %v", err)
	}
	w.user["suspended"] = w.byName(t, "sam")
	return w
}

func (w *mapiWorld) byName(t *testing.T, name string) *models.User {
	t.Helper()
	u, err := models.UserByUsername(context.Background(), w.db, name)
	if err != nil {
		t.Fatalf("load %s: %v", name, err)
	}
	return u
}

// account creates a user straight in the database (no password: a target only).
func (w *mapiWorld) account(t *testing.T, name, role string) *models.User {
	t.Helper()
	now := time.Now().UTC()
	u := &models.User{Username: name, Email: name + "@example.com", Role: role, CreatedAt: now, UpdatedAt: now}
	if err := models.CreateUser(context.Background(), w.db, u); err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	return u
}

func (w *mapiWorld) category(t *testing.T, name, slug string) *models.Category {
	t.Helper()
	now := time.Now().UTC()
	c := &models.Category{Name: name, Slug: slug, CreatedAt: now, UpdatedAt: now}
	if err := models.CreateCategory(context.Background(), w.db, c); err != nil {
		t.Fatal(err)
	}
	return c
}

// writer returns role's account as it was before any suspension, so
// fixtures can be written for the suspended member too.
func (w *mapiWorld) writer(role string) *models.User {
	u := *w.user[role]
	u.SuspendedUntil = nil
	return &u
}

func (w *mapiWorld) topic(t *testing.T, role string) *models.Topic {
	t.Helper()
	w.seq++
	tp, _, err := w.forum.CreateTopic(context.Background(), w.writer(role), forum.TopicInput{CategoryID: w.cat.ID,
		Title: fmt.Sprintf("Where do I find the audit log? (%d)", w.seq), Body: "Looked everywhere."})
	if err != nil {
		t.Fatalf("create topic: %v", err)
	}
	return tp
}

func (w *mapiWorld) reply(t *testing.T, role string, topicID int64) *models.Post {
	t.Helper()
	p, err := w.forum.Reply(context.Background(), w.writer(role), topicID, "Under Settings → Security.", nil)
	if err != nil {
		t.Fatalf("reply: %v", err)
	}
	return p
}

func (w *mapiWorld) logSize(t *testing.T) int {
	t.Helper()
	return rowCount(t, w.db, "moderation_actions")
}

// mapiRoute is one route of the matrix: setup makes fresh targets for a
// caller and returns the path and body; want maps each role to its status
// and, for 403s, the error code.
type mapiRoute struct {
	method string
	name   string
	setup  func(t *testing.T, w *mapiWorld, role string) (string, any)
	want   map[string]mapiWant
	mod    bool // a staff mutation: success writes to the moderation log, refusal does not
}

type mapiWant struct {
	status int
	code   string
}

var (
	mapiNoSession     = mapiWant{http.StatusUnauthorized, "unauthenticated"}
	mapiForbidden     = mapiWant{http.StatusForbidden, "forbidden"}
	mapiSuspended     = mapiWant{http.StatusForbidden, "account_suspended"}
	mapiOwnPost       = mapiWant{http.StatusForbidden, "own_post"}
	mapiOK            = mapiWant{status: http.StatusOK}
	mapiCreated       = mapiWant{status: http.StatusCreated}
	mapiStaffOnlyWant = map[string]mapiWant{"anonymous": mapiNoSession, "member": mapiForbidden, "suspended": mapiForbidden,
		"author": mapiForbidden, "moderator": mapiOK, "admin": mapiOK}
)

func mapiRoutes() []mapiRoute {
	fixed := func(path string, body any) func(*testing.T, *mapiWorld, string) (string, any) {
		return func(*testing.T, *mapiWorld, string) (string, any) { return path, body }
	}
	flaggedReply := func(t *testing.T, w *mapiWorld) *models.Post {
		p := w.reply(t, "author", w.topic(t, "author").ID)
		if _, err := w.mod.Flag(context.Background(), w.user["member"], p.ID, "spam", ""); err != nil {
			t.Fatal(err)
		}
		return p
	}
	topicAction := func(action string, body func(w *mapiWorld) map[string]any) mapiRoute {
		return mapiRoute{http.MethodPost, "mod topics " + action, func(t *testing.T, w *mapiWorld, _ string) (string, any) {
			return fmt.Sprintf("/api/v1/mod/topics/%d/%s", w.topic(t, "author").ID, action), body(w)
		}, mapiStaffOnlyWant, true}
	}
	reason := func(*mapiWorld) map[string]any { return map[string]any{"reason": "housekeeping"} }
	// likeTarget is a reply by the author; the like routes are the same for every caller.
	likeTarget := func(t *testing.T, w *mapiWorld, _ string) (string, any) {
		return fmt.Sprintf("/api/v1/posts/%d/like", w.reply(t, "author", w.topic(t, "author").ID).ID), map[string]any{}
	}
	return []mapiRoute{
		// Staff routes.
		{http.MethodGet, "mod queue", fixed("/api/v1/mod/queue", nil), mapiStaffOnlyWant, false},
		{http.MethodPost, "mod resolve", func(t *testing.T, w *mapiWorld, _ string) (string, any) {
			return fmt.Sprintf("/api/v1/mod/queue/%d/resolve", flaggedReply(t, w).ID), map[string]any{"action": "dismiss", "reason": "fine"}
		}, mapiStaffOnlyWant, true},
		{http.MethodPost, "mod posts remove", func(t *testing.T, w *mapiWorld, _ string) (string, any) {
			return fmt.Sprintf("/api/v1/mod/posts/%d/remove", w.reply(t, "author", w.topic(t, "author").ID).ID), map[string]any{"reason": "spam"}
		}, mapiStaffOnlyWant, true},
		{http.MethodPost, "mod posts restore", func(t *testing.T, w *mapiWorld, _ string) (string, any) {
			p := w.reply(t, "author", w.topic(t, "author").ID)
			if err := errOf(w.mod.RemovePost(context.Background(), w.user["moderator"], p.ID, why("spam"))); err != nil {
				t.Fatal(err)
			}
			return fmt.Sprintf("/api/v1/mod/posts/%d/restore", p.ID), map[string]any{"reason": "appeal"}
		}, mapiStaffOnlyWant, true},
		{http.MethodPost, "mod posts edit", func(t *testing.T, w *mapiWorld, _ string) (string, any) {
			return fmt.Sprintf("/api/v1/mod/posts/%d/edit", w.reply(t, "author", w.topic(t, "author").ID).ID),
				map[string]any{"body": "[link removed]", "reason": "spam"}
		}, mapiStaffOnlyWant, true},
		topicAction("lock", reason),
		topicAction("unlock", reason),
		topicAction("pin", reason),
		topicAction("unpin", reason),
		topicAction("move", func(w *mapiWorld) map[string]any {
			return map[string]any{"reason": "wrong place", "category_id": w.cat2.ID}
		}),
		{http.MethodPost, "mod users suspend", func(t *testing.T, w *mapiWorld, role string) (string, any) {
			w.seq++
			u := w.account(t, fmt.Sprintf("target%d", w.seq), models.RoleMember)
			return fmt.Sprintf("/api/v1/mod/users/%d/suspend", u.ID), map[string]any{"days": 3, "reason": "harassment", "notify": true}
		}, mapiStaffOnlyWant, true},
		{http.MethodPost, "mod users unsuspend", func(t *testing.T, w *mapiWorld, role string) (string, any) {
			w.seq++
			u := w.account(t, fmt.Sprintf("target%d", w.seq), models.RoleMember)
			if err := errOf(w.mod.Suspend(context.Background(), w.user["admin"], u.ID, 3, time.Time{}, why("spam"), false)); err != nil {
				t.Fatal(err)
			}
			return fmt.Sprintf("/api/v1/mod/users/%d/unsuspend", u.ID), map[string]any{"reason": "appeal"}
		}, mapiStaffOnlyWant, true},
		{http.MethodGet, "mod log", fixed("/api/v1/mod/log", nil), mapiStaffOnlyWant, false},
		{http.MethodGet, "mod health", fixed("/api/v1/mod/health", nil), mapiStaffOnlyWant, false},
		{http.MethodGet, "admin dry run", fixed("/api/v1/admin/flag-threshold/dry-run?threshold=3", nil), map[string]mapiWant{
			"anonymous": mapiNoSession, "member": mapiForbidden, "suspended": mapiForbidden, "author": mapiForbidden,
			"moderator": mapiForbidden, "admin": mapiOK}, false},

		// Member routes that change something.
		{http.MethodPost, "create topic", func(t *testing.T, w *mapiWorld, _ string) (string, any) {
			return "/api/v1/topics", map[string]any{"category_id": w.cat.ID, "title": "How do I export invoices?", "body": "As PDF."}
		}, map[string]mapiWant{"anonymous": mapiNoSession, "member": mapiCreated, "suspended": mapiSuspended,
			"author": mapiCreated, "moderator": mapiCreated, "admin": mapiCreated}, false},
		{http.MethodPost, "reply", func(t *testing.T, w *mapiWorld, _ string) (string, any) {
			return fmt.Sprintf("/api/v1/topics/%d/posts", w.topic(t, "author").ID), map[string]any{"body": "Same question here."}
		}, map[string]mapiWant{"anonymous": mapiNoSession, "member": mapiCreated, "suspended": mapiSuspended,
			"author": mapiCreated, "moderator": mapiCreated, "admin": mapiCreated}, false},
		{http.MethodPatch, "edit post", func(t *testing.T, w *mapiWorld, role string) (string, any) {
			owner := "author"
			if role == "suspended" {
				owner = "suspended" // their own post: only the suspension stands in the way
			}
			return fmt.Sprintf("/api/v1/posts/%d", w.reply(t, owner, w.topic(t, "author").ID).ID), map[string]any{"body": "Settings → Security → Audit.", "reason": "typo"}
		}, map[string]mapiWant{"anonymous": mapiNoSession, "member": mapiForbidden, "suspended": mapiSuspended,
			"author": mapiOK, "moderator": mapiOK, "admin": mapiOK}, false},
		{http.MethodPost, "like", likeTarget, map[string]mapiWant{"anonymous": mapiNoSession, "member": mapiOK, "suspended": mapiSuspended,
			"author": mapiOwnPost, "moderator": mapiOK, "admin": mapiOK}, false},
		{http.MethodDelete, "unlike", likeTarget, map[string]mapiWant{"anonymous": mapiNoSession, "member": mapiOK, "suspended": mapiSuspended,
			"author": mapiOwnPost, "moderator": mapiOK, "admin": mapiOK}, false},
		{http.MethodPost, "flag", func(t *testing.T, w *mapiWorld, _ string) (string, any) {
			return fmt.Sprintf("/api/v1/posts/%d/flags", w.reply(t, "author", w.topic(t, "author").ID).ID), map[string]any{"reason": "spam"}
		}, map[string]mapiWant{"anonymous": mapiNoSession, "member": mapiCreated, "suspended": mapiSuspended,
			"author": mapiOwnPost, "moderator": mapiCreated, "admin": mapiCreated}, false},
		{http.MethodPost, "mark solution", func(t *testing.T, w *mapiWorld, role string) (string, any) {
			owner := "author"
			if role == "suspended" {
				owner = "suspended" // their own topic
			}
			tp := w.topic(t, owner)
			return fmt.Sprintf("/api/v1/topics/%d/solution", tp.ID), map[string]any{"post_id": w.reply(t, "member", tp.ID).ID}
		}, map[string]mapiWant{"anonymous": mapiNoSession, "member": mapiForbidden, "suspended": mapiSuspended,
			"author": mapiOK, "moderator": mapiOK, "admin": mapiOK}, false},
	}
}

func TestModerationAPIPermissions(t *testing.T) {
	db := testdb.Open(t, "sqlite")
	w := newMapiWorld(t, db)
	until := *w.user["suspended"].SuspendedUntil
	for _, r := range mapiRoutes() {
		t.Run(r.name, func(t *testing.T) {
			for _, role := range mapiRoles {
				t.Run(role, func(t *testing.T) {
					want, ok := r.want[role]
					if !ok {
						t.Fatalf("no expectation for %s", role)
					}
					path, body := r.setup(t, w, role)
					logBefore := w.logSize(t)
					res, got := call(t, w.a, jsonReq(r.method, path, body, w.token[role]))
					if res.StatusCode != want.status {
						t.Fatalf("%s %s as %s: %d %s, want %d", r.method, path, role, res.StatusCode, got, want.status)
					}
					if want.code != "" {
						if code, _ := apiErr(t, got); code != want.code {
							t.Errorf("error code = %q, want %q (%s)", code, want.code, got)
						}
					}
					if want == mapiSuspended {
						e := decode(t, got)["error"].(map[string]any)
						if s, _ := e["until"].(string); s == "" {
							t.Errorf("suspension error has no until: %s", got)
						} else if at, err := time.Parse(time.RFC3339, s); err != nil || !at.Equal(until) {
							t.Errorf("until = %q, want %s", s, until.Format(time.RFC3339Nano))
						}
					}
					if r.mod {
						grew := w.logSize(t) - logBefore
						if res.StatusCode < 300 && grew == 0 {
							t.Errorf("a successful %s wrote nothing to the moderation log", r.name)
						}
						if res.StatusCode >= 300 && grew != 0 {
							t.Errorf("a refused %s wrote %d log entries", r.name, grew)
						}
					}
				})
			}
		})
	}
}

func TestModerationAPISuspensionRules(t *testing.T) {
	db := testdb.Open(t, "sqlite")
	w := newMapiWorld(t, db)
	cases := []struct {
		name   string
		by     string
		target *models.User
		status int
		code   string
	}{
		{"moderator suspends an admin", "moderator", w.user["admin"], http.StatusForbidden, "protected_user"},
		{"moderator suspends a moderator", "moderator", w.mod2, http.StatusForbidden, "protected_user"},
		{"moderator suspends themself", "moderator", w.user["moderator"], http.StatusForbidden, "self"},
		{"admin suspends a moderator", "admin", w.mod2, http.StatusOK, ""},
		{"moderator suspends a member", "moderator", w.user["member"], http.StatusOK, ""},
		{"unknown member", "moderator", &models.User{ID: 999999}, http.StatusNotFound, "not_found"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, body := call(t, w.a, jsonReq(http.MethodPost, fmt.Sprintf("/api/v1/mod/users/%d/suspend", c.target.ID),
				map[string]any{"days": 2, "reason": "harassment", "notify": false}, w.token[c.by]))
			if res.StatusCode != c.status {
				t.Fatalf("status %d %s, want %d", res.StatusCode, body, c.status)
			}
			if c.code != "" {
				if code, _ := apiErr(t, body); code != c.code {
					t.Errorf("code = %q, want %q", code, c.code)
				}
				return
			}
			if u := decode(t, body)["user"].(map[string]any); u["suspended_until"] == nil {
				t.Errorf("suspended user = %v, want suspended_until", u)
			}
		})
	}
	t.Run("indefinite when no days", func(t *testing.T) {
		target := w.account(t, "forever", models.RoleMember)
		res, body := call(t, w.a, jsonReq(http.MethodPost, fmt.Sprintf("/api/v1/mod/users/%d/suspend", target.ID),
			map[string]any{"reason": "malware"}, w.token["moderator"]))
		if res.StatusCode != http.StatusOK {
			t.Fatalf("status %d %s", res.StatusCode, body)
		}
		got := w.byName(t, "forever")
		if got.SuspendedUntil == nil || !got.SuspendedUntil.Equal(models.IndefiniteSuspension) {
			t.Errorf("suspended_until = %v, want %v", got.SuspendedUntil, models.IndefiniteSuspension)
		}
	})
	t.Run("unsuspend a member who is not suspended", func(t *testing.T) {
		res, body := call(t, w.a, jsonReq(http.MethodPost, fmt.Sprintf("/api/v1/mod/users/%d/unsuspend", w.user["author"].ID),
			map[string]any{"reason": "x"}, w.token["moderator"]))
		if res.StatusCode != http.StatusConflict {
			t.Errorf("status %d %s, want 409", res.StatusCode, body)
		}
	})
}

func TestFlagReasonsAPI(t *testing.T) {
	a := newApp(t, testdb.Open(t, "sqlite"))
	res, body := call(t, a, jsonReq(http.MethodGet, "/api/v1/flag-reasons", nil, ""))
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d %s", res.StatusCode, body)
	}
	want := []string{"off_topic", "spam", "confidential", "violence", "hate", "harassment", "impersonation",
		"privacy", "vulgar", "graphic", "malware", "other"}
	items := decode(t, body)["items"].([]any)
	var got []string
	for _, it := range items {
		m := it.(map[string]any)
		got = append(got, m["code"].(string))
		if m["title"] == "" || m["description"] == "" {
			t.Errorf("reason %v lacks a title or description", m["code"])
		}
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("codes = %v, want %v", got, want)
	}
}

func TestModerationLogCSV(t *testing.T) {
	db := testdb.Open(t, "sqlite")
	w := newMapiWorld(t, db) // suspending sam wrote the first entry
	tp := w.topic(t, "author")
	if _, err := w.mod.TopicAction(context.Background(), w.user["moderator"], tp.ID, moderation.TopicLock, why("heated, \"really\""), 0); err != nil {
		t.Fatal(err)
	}
	res, body := call(t, w.a, jsonReq(http.MethodGet, "/api/v1/mod/log?format=csv", nil, w.token["moderator"]))
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d %s", res.StatusCode, body)
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
		t.Errorf("Content-Type = %q, want text/csv", ct)
	}
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatalf("parse CSV: %v\n%s", err, body)
	}
	header := "id,created_at,moderator_id,action,target_type,target_id,target_user_id,guideline,reason,details,hash"
	if len(rows) != 3 || strings.Join(rows[0], ",") != header {
		t.Fatalf("CSV has %d rows starting %v, want the header and 2 entries", len(rows), rows[0])
	}
	if rows[1][3] != "lock_topic" || rows[1][8] != `heated, "really"` || rows[2][3] != "suspend_user" {
		t.Errorf("CSV entries = %v, want lock_topic (newest first, reason intact) then suspend_user", rows[1:])
	}
	if res, _ := call(t, w.a, jsonReq(http.MethodGet, "/api/v1/mod/log?format=csv", nil, w.token["member"])); res.StatusCode != http.StatusForbidden {
		t.Errorf("member downloading the log: %d, want 403", res.StatusCode)
	}
}

func TestFlagRateLimitAPI(t *testing.T) {
	db := testdb.Open(t, "sqlite")
	w := newMapiWorld(t, db)
	tp := w.topic(t, "author")
	for i := range 21 {
		p := w.reply(t, "author", tp.ID)
		res, body := call(t, w.a, jsonReq(http.MethodPost, fmt.Sprintf("/api/v1/posts/%d/flags", p.ID), map[string]any{"reason": "off_topic"}, w.token["member"]))
		if i < 20 {
			if res.StatusCode != http.StatusCreated {
				t.Fatalf("flag %d: %d %s, want 201", i+1, res.StatusCode, body)
			}
			continue
		}
		if res.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("21st flag: %d %s, want 429", res.StatusCode, body)
		}
		if ra := res.Header.Get("Retry-After"); ra != "3600" {
			t.Errorf("Retry-After = %q, want 3600", ra)
		}
		if code, _ := apiErr(t, body); code != "rate_limited" {
			t.Errorf("code = %q, want rate_limited", code)
		}
	}
}

// TestModerationAPILifecycle follows a post from three flags to removal and
// its author from suspension back to posting, through the API only.
func TestModerationAPILifecycle(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		a := newApp(t, db)
		ctx := context.Background()
		tok := map[string]string{}
		for _, name := range []string{"ada", "mia", "max", "alice", "bob", "carol", "dave"} {
			tok[name] = apiMember(t, a, name)
		}
		promote(t, db, "ada", models.RoleAdmin)
		promote(t, db, "mia", models.RoleModerator)
		promote(t, db, "max", models.RoleModerator)
		if _, err := db.ExecContext(ctx, "UPDATE users SET level = 2 WHERE username IN ('bob', 'carol', 'dave')"); err != nil {
			t.Fatal(err)
		}
		do := func(method, path string, body any, who string, want int) map[string]any {
			t.Helper()
			res, got := call(t, a, jsonReq(method, path, body, tok[who]))
			if res.StatusCode != want {
				t.Fatalf("%s %s as %s: %d %s, want %d", method, path, who, res.StatusCode, got, want)
			}
			return decode(t, got)
		}
		catID := num(do(http.MethodPost, "/api/v1/admin/categories", map[string]any{"name": "Questions"}, "ada", 201), "category", "id")
		topicID := int64(num(do(http.MethodPost, "/api/v1/topics", map[string]any{"category_id": catID,
			"title": "How do I set up single sign-on?", "body": "With Okta."}, "alice", 201), "topic", "id"))
		topicPath := fmt.Sprintf("/api/v1/topics/%d", topicID)
		postID := int64(num(do(http.MethodPost, topicPath+"/posts", map[string]any{"body": "Visit cheap-sso.example for a deal"}, "alice", 201), "post", "id"))
		aliceID := int64(num(do(http.MethodGet, "/api/v1/me", nil, "alice", 200), "user", "id"))

		for i, who := range []string{"bob", "carol", "dave"} {
			got := do(http.MethodPost, fmt.Sprintf("/api/v1/posts/%d/flags", postID), map[string]any{"reason": "spam"}, who, 201)
			if hidden := got["post_hidden"] == true; hidden != (i == 2) {
				t.Errorf("flag by %s: post_hidden %v, want %v", who, got["post_hidden"], i == 2)
			}
			if num(got, "flag", "weight") != 3 || num(got, "flag", "level_part") != 2 {
				t.Errorf("flag by %s = %v, want weight 3 with level part 2", who, got["flag"])
			}
		}
		do(http.MethodPost, fmt.Sprintf("/api/v1/posts/%d/flags", postID), map[string]any{"reason": "spam"}, "bob", 409)

		notes := do(http.MethodGet, "/api/v1/notifications", nil, "alice", 200)
		if !strings.Contains(fmt.Sprint(notes["items"]), "post_hidden") {
			t.Errorf("author's notifications = %v, want post_hidden", notes["items"])
		}
		reply := do(http.MethodGet, topicPath, nil, "carol", 200)["posts"].(map[string]any)["items"].([]any)[1].(map[string]any)
		if reply["body"] != "" || reply["notice"] == nil || reply["notice"] == "" {
			t.Errorf("hidden reply as another member sees it = %v, want a notice and no body", reply)
		}

		queue := do(http.MethodGet, "/api/v1/mod/queue", nil, "mia", 200)
		items := queue["items"].([]any)
		if num(queue, "total") != 1 || len(items) != 1 {
			t.Fatalf("queue = %v, want one entry", queue)
		}
		entry := items[0].(map[string]any)
		if num(entry, "post", "id") != float64(postID) || num(entry, "weight") != 9 || num(entry, "threshold") != 9 || num(entry, "author", "id") != float64(aliceID) {
			t.Errorf("queue entry = %v, want post %d by alice, weight 9, threshold 9", entry, postID)
		}
		flags := entry["flags"].([]any)
		if len(flags) != 3 {
			t.Fatalf("entry has %d flags, want 3", len(flags))
		}
		for i, who := range []string{"bob", "carol", "dave"} {
			fl := flags[i].(map[string]any)
			if fl["reason"] != "spam" || num(fl, "flagger", "id") == 0 || fl["flagger"].(map[string]any)["username"] != who ||
				num(fl, "level_part") != 2 || num(fl, "accuracy_part") != 0 || num(fl, "weight") != 3 {
				t.Errorf("flag %d = %v, want %s's spam flag of weight 3 (level 2, accuracy 0)", i, fl, who)
			}
		}

		res := do(http.MethodPost, fmt.Sprintf("/api/v1/mod/queue/%d/resolve", postID), map[string]any{"action": "remove", "reason": "spam"}, "mia", 200)
		if res["action"] != "remove" || num(res, "flags_closed") != 3 {
			t.Errorf("resolve = %v, want remove closing 3 flags", res)
		}
		conflict := do(http.MethodPost, fmt.Sprintf("/api/v1/mod/queue/%d/resolve", postID), map[string]any{"action": "dismiss"}, "max", 409)
		if msg := conflict["error"].(map[string]any)["message"].(string); !strings.Contains(msg, "mia") || !strings.Contains(msg, "remove") {
			t.Errorf("second resolution message = %q, want it to name mia and remove", msg)
		}
		if open := do(http.MethodGet, "/api/v1/mod/queue?status=open", nil, "mia", 200); num(open, "total") != 0 {
			t.Errorf("open queue after resolving = %v, want empty", open)
		}
		resolved := do(http.MethodGet, "/api/v1/mod/queue?status=resolved", nil, "max", 200)
		if num(resolved, "total") != 1 || num(resolved["items"].([]any)[0].(map[string]any), "post", "id") != float64(postID) {
			t.Errorf("resolved queue = %v, want the post", resolved)
		}
		do(http.MethodGet, "/api/v1/mod/queue?status=bogus", nil, "mia", 422)

		reply = do(http.MethodGet, topicPath, nil, "", 200)["posts"].(map[string]any)["items"].([]any)[1].(map[string]any)
		if reply["body"] != "" || !strings.Contains(fmt.Sprint(reply["notice"]), "Spam or self-promotion") {
			t.Errorf("removed reply as a guest sees it = %v, want the removal notice with the reason", reply)
		}
		if rc := num(do(http.MethodGet, topicPath, nil, "", 200), "topic", "reply_count"); rc != 0 {
			t.Errorf("reply_count = %v, want 0", rc)
		}

		do(http.MethodPost, fmt.Sprintf("/api/v1/mod/users/%d/suspend", aliceID), map[string]any{"days": 7, "reason": "spam", "notify": true}, "mia", 200)
		refused := do(http.MethodPost, topicPath+"/posts", map[string]any{"body": "Why was I removed?"}, "alice", 403)
		e := refused["error"].(map[string]any)
		if e["code"] != "account_suspended" || e["until"] == nil {
			t.Errorf("suspended reply error = %v, want account_suspended with until", e)
		}
		if me := do(http.MethodGet, "/api/v1/me", nil, "alice", 200); me["user"].(map[string]any)["suspended_until"] == nil {
			t.Errorf("/me of a suspended member = %v, want suspended_until", me)
		}
		do(http.MethodPost, fmt.Sprintf("/api/v1/mod/users/%d/unsuspend", aliceID), map[string]any{"reason": "appeal"}, "ada", 200)
		do(http.MethodPost, topicPath+"/posts", map[string]any{"body": "Sorry, it will not happen again."}, "alice", 201)

		lock := do(http.MethodPost, fmt.Sprintf("/api/v1/mod/topics/%d/lock", topicID), map[string]any{"reason": "resolved"}, "mia", 200)
		if lock["topic"].(map[string]any)["locked"] != true {
			t.Errorf("lock answer = %v, want locked", lock)
		}
		if got := do(http.MethodPost, topicPath+"/posts", map[string]any{"body": "+1"}, "bob", 403); got["error"].(map[string]any)["code"] != "topic_locked" {
			t.Errorf("reply to a locked topic = %v, want topic_locked", got)
		}
		do(http.MethodPost, fmt.Sprintf("/api/v1/mod/topics/%d/archive", topicID), map[string]any{"reason": "x"}, "mia", 404)
		do(http.MethodPost, fmt.Sprintf("/api/v1/mod/topics/%d/move", topicID), map[string]any{"reason": "x", "category_id": 987654}, "mia", 422)

		logPage := do(http.MethodGet, "/api/v1/mod/log", nil, "mia", 200)
		var actions []string
		for _, it := range logPage["items"].([]any) {
			actions = append(actions, it.(map[string]any)["action"].(string))
		}
		want := []string{"lock_topic", "unsuspend_user", "suspend_user", "remove_post", "auto_hide"}
		if strings.Join(actions, ",") != strings.Join(want, ",") || num(logPage, "total") != 5 {
			t.Errorf("log = %v (total %v), want %v newest first", actions, logPage["total"], want)
		}
		if broken, _, err := moderation.VerifyLog(ctx, db); err != nil || broken != 0 {
			t.Errorf("VerifyLog = %d, %v; want an intact chain", broken, err)
		}

		health := do(http.MethodGet, "/api/v1/mod/health", nil, "max", 200)
		if num(health, "open_entries") != 0 || health["median_time_to_action_7d"] == nil || num(health, "actions_per_moderator_7d", "mia") != 3 {
			t.Errorf("health = %v, want no open entries, a median and mia: 3", health)
		}
		dry := do(http.MethodGet, "/api/v1/admin/flag-threshold/dry-run?threshold=9", nil, "ada", 200)
		if num(dry, "total") != 1 {
			t.Errorf("dry run at 9 = %v, want the removed post", dry)
		}
		do(http.MethodGet, "/api/v1/admin/flag-threshold/dry-run?threshold=0", nil, "ada", 422)
	})
}
