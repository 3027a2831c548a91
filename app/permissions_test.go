package app_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/uptrace/bun"

	"agora/accounts"
	"agora/app"
	"agora/forum"
	"agora/internal/testdb"
	"agora/models"
	"agora/moderation"
)

// The permission matrix is docs/permissions.md: one row per route and a
// status for each role. TestPermissionMatrix reads it, holds it against the
// app's route table (every served route has a row, every row is served) and
// calls every row as every role with fresh targets.

// roles are the callers of the permission matrix.
var roles = []string{"anonymous", "member", "suspended", "author", "moderator", "admin"}

// caller is one way in: a bearer token for the API, a session cookie with
// its CSRF token for pages. Anonymous holds only a guest CSRF cookie.
type caller struct {
	user   *models.User
	token  string
	cookie *http.Cookie
	csrf   string
}

// roleWorld is a community reachable through the real app: an author, a
// second member, a suspended member, a moderator (plus a second one) and an
// admin, each with a bearer token and a browser session, and two categories.
type roleWorld struct {
	db     *bun.DB
	a      *fiber.App
	forum  *forum.Service
	mod    *moderation.Service
	acc    *accounts.Service
	token  map[string]string       // role → bearer token ("" for anonymous)
	user   map[string]*models.User // role → account
	caller map[string]*caller      // role → token and session
	mod2   *models.User
	cat    *models.Category
	cat2   *models.Category
	hash   string // of "a long password", for fresh accounts
	seq    int
}

func newRoleWorld(t *testing.T, db *bun.DB) *roleWorld {
	t.Helper()
	w := &roleWorld{db: db, a: newApp(t, db), forum: forum.New(db, nil), mod: moderation.New(db, nil), acc: accounts.New(db, nil),
		token: map[string]string{"anonymous": ""}, user: map[string]*models.User{}, caller: map[string]*caller{}}
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
	for role, u := range w.user {
		w.caller[role] = w.session(t, u)
		w.caller[role].token = w.token[role]
	}
	ck, csrf := anonCSRF(t, w.a, "/login")
	w.caller["anonymous"] = &caller{cookie: ck, csrf: csrf}
	var err error
	if w.hash, err = accounts.HashPassword("a long password"); err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *roleWorld) byName(t *testing.T, name string) *models.User {
	t.Helper()
	u, err := models.UserByUsername(context.Background(), w.db, name)
	if err != nil {
		t.Fatalf("load %s: %v", name, err)
	}
	return u
}

// account creates a user straight in the database (no password: a target only).
func (w *roleWorld) account(t *testing.T, name, role string) *models.User {
	t.Helper()
	now := time.Now().UTC()
	u := &models.User{Username: name, Email: name + "@example.com", Role: role, CreatedAt: now, UpdatedAt: now}
	if err := models.CreateUser(context.Background(), w.db, u); err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	return u
}

// session starts a browser session for u, as signing in would.
func (w *roleWorld) session(t *testing.T, u *models.User) *caller {
	t.Helper()
	ck, sess, err := w.acc.StartSession(context.Background(), u.ID, "127.0.0.1", "test")
	if err != nil {
		t.Fatal(err)
	}
	return &caller{user: u, cookie: &http.Cookie{Name: "agora_session", Value: ck}, csrf: sess.CSRFToken}
}

// fresh is a new account like role's (password "a long password", level 2,
// the same role and suspension), signed in both ways: the caller of a route
// that ends a session, renames or erases its caller.
func (w *roleWorld) fresh(t *testing.T, role string) *caller {
	t.Helper()
	if role == "anonymous" {
		return w.caller[role]
	}
	w.seq++
	like := w.user[role]
	now := time.Now().UTC()
	name := fmt.Sprintf("fresh%d", w.seq)
	u := &models.User{Username: name, Email: name + "@example.com", PasswordHash: w.hash, Role: like.Role, Level: 2,
		SuspendedUntil: like.SuspendedUntil, CreatedAt: now.Add(-48 * time.Hour), UpdatedAt: now}
	if err := models.CreateUser(context.Background(), w.db, u); err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	if err := models.CreateEmailPreferences(context.Background(), w.db, u.ID, accounts.NewToken(), now); err != nil {
		t.Fatal(err) // as registering stores them
	}
	c := w.session(t, u)
	var err error
	if c.token, err = w.acc.IssueToken(context.Background(), u.ID, "matrix"); err != nil {
		t.Fatal(err)
	}
	return c
}

func (w *roleWorld) category(t *testing.T, name, slug string) *models.Category {
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
func (w *roleWorld) writer(role string) *models.User {
	u := *w.user[role]
	u.SuspendedUntil = nil
	return &u
}

func (w *roleWorld) topic(t *testing.T, role string) *models.Topic {
	t.Helper()
	w.seq++
	tp, _, err := w.forum.CreateTopic(context.Background(), w.writer(role), forum.TopicInput{CategoryID: w.cat.ID,
		Title: fmt.Sprintf("Where do I find the audit log? (%d)", w.seq), Body: "Looked everywhere."})
	if err != nil {
		t.Fatalf("create topic: %v", err)
	}
	return tp
}

func (w *roleWorld) reply(t *testing.T, role string, topicID int64) *models.Post {
	t.Helper()
	p, err := w.forum.Reply(context.Background(), w.writer(role), topicID, "Under Settings → Security.", nil)
	if err != nil {
		t.Fatalf("reply: %v", err)
	}
	return p
}

func (w *roleWorld) logSize(t *testing.T) int {
	t.Helper()
	return rowCount(t, w.db, "moderation_actions")
}

// matrixRow is one row of docs/permissions.md.
type matrixRow struct {
	method, path string // path with {param} or a literal where the route takes :action
	want         map[string]matrixWant
	line         int
}

// matrixWant is a cell: the status and, optionally, the API error code.
type matrixWant struct {
	status int
	code   string
}

var (
	matrixRowRE  = regexp.MustCompile("^\\| `(GET|POST|PUT|PATCH|DELETE) (/[^`]*)` \\|")
	matrixCellRE = regexp.MustCompile(`^([1-5][0-9][0-9])(?: ([a-z_]+))?$`)
)

func readMatrix(t *testing.T) []matrixRow {
	t.Helper()
	b, err := os.ReadFile("../docs/permissions.md")
	if err != nil {
		t.Fatalf("the matrix: %v", err)
	}
	var rows []matrixRow
	seen := map[string]int{}
	for i, line := range strings.Split(string(b), "\n") {
		m := matrixRowRE.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		cells := strings.Split(strings.TrimSuffix(strings.TrimSpace(line), "|")[1:], "|")
		if len(cells) != 1+len(roles) {
			t.Fatalf("docs/permissions.md:%d: a row has %d cells (route and %v), got %d", i+1, 1+len(roles), roles, len(cells))
		}
		r := matrixRow{method: m[1], path: m[2], want: map[string]matrixWant{}, line: i + 1}
		if prev, dup := seen[r.method+" "+r.path]; dup {
			t.Fatalf("docs/permissions.md:%d: %s %s is already on line %d", i+1, r.method, r.path, prev)
		}
		seen[r.method+" "+r.path] = i + 1
		for j, role := range roles {
			cell := strings.TrimSpace(cells[j+1])
			cm := matrixCellRE.FindStringSubmatch(cell)
			if cm == nil {
				t.Fatalf("docs/permissions.md:%d: %s cell %q is not a status with an optional error code", i+1, role, cell)
			}
			st, _ := strconv.Atoi(cm[1])
			r.want[role] = matrixWant{st, cm[2]}
		}
		rows = append(rows, r)
	}
	if len(rows) < 100 {
		t.Fatalf("docs/permissions.md holds %d rows: the table format changed?", len(rows))
	}
	return rows
}

// matrixReq is one call of a row: the concrete path, the body (JSON for
// the API, form values for pages) and, when not role's standing caller, who calls.
type matrixReq struct {
	path string
	body any
	as   *caller
}

type matrixSetup func(t *testing.T, w *roleWorld, role string) matrixReq

// owner is whose object a route acts on: the author's, but the suspended
// member's own, so only the suspension stands in their way.
func owner(role string) string {
	if role == "suspended" {
		return "suspended"
	}
	return "author"
}

// matrixSetups makes the targets of each row afresh for every call.
func matrixSetups(t *testing.T, w *roleWorld) map[string]matrixSetup {
	f := fmt.Sprintf
	ctx := context.Background()
	fixed := func(path string, body any) matrixSetup {
		return func(*testing.T, *roleWorld, string) matrixReq { return matrixReq{path: path, body: body} }
	}
	// fresh: the route ends, renames or erases its caller.
	fresh := func(path string, body any) matrixSetup {
		return func(t *testing.T, w *roleWorld, role string) matrixReq {
			return matrixReq{path: path, body: body, as: w.fresh(t, role)}
		}
	}
	onTopic := func(format string, body any) matrixSetup {
		return func(t *testing.T, w *roleWorld, _ string) matrixReq {
			return matrixReq{path: f(format, w.topic(t, "author").ID), body: body}
		}
	}
	// onReply: a reply by the author in a topic of the author's.
	onReply := func(format string, body any) matrixSetup {
		return func(t *testing.T, w *roleWorld, _ string) matrixReq {
			return matrixReq{path: f(format, w.reply(t, "author", w.topic(t, "author").ID).ID), body: body}
		}
	}
	// onOwnReply: a reply by owner(role).
	onOwnReply := func(format string, body any) matrixSetup {
		return func(t *testing.T, w *roleWorld, role string) matrixReq {
			return matrixReq{path: f(format, w.reply(t, owner(role), w.topic(t, "author").ID).ID), body: body}
		}
	}
	onCategory := func(format string, body any) matrixSetup {
		return func(*testing.T, *roleWorld, string) matrixReq {
			return matrixReq{path: f(format, w.cat.ID), body: body}
		}
	}
	onTarget := func(format string, body any) matrixSetup { // a member of their own, for staff tools
		return func(t *testing.T, w *roleWorld, _ string) matrixReq {
			w.seq++
			return matrixReq{path: f(format, w.account(t, f("target%d", w.seq), models.RoleMember).ID), body: body}
		}
	}
	onSuspended := func(format string, body any) matrixSetup {
		return func(t *testing.T, w *roleWorld, _ string) matrixReq {
			w.seq++
			u := w.account(t, f("target%d", w.seq), models.RoleMember)
			if err := errOf(w.mod.Suspend(ctx, w.user["admin"], u.ID, 3, time.Time{}, why("spam"), false)); err != nil {
				t.Fatal(err)
			}
			return matrixReq{path: f(format, u.ID), body: body}
		}
	}
	flagged := func(format string, body any) matrixSetup {
		return func(t *testing.T, w *roleWorld, _ string) matrixReq {
			p := w.reply(t, "author", w.topic(t, "author").ID)
			if _, err := w.mod.Flag(ctx, w.fresh(t, "member").user, p.ID, "spam", ""); err != nil { // a flagger of its own: flags are limited per hour
				t.Fatal(err)
			}
			return matrixReq{path: f(format, p.ID), body: body}
		}
	}
	removed := func(format string, body any) matrixSetup {
		return func(t *testing.T, w *roleWorld, _ string) matrixReq {
			p := w.reply(t, "author", w.topic(t, "author").ID)
			if err := errOf(w.mod.RemovePost(ctx, w.user["moderator"], p.ID, why("spam"))); err != nil {
				t.Fatal(err)
			}
			return matrixReq{path: f(format, p.ID), body: body}
		}
	}
	topicAfter := func(first, format string, body any) matrixSetup {
		return func(t *testing.T, w *roleWorld, _ string) matrixReq {
			tp := w.topic(t, "author")
			if _, err := w.mod.TopicAction(ctx, w.user["moderator"], tp.ID, first, why("housekeeping"), 0); err != nil {
				t.Fatal(err)
			}
			return matrixReq{path: f(format, tp.ID), body: body}
		}
	}
	// solution: a topic of owner(role)'s with a reply by the member.
	solution := func(format string, form bool) matrixSetup {
		return func(t *testing.T, w *roleWorld, role string) matrixReq {
			tp := w.topic(t, owner(role))
			id := w.reply(t, "member", tp.ID).ID
			if form {
				return matrixReq{path: f(format, tp.ID), body: map[string]string{"post_id": strconv.FormatInt(id, 10)}}
			}
			return matrixReq{path: f(format, tp.ID), body: map[string]any{"post_id": id}}
		}
	}
	// notification: one of owner(role)'s.
	notification := func(format string) matrixSetup {
		return func(t *testing.T, w *roleWorld, role string) matrixReq {
			tp := w.topic(t, owner(role))
			p := w.reply(t, "member", tp.ID)
			n := &models.Notification{UserID: w.user[owner(role)].ID, Kind: "reply", ActorID: &w.user["member"].ID,
				TopicID: &tp.ID, PostID: &p.ID, Count: 1, CreatedAt: time.Now().UTC()}
			if err := models.CreateNotification(ctx, w.db, n); err != nil {
				t.Fatal(err)
			}
			return matrixReq{path: f(format, n.ID), body: map[string]any{}}
		}
	}
	// spareSession, spareToken: another sign-in of owner(role)'s, to end.
	spareSession := func(format string, body any) matrixSetup {
		return func(t *testing.T, w *roleWorld, role string) matrixReq {
			_, sess, err := w.acc.StartSession(ctx, w.user[owner(role)].ID, "127.0.0.1", "spare")
			if err != nil {
				t.Fatal(err)
			}
			return matrixReq{path: f(format, sess.ID), body: body}
		}
	}
	spareToken := func(format string, body any) matrixSetup {
		return func(t *testing.T, w *roleWorld, role string) matrixReq {
			if _, err := w.acc.IssueToken(ctx, w.user[owner(role)].ID, "spare"); err != nil {
				t.Fatal(err)
			}
			var id int64
			if err := w.db.NewRaw("SELECT max(id) FROM api_tokens WHERE user_id = ?", w.user[owner(role)].ID).Scan(ctx, &id); err != nil {
				t.Fatal(err)
			}
			return matrixReq{path: f(format, id), body: body}
		}
	}
	// ownFlag: a flag by owner(role) on the member's post.
	ownFlag := func(format string, body any) matrixSetup {
		return func(t *testing.T, w *roleWorld, role string) matrixReq {
			fl, err := w.mod.Flag(ctx, w.writer(owner(role)), w.reply(t, "member", w.topic(t, "member").ID).ID, "spam", "")
			if err != nil {
				t.Fatal(err)
			}
			// Out of the flagger's hourly budget, which the matrix would exhaust.
			if _, err := w.db.NewUpdate().Model(fl.Flag).Set("created_at = ?", time.Now().UTC().Add(-2*time.Hour)).WherePK().Exec(ctx); err != nil {
				t.Fatal(err)
			}
			return matrixReq{path: f(format, fl.Flag.ID), body: body}
		}
	}
	identity := func(format string) matrixSetup {
		return func(t *testing.T, w *roleWorld, role string) matrixReq {
			w.seq++
			id := &models.Identity{UserID: w.user[owner(role)].ID, Provider: "github", ProviderUserID: f("gh%d", w.seq), CreatedAt: time.Now().UTC()}
			if _, err := w.db.NewInsert().Model(id).Exec(ctx); err != nil {
				t.Fatal(err)
			}
			return matrixReq{path: f(format, id.ID), body: map[string]string{}}
		}
	}
	badge := &models.Badge{Name: "Beta tester", Description: "Tried the product before launch.", Tier: "silver", Icon: "trophy", CreatedAt: time.Now().UTC()}
	if _, err := w.db.NewInsert().Model(badge).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	_, home := getPage(t, w.a, "/")
	asset := regexp.MustCompile(`/assets/[^"?]+`).FindString(home)
	if asset == "" {
		t.Fatal("the home page links no asset")
	}
	unique := func(prefix string) string { w.seq++; return f("%s%d", prefix, w.seq) }
	levelsForm := map[string]string{}
	for l := 2; l <= 5; l++ {
		for _, k := range []string{"days_joined", "days_visited", "topics_read", "posts_read", "replies", "likes_given", "likes_received", "solutions", "max_penalty"} {
			levelsForm[f("%s_%d", k, l)] = strconv.Itoa(l * 10)
		}
	}
	levelsJSON := []map[string]any{}
	for l := 2; l <= 5; l++ {
		levelsJSON = append(levelsJSON, map[string]any{"level": l, "days_joined": l, "days_visited": l, "topics_read": l, "posts_read": l})
	}
	reason := map[string]any{"reason": "housekeeping"}
	return map[string]matrixSetup{
		"GET /healthz":        fixed("/healthz", nil),
		"GET /readyz":         fixed("/readyz", nil),
		"GET /assets/{file}":  fixed(asset, nil),
		"GET /api/v1/me":      fixed("/api/v1/me", nil),
		"PATCH /api/v1/me":    fixed("/api/v1/me", map[string]any{"bio": "Here to help."}),
		"DELETE /api/v1/me":   fresh("/api/v1/me", map[string]any{"password": "a long password"}),
		"GET /api/v1/search":  fixed("/api/v1/search?q=audit", nil),
		"GET /api/v1/badges":  fixed("/api/v1/badges", nil),
		"GET /api/v1/topics":  fixed("/api/v1/topics", nil),
		"POST /api/v1/topics": fixed("/api/v1/topics", map[string]any{"category_id": w.cat.ID, "title": "How do I export invoices?", "body": "As PDF."}),
		"POST /api/v1/auth/register": func(t *testing.T, w *roleWorld, role string) matrixReq {
			n := unique("newcomer")
			return matrixReq{path: "/api/v1/auth/register", body: map[string]any{"username": n, "email": n + "@example.com", "password": "a long password", "age_confirmed": true}, as: w.fresh(t, role)}
		},
		"POST /api/v1/auth/login": func(t *testing.T, w *roleWorld, role string) matrixReq { // signing in ends the caller's session
			return matrixReq{path: "/api/v1/auth/login", body: map[string]any{"login": w.fresh(t, "member").user.Username, "password": "a long password"}, as: w.fresh(t, role)}
		},
		"POST /api/v1/auth/logout": fresh("/api/v1/auth/logout", map[string]any{}),
		"PUT /api/v1/me/password":  fresh("/api/v1/me/password", map[string]any{"current_password": "a long password", "password": "another long password"}),
		"PUT /api/v1/me/username": func(t *testing.T, w *roleWorld, role string) matrixReq {
			return matrixReq{path: "/api/v1/me/username", body: map[string]any{"username": unique("renamed")}, as: w.fresh(t, role)}
		},
		"POST /api/v1/me/email/change": func(t *testing.T, w *roleWorld, role string) matrixReq {
			return matrixReq{path: "/api/v1/me/email/change", body: map[string]any{"email": unique("changed") + "@example.com", "password": "a long password"}, as: w.fresh(t, role)}
		},
		"GET /api/v1/me/sessions":                  fixed("/api/v1/me/sessions", nil),
		"DELETE /api/v1/me/sessions/{id}":          spareSession("/api/v1/me/sessions/%d", nil),
		"GET /api/v1/me/tokens":                    fixed("/api/v1/me/tokens", nil),
		"DELETE /api/v1/me/tokens/{id}":            spareToken("/api/v1/me/tokens/%d", nil),
		"GET /api/v1/me/export":                    fixed("/api/v1/me/export", nil),
		"GET /api/v1/users/{username}":             fixed("/api/v1/users/alice", nil),
		"GET /api/v1/badges/{id}":                  fixed(f("/api/v1/badges/%d", badge.ID), nil),
		"GET /api/v1/notifications":                fixed("/api/v1/notifications", nil),
		"POST /api/v1/notifications/read":          fixed("/api/v1/notifications/read", map[string]any{}),
		"POST /api/v1/notifications/{id}/read":     notification("/api/v1/notifications/%d/read"),
		"GET /api/v1/me/email":                     fixed("/api/v1/me/email", nil),
		"PUT /api/v1/me/email":                     fixed("/api/v1/me/email", map[string]any{"replies": true, "digest": "weekly"}),
		"POST /api/v1/me/email/verify":             fresh("/api/v1/me/email/verify", map[string]any{}),
		"GET /api/v1/topics/{id}/watch":            onTopic("/api/v1/topics/%d/watch", nil),
		"PUT /api/v1/topics/{id}/watch":            onTopic("/api/v1/topics/%d/watch", map[string]any{"level": "watching"}),
		"GET /api/v1/categories/{id}/watch":        onCategory("/api/v1/categories/%d/watch", nil),
		"PUT /api/v1/categories/{id}/watch":        onCategory("/api/v1/categories/%d/watch", map[string]any{"level": "muted"}),
		"GET /api/v1/categories":                   fixed("/api/v1/categories", nil),
		"GET /api/v1/topics/similar":               fixed("/api/v1/topics/similar?title=audit+log", nil),
		"GET /api/v1/topics/{id}":                  onTopic("/api/v1/topics/%d", nil),
		"POST /api/v1/topics/{id}/posts":           onTopic("/api/v1/topics/%d/posts", map[string]any{"body": "Same question here."}),
		"POST /api/v1/topics/{id}/solution":        solution("/api/v1/topics/%d/solution", false),
		"PATCH /api/v1/posts/{id}":                 onOwnReply("/api/v1/posts/%d", map[string]any{"body": "Settings → Security → Audit.", "reason": "typo"}),
		"GET /api/v1/posts/{id}/revisions":         onOwnReply("/api/v1/posts/%d/revisions", nil),
		"POST /api/v1/posts/{id}/like":             onReply("/api/v1/posts/%d/like", map[string]any{}),
		"DELETE /api/v1/posts/{id}/like":           onReply("/api/v1/posts/%d/like", nil),
		"POST /api/v1/preview":                     fixed("/api/v1/preview", map[string]any{"body": "**bold**"}),
		"GET /api/v1/flag-reasons":                 fixed("/api/v1/flag-reasons", nil),
		"GET /api/v1/guidelines":                   fixed("/api/v1/guidelines", nil),
		"POST /api/v1/posts/{id}/flags":            onReply("/api/v1/posts/%d/flags", map[string]any{"reason": "spam"}),
		"DELETE /api/v1/flags/{id}":                ownFlag("/api/v1/flags/%d", nil),
		"GET /api/v1/me/flags":                     fixed("/api/v1/me/flags", nil),
		"GET /api/v1/mod/queue":                    fixed("/api/v1/mod/queue", nil),
		"POST /api/v1/mod/queue/{post_id}/resolve": flagged("/api/v1/mod/queue/%d/resolve", map[string]any{"action": "dismiss", "reason": "fine"}),
		"POST /api/v1/mod/posts/{id}/remove":       onReply("/api/v1/mod/posts/%d/remove", map[string]any{"reason": "spam"}),
		"POST /api/v1/mod/posts/{id}/restore":      removed("/api/v1/mod/posts/%d/restore", map[string]any{"reason": "appeal"}),
		"POST /api/v1/mod/posts/{id}/edit":         onReply("/api/v1/mod/posts/%d/edit", map[string]any{"body": "[link removed]", "reason": "spam"}),
		"POST /api/v1/mod/topics/{id}/lock":        onTopic("/api/v1/mod/topics/%d/lock", reason),
		"POST /api/v1/mod/topics/{id}/unlock":      topicAfter("lock", "/api/v1/mod/topics/%d/unlock", reason),
		"POST /api/v1/mod/topics/{id}/pin":         onTopic("/api/v1/mod/topics/%d/pin", reason),
		"POST /api/v1/mod/topics/{id}/unpin":       topicAfter("pin", "/api/v1/mod/topics/%d/unpin", reason),
		"POST /api/v1/mod/topics/{id}/move":        onTopic("/api/v1/mod/topics/%d/move", map[string]any{"reason": "wrong place", "category_id": w.cat2.ID}),
		"GET /api/v1/mod/users/{id}":               onTarget("/api/v1/mod/users/%d", nil),
		"POST /api/v1/mod/users/{id}/notes":        onTarget("/api/v1/mod/users/%d/notes", map[string]any{"body": "Warned by mail."}),
		"POST /api/v1/mod/users/{id}/suspend":      onTarget("/api/v1/mod/users/%d/suspend", map[string]any{"days": 3, "reason": "harassment", "notify": true}),
		"POST /api/v1/mod/users/{id}/unsuspend":    onSuspended("/api/v1/mod/users/%d/unsuspend", map[string]any{"reason": "appeal"}),
		"POST /api/v1/mod/users/{id}/lock-level":   onTarget("/api/v1/mod/users/%d/lock-level", map[string]any{"level": 3, "reason": "helper"}),
		"POST /api/v1/mod/users/{id}/unlock-level": onTarget("/api/v1/mod/users/%d/unlock-level", map[string]any{"reason": "thresholds"}),
		"GET /api/v1/mod/log":                      fixed("/api/v1/mod/log", nil),
		"GET /api/v1/mod/health":                   fixed("/api/v1/mod/health", nil),
		"GET /api/v1/admin/flag-threshold/dry-run": fixed("/api/v1/admin/flag-threshold/dry-run?threshold=3", nil),
		"POST /api/v1/admin/categories": func(t *testing.T, w *roleWorld, _ string) matrixReq {
			return matrixReq{path: "/api/v1/admin/categories", body: map[string]any{"name": unique("Billing ")}}
		},
		"PATCH /api/v1/admin/categories/{id}": fixed(f("/api/v1/admin/categories/%d", w.cat2.ID), map[string]any{"description": "News."}),
		"POST /api/v1/admin/users/{id}/role":  onTarget("/api/v1/admin/users/%d/role", map[string]any{"role": "moderator"}),
		"POST /api/v1/admin/users/{id}/erase": onTarget("/api/v1/admin/users/%d/erase", map[string]any{"reason": "asked by mail"}),
		"PUT /api/v1/admin/guidelines":        fixed("/api/v1/admin/guidelines", map[string]any{"body": "# Guidelines\n\nBe kind."}),
		"GET /api/v1/admin/levels":            fixed("/api/v1/admin/levels", nil),
		"PUT /api/v1/admin/levels":            fixed("/api/v1/admin/levels", map[string]any{"items": levelsJSON}),
		"POST /api/v1/admin/badges": func(t *testing.T, w *roleWorld, _ string) matrixReq {
			return matrixReq{path: "/api/v1/admin/badges", body: map[string]any{"name": unique("Champion "), "description": "Runs a user group.", "tier": "gold", "icon": "trophy"}}
		},
		"POST /api/v1/admin/badges/{id}/grant":  onHolder(badge, "grant", false),
		"POST /api/v1/admin/badges/{id}/revoke": onHolder(badge, "revoke", false),

		// Pages.
		"GET /":         fixed("/", nil),
		"GET /c/{slug}": fixed("/c/"+w.cat.Slug, nil),
		"GET /t/{id}/{slug}": func(t *testing.T, w *roleWorld, _ string) matrixReq {
			tp := w.topic(t, "author")
			return matrixReq{path: f("/t/%d/%s", tp.ID, tp.Slug)}
		},
		"POST /t/{id}/reply":              onTopic("/t/%d/reply", map[string]string{"body": "Same question here."}),
		"POST /t/{id}/solution":           solution("/t/%d/solution", true),
		"GET /new-topic":                  fixed("/new-topic", nil),
		"POST /new-topic":                 fixed("/new-topic", map[string]string{"category_id": strconv.FormatInt(w.cat.ID, 10), "title": "How do I export invoices?", "body": "As PDF."}),
		"GET /p/{id}/edit":                onOwnReply("/p/%d/edit", nil),
		"POST /p/{id}/edit":               onOwnReply("/p/%d/edit", map[string]string{"body": "Settings → Security → Audit.", "reason": "typo"}),
		"GET /p/{id}/revisions":           onOwnReply("/p/%d/revisions", nil),
		"POST /p/{id}/like":               onReply("/p/%d/like", map[string]string{}),
		"GET /p/{id}/flag":                onReply("/p/%d/flag", nil),
		"POST /p/{id}/flag":               onReply("/p/%d/flag", map[string]string{"reason": "spam"}),
		"POST /flags/{id}/retract":        ownFlag("/flags/%d/retract", map[string]string{}),
		"GET /me/reports":                 fixed("/me/reports", nil),
		"GET /u/{username}":               fixed("/u/alice", nil),
		"GET /badges":                     fixed("/badges", nil),
		"GET /badges/{id}":                fixed(f("/badges/%d", badge.ID), nil),
		"GET /search":                     fixed("/search?q=audit", nil),
		"GET /notifications":              fixed("/notifications", nil),
		"POST /notifications/read":        fixed("/notifications/read", map[string]string{}),
		"GET /notifications/{id}":         notification("/notifications/%d"),
		"POST /t/{id}/watch":              onTopic("/t/%d/watch", map[string]string{"level": "watching"}),
		"POST /c/{id}/watch":              onCategory("/c/%d/watch", map[string]string{"level": "muted"}),
		"GET /email/verify":               fixed("/email/verify?token=x", nil),
		"GET /email/unsubscribe/{token}":  fixed("/email/unsubscribe/x.y", nil),
		"POST /email/unsubscribe/{token}": fixed("/email/unsubscribe/x.y", map[string]string{}),
		"GET /password/forgot":            fixed("/password/forgot", nil),
		"POST /password/forgot":           fixed("/password/forgot", map[string]string{"email": "nobody@example.com"}),
		"GET /password/reset":             fixed("/password/reset?token=x", nil),
		"POST /password/reset":            fixed("/password/reset", map[string]string{"token": "x", "password": "another long password", "password_again": "another long password"}),
		"POST /settings/email":            fixed("/settings/email", map[string]string{"replies": "on", "digest": "weekly"}),
		"POST /settings/email/verify":     fresh("/settings/email/verify", map[string]string{}),
		"POST /settings/profile":          fixed("/settings/profile", map[string]string{"bio": "Here to help."}),
		"POST /settings/delete":           fresh("/settings/delete", map[string]string{"password": "a long password", "confirm": "on"}),
		"GET /settings/export":            fixed("/settings/export", nil),
		"POST /settings/username": func(t *testing.T, w *roleWorld, role string) matrixReq {
			return matrixReq{path: "/settings/username", body: map[string]string{"username": unique("renamed")}, as: w.fresh(t, role)}
		},
		"POST /settings/password": fresh("/settings/password", map[string]string{"current_password": "a long password", "password": "another long password", "password_again": "another long password"}),
		"POST /settings/email/address": func(t *testing.T, w *roleWorld, role string) matrixReq {
			return matrixReq{path: "/settings/email/address", body: map[string]string{"email": unique("changed") + "@example.com", "password": "a long password"}, as: w.fresh(t, role)}
		},
		"POST /settings/sessions/{id}/revoke": spareSession("/settings/sessions/%d/revoke", map[string]string{}),
		"POST /settings/sessions/revoke-all":  fresh("/settings/sessions/revoke-all", map[string]string{}),
		"POST /settings/tokens/{id}/revoke":   spareToken("/settings/tokens/%d/revoke", map[string]string{}),
		"GET /guidelines":                     fixed("/guidelines", nil),
		"GET /privacy":                        fixed("/privacy", nil),
		"GET /admin/privacy":                  fixed("/admin/privacy", nil),
		"POST /admin/privacy":                 fixed("/admin/privacy", map[string]string{"body": "# Privacy\n\nWe keep little."}),
		"GET /register":                       fixed("/register", nil),
		"POST /register": func(t *testing.T, w *roleWorld, role string) matrixReq {
			n := unique("newcomer")
			return matrixReq{path: "/register", body: map[string]string{"username": n, "email": n + "@example.com", "password": "a long password", "age_confirmed": "on"}, as: w.fresh(t, role)}
		},
		"GET /login": fixed("/login", nil),
		"POST /login": func(t *testing.T, w *roleWorld, role string) matrixReq { // signing in ends the caller's session
			return matrixReq{path: "/login", body: map[string]string{"login": w.fresh(t, "member").user.Username, "password": "a long password"}, as: w.fresh(t, role)}
		},
		"POST /logout":                          fresh("/logout", map[string]string{}),
		"GET /setup":                            fixed("/setup", nil),
		"POST /setup":                           fixed("/setup", map[string]string{}),
		"GET /auth/{provider}":                  fixed("/auth/github", nil),
		"GET /auth/{provider}/callback":         fixed("/auth/github/callback?state=x&code=y", nil),
		"GET /auth/signup":                      fixed("/auth/signup", nil),
		"POST /auth/signup":                     fixed("/auth/signup", map[string]string{"username": "newcomer", "age_confirmed": "on"}),
		"POST /auth/signup/link":                fixed("/auth/signup/link", map[string]string{"password": "a long password"}),
		"GET /sso":                              fixed("/sso?payload=x&signature=y", nil),
		"GET /settings":                         fixed("/settings", nil),
		"POST /settings/identities/{provider}":  fixed("/settings/identities/github", map[string]string{}),
		"POST /settings/identities/{id}/unlink": identity("/settings/identities/%d/unlink"),
		"GET /mod":                              fixed("/mod", nil),
		"POST /mod/queue/{post_id}/resolve":     flagged("/mod/queue/%d/resolve", map[string]string{"action": "dismiss", "reason": "fine"}),
		"GET /mod/log":                          fixed("/mod/log", nil),
		"GET /mod/suspended":                    fixed("/mod/suspended", nil),
		"POST /mod/users/{id}/suspend":          onTarget("/mod/users/%d/suspend", map[string]string{"days": "3", "reason_code": "harassment", "reason": "insults"}),
		"POST /mod/users/{id}/unsuspend":        onSuspended("/mod/users/%d/unsuspend", map[string]string{"reason": "appeal"}),
		"POST /mod/users/{id}/level":            onTarget("/mod/users/%d/level", map[string]string{"level": "3", "level_reason": "helper"}),
		"POST /mod/users/{id}/notes":            onTarget("/mod/users/%d/notes", map[string]string{"body": "Warned by mail."}),
		"GET /admin":                            fixed("/admin", nil),
		"POST /admin/categories": func(t *testing.T, w *roleWorld, _ string) matrixReq {
			return matrixReq{path: "/admin/categories", body: map[string]string{"name": unique("Billing "), "color": "#3b6ea8", "position": "3"}}
		},
		"POST /admin/categories/{id}": fixed(f("/admin/categories/%d", w.cat2.ID), map[string]string{"name": "Announcements", "slug": "announcements", "color": "#3b6ea8", "position": "2"}),
		"GET /admin/guidelines":       fixed("/admin/guidelines", nil),
		"POST /admin/guidelines":      fixed("/admin/guidelines", map[string]string{"body": "# Guidelines\n\nBe kind."}),
		"GET /admin/levels":           fixed("/admin/levels", nil),
		"POST /admin/levels":          fixed("/admin/levels", levelsForm),
		"GET /admin/badges":           fixed("/admin/badges", nil),
		"POST /admin/badges": func(t *testing.T, w *roleWorld, _ string) matrixReq {
			return matrixReq{path: "/admin/badges", body: map[string]string{"name": unique("Champion "), "description": "Runs a user group.", "tier": "gold", "icon": "trophy"}}
		},
		"POST /admin/badges/{id}/grant":  onHolder(badge, "grant", true),
		"POST /admin/badges/{id}/revoke": onHolder(badge, "revoke", true),
		"POST /admin/users/{id}/role":    onTarget("/admin/users/%d/role", map[string]string{"role": "moderator"}),
		"POST /admin/users/{id}/erase":   onTarget("/admin/users/%d/erase", map[string]string{"reason": "asked by mail"}),
	}
}

// onHolder grants (or, after granting, revokes) badge to a member of
// their own, through the API or, with form, the admin page.
func onHolder(badge *models.Badge, action string, form bool) matrixSetup {
	return func(t *testing.T, w *roleWorld, _ string) matrixReq {
		w.seq++
		u := w.account(t, fmt.Sprintf("holder%d", w.seq), models.RoleMember)
		if action == "revoke" {
			res, body := call(t, w.a, jsonReq(http.MethodPost, fmt.Sprintf("/api/v1/admin/badges/%d/grant", badge.ID),
				map[string]any{"user_id": u.ID, "reason": "beta"}, w.token["admin"]))
			if res.StatusCode != http.StatusOK {
				t.Fatalf("grant before revoking: %d %s", res.StatusCode, body)
			}
		}
		if form {
			return matrixReq{path: fmt.Sprintf("/admin/badges/%d/%s", badge.ID, action), body: map[string]string{"username": u.Username, "reason": "beta"}}
		}
		return matrixReq{path: fmt.Sprintf("/api/v1/admin/badges/%d/%s", badge.ID, action), body: map[string]any{"user_id": u.ID, "reason": "beta"}}
	}
}

// How a caller reaches the API: a script's bearer token, or a browser's
// session cookie with the CSRF token in X-CSRF-Token. Pages are always the
// session with the form's _csrf.
const (
	viaToken   = "token"
	viaSession = "session"
	viaNoCSRF  = "session without a CSRF token"
)

// matrixRequest builds the call of r as c, the way via says.
func matrixRequest(method string, r matrixReq, c *caller, via string) *http.Request {
	if strings.HasPrefix(r.path, "/api/") {
		if via == viaToken {
			return jsonReq(method, r.path, r.body, c.token)
		}
		req := withCookies(jsonReq(method, r.path, r.body, ""), c.cookie)
		if via == viaSession {
			req.Header.Set("X-CSRF-Token", c.csrf)
		}
		return req
	}
	if method == http.MethodGet {
		return withCookies(jsonReq(method, r.path, nil, ""), c.cookie)
	}
	values := map[string]string{}
	if via != viaNoCSRF {
		values["_csrf"] = c.csrf
	}
	if form, ok := r.body.(map[string]string); ok {
		for k, v := range form {
			values[k] = v
		}
	}
	return formReq(r.path, values, c.cookie)
}

// modLogged are the staff mutations: success writes to the moderation log, refusal does not.
var modLogged = regexp.MustCompile(`^POST /(api/v1/)?mod/(queue/\{post_id\}/resolve|posts/\{id\}/(remove|restore|edit)|topics/|users/\{id\}/(suspend|unsuspend)$)`)

// TestPermissionMatrix: every route of the app as every role, with fresh
// targets, answers what docs/permissions.md says: API rows both with a
// bearer token and with a session cookie and its CSRF token, pages with
// the session and the form's token. Every unsafe route also refuses a
// signed-in browser session without the token (403), whoever the caller.
func TestPermissionMatrix(t *testing.T) {
	rows := readMatrix(t)
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		w := newRoleWorld(t, db)
		deps, _ := withSearch(t, db)
		w.a = newApp(t, db, deps, func(d *app.Deps) { d.Config.RateLimit = 1 << 20 })
		setups := matrixSetups(t, w)
		served := servedRoutes(w.a)
		for _, s := range served {
			if !slices.ContainsFunc(rows, func(r matrixRow) bool { return r.method == s.method && routeMatches(r.path, s.path) }) {
				t.Errorf("%s %s is served but has no row in docs/permissions.md", s.method, s.path)
			}
		}
		until := *w.user["suspended"].SuspendedUntil
		for _, r := range rows {
			key := r.method + " " + r.path
			if !slices.ContainsFunc(served, func(s servedRoute) bool { return r.method == s.method && routeMatches(r.path, s.path) }) {
				t.Errorf("docs/permissions.md:%d: %s is not served", r.line, key)
				continue
			}
			setup, ok := setups[key]
			if !ok {
				t.Errorf("docs/permissions.md:%d: %s has no setup in matrixSetups: add one", r.line, key)
				continue
			}
			ways := []string{viaSession}
			if strings.HasPrefix(r.path, "/api/") {
				ways = append(ways, viaToken)
			}
			t.Run(key, func(t *testing.T) {
				for _, role := range roles {
					for _, via := range ways {
						want := r.want[role]
						req := setup(t, w, role)
						c := req.as
						if c == nil {
							c = w.caller[role]
						}
						logBefore := w.logSize(t)
						res, got := call(t, w.a, matrixRequest(r.method, req, c, via))
						if res.StatusCode != want.status {
							t.Errorf("docs/permissions.md:%d: %s %s as %s (%s): %d, want %d; %.300s", r.line, r.method, req.path, role, via, res.StatusCode, want.status, got)
							continue
						}
						if want.code != "" {
							if code, _ := apiErr(t, got); code != want.code {
								t.Errorf("docs/permissions.md:%d: %s as %s (%s): error code %q, want %q", r.line, key, role, via, code, want.code)
							}
						}
						if want.code == "account_suspended" {
							e := decode(t, got)["error"].(map[string]any)
							if at, err := time.Parse(time.RFC3339, fmt.Sprint(e["until"])); err != nil || !at.Equal(until) {
								t.Errorf("%s as %s: until = %v, want %s", key, role, e["until"], until.Format(time.RFC3339Nano))
							}
						}
						if modLogged.MatchString(key) {
							grew := w.logSize(t) - logBefore
							done := res.StatusCode < 400 && role != "anonymous" // a guest's 303 is the way to the sign-in page
							if done && grew == 0 {
								t.Errorf("%s as %s: a success wrote nothing to the moderation log", key, role)
							}
							if !done && grew != 0 {
								t.Errorf("%s as %s: a refusal wrote %d log entries", key, role, grew)
							}
						}
					}
					if r.method == http.MethodGet || role == "anonymous" || strings.HasPrefix(r.path, "/email/unsubscribe/") {
						continue // the token in an unsubscribe link is the credential (RFC 8058 one-click)
					}
					req := setup(t, w, role)
					c := req.as
					if c == nil {
						c = w.caller[role]
					}
					if res, got := call(t, w.a, matrixRequest(r.method, req, c, viaNoCSRF)); res.StatusCode != http.StatusForbidden {
						t.Errorf("%s %s as %s without the CSRF token: %d, want 403; %.300s", r.method, req.path, role, res.StatusCode, got)
					}
				}
			})
		}
	})
}
