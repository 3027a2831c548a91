package app_test

import (
	"context"
	"fmt"
	"net/http"
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
	establish(t, db, "bob", "alice", "sam")
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
