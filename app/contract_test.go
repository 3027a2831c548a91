package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/uptrace/bun"

	"agora/internal/testdb"
	"agora/models"
)

// The contract is docs/api.md. Every route row there reads
// | `METHOD /path/{param}` | who | request | status | response fields |
// and these tests hold the app to it: each documented route is served,
// each served route is documented, and each documented JSON route is called
// with valid input and answers the documented status with every documented
// field. Planned routes (a row whose status cell says "planned") are only
// checked to be absent, so the doc cannot claim them early.

type contractRow struct {
	method, path string // path with {param}
	status       int    // 0: planned
	fields       []string
	line         int
}

var contractRowRE = regexp.MustCompile("^\\| `(GET|POST|PUT|PATCH|DELETE) (/[^`]*)` \\|")

func readContract(t *testing.T) []contractRow {
	t.Helper()
	b, err := os.ReadFile("../docs/api.md")
	if err != nil {
		t.Fatalf("the contract: %v", err)
	}
	var rows []contractRow
	for i, line := range strings.Split(string(b), "\n") {
		m := contractRowRE.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		cells := strings.Split(strings.TrimSuffix(strings.TrimSpace(line), "|")[1:], " | ")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		if len(cells) != 5 {
			t.Fatalf("docs/api.md:%d: a route row has 5 cells (route, who, request, status, fields), got %d", i+1, len(cells))
		}
		r := contractRow{method: m[1], path: strings.SplitN(m[2], "?", 2)[0], line: i + 1}
		if st := cells[3]; st != "planned" {
			if r.status, err = strconv.Atoi(st); err != nil {
				t.Fatalf("docs/api.md:%d: status %q is not a number or \"planned\"", i+1, st)
			}
		}
		for _, f := range strings.Split(cells[4], ",") {
			if f = strings.Trim(strings.TrimSpace(f), "`"); f != "" && f != "—" {
				r.fields = append(r.fields, f)
			}
		}
		rows = append(rows, r)
	}
	if len(rows) < 40 {
		t.Fatalf("docs/api.md holds %d route rows: the table format changed?", len(rows))
	}
	return rows
}

// routeMatches reports whether a documented path fits a registered Fiber
// path: segment by segment, a registered :param matches anything and a
// documented {param} matches only a :param.
func routeMatches(doc, registered string) bool {
	d, r := strings.Split(doc, "/"), strings.Split(registered, "/")
	if len(r) > 0 && strings.HasSuffix(r[len(r)-1], "?") { // optional last param
		if len(d) == len(r)-1 {
			r = r[:len(r)-1]
		}
	}
	if len(d) != len(r) {
		return false
	}
	for i := range d {
		switch {
		case strings.HasPrefix(r[i], ":"):
		case strings.HasPrefix(d[i], "{"):
			return false
		case d[i] != r[i]:
			return false
		}
	}
	return true
}

type servedRoute struct{ method, path string }

func servedRoutes(a *fiber.App) []servedRoute {
	var out []servedRoute
	seen := map[servedRoute]bool{}
	for _, r := range a.GetRoutes(true) {
		if r.Method == http.MethodHead { // Fiber serves HEAD beside every GET
			continue
		}
		sr := servedRoute{r.Method, r.Path}
		if !seen[sr] {
			seen[sr] = true
			out = append(out, sr)
		}
	}
	return out
}

// TestContractRoutesServed: each documented route is served and each served
// route is documented.
func TestContractRoutesServed(t *testing.T) {
	rows := readContract(t)
	served := servedRoutes(newApp(t, testdb.Open(t, "sqlite")))
	for _, r := range rows {
		found := slices.ContainsFunc(served, func(s servedRoute) bool { return s.method == r.method && routeMatches(r.path, s.path) })
		switch {
		case r.status == 0 && found:
			t.Errorf("docs/api.md:%d: %s %s is served but documented as planned", r.line, r.method, r.path)
		case r.status != 0 && !found:
			t.Errorf("docs/api.md:%d: %s %s is documented but not served", r.line, r.method, r.path)
		}
	}
	for _, s := range served {
		if !slices.ContainsFunc(rows, func(r contractRow) bool { return r.method == s.method && routeMatches(r.path, s.path) }) {
			t.Errorf("%s %s is served but not in docs/api.md", s.method, s.path)
		}
	}
}

// contractCall builds the request of one documented route: the concrete
// path, the body and the caller's bearer token.
type contractCall func(t *testing.T, w *contractWorld) (path string, body any, token string)

type contractWorld struct {
	*roleWorld
	topic   *models.Topic
	reply   *models.Post
	flagged *models.Post
	badge   *models.Badge // granted by hand
}

// spare is a sign-in of its own (a session and a token) for a route to end.
type spare struct{ session, token int64 }

// spareLogin signs role's member in once more through the API.
func (w *contractWorld) spareLogin(t *testing.T, role string) spare {
	t.Helper()
	u := w.user[role]
	res, body := call(t, w.a, jsonReq(http.MethodPost, "/api/v1/auth/login", map[string]any{"login": u.Username, "password": "a long password"}, ""))
	if res.StatusCode != http.StatusOK {
		t.Fatalf("sign in %s again: %d %s", u.Username, res.StatusCode, body)
	}
	var sp spare
	ctx := context.Background()
	if err := w.db.NewRaw("SELECT max(id) FROM sessions WHERE user_id = ?", u.ID).Scan(ctx, &sp.session); err != nil {
		t.Fatal(err)
	}
	if err := w.db.NewRaw("SELECT max(id) FROM api_tokens WHERE user_id = ?", u.ID).Scan(ctx, &sp.token); err != nil {
		t.Fatal(err)
	}
	return sp
}

func newContractWorld(t *testing.T, db *bun.DB) *contractWorld {
	w := &contractWorld{roleWorld: newRoleWorld(t, db)}
	deps, catchUp := withSearch(t, db)
	w.a = newApp(t, db, deps) // the same database, so the tokens hold
	defer catchUp()
	w.topic = w.roleWorld.topic(t, "author")
	w.reply = w.roleWorld.reply(t, "member", w.topic.ID)
	w.flagged = w.roleWorld.reply(t, "author", w.topic.ID)
	w.badge = &models.Badge{Name: "Beta tester", Description: "Tried the product before launch.", Tier: "silver",
		Icon: "trophy", CreatedAt: time.Now().UTC()}
	if _, err := db.NewInsert().Model(w.badge).Exec(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := w.mod.Flag(context.Background(), w.user["member"], w.flagged.ID, "spam", ""); err != nil {
		t.Fatal(err)
	}
	return w
}

func contractCalls() map[string]contractCall {
	as := func(role, path string, body any) contractCall {
		return func(*testing.T, *contractWorld) (string, any, string) { return path, body, role }
	}
	f := fmt.Sprintf
	return map[string]contractCall{
		"GET /healthz":                 as("anonymous", "/healthz", nil),
		"GET /readyz":                  as("anonymous", "/readyz", nil),
		"POST /api/v1/auth/register":   as("anonymous", "/api/v1/auth/register", map[string]any{"username": "newcomer", "email": "newcomer@example.com", "password": "a long password", "age_confirmed": true}),
		"POST /api/v1/auth/login":      as("anonymous", "/api/v1/auth/login", map[string]any{"login": "bob", "password": "a long password"}),
		"GET /api/v1/me":               as("member", "/api/v1/me", nil),
		"GET /api/v1/users/{username}": as("anonymous", "/api/v1/users/alice", nil),
		"GET /api/v1/badges":           as("anonymous", "/api/v1/badges", nil),
		"GET /api/v1/badges/{id}": func(t *testing.T, w *contractWorld) (string, any, string) {
			return f("/api/v1/badges/%d", w.badge.ID), nil, "anonymous"
		},
		"POST /api/v1/mod/users/{id}/lock-level": func(t *testing.T, w *contractWorld) (string, any, string) {
			return f("/api/v1/mod/users/%d/lock-level", w.user["member"].ID), map[string]any{"level": 4, "reason": "long-time helper"}, "moderator"
		},
		"POST /api/v1/mod/users/{id}/unlock-level": func(t *testing.T, w *contractWorld) (string, any, string) {
			return f("/api/v1/mod/users/%d/unlock-level", w.user["author"].ID), map[string]any{"reason": "back to the thresholds"}, "moderator"
		},
		"GET /api/v1/admin/levels": as("admin", "/api/v1/admin/levels", nil),
		"PUT /api/v1/admin/levels": as("admin", "/api/v1/admin/levels", map[string]any{"items": []map[string]any{
			{"level": 2, "days_joined": 1, "days_visited": 2, "topics_read": 5, "posts_read": 30, "max_penalty": 3},
			{"level": 3, "days_joined": 14, "days_visited": 10, "topics_read": 20, "posts_read": 100, "replies": 3, "likes_given": 3, "likes_received": 1, "max_penalty": 1},
			{"level": 4, "days_joined": 60, "days_visited": 40, "topics_read": 100, "posts_read": 500, "replies": 30, "likes_given": 20, "likes_received": 20, "solutions": 3},
			{"level": 5, "days_joined": 180, "days_visited": 100, "topics_read": 300, "posts_read": 2000, "replies": 100, "likes_given": 50, "likes_received": 100, "solutions": 20},
		}}),
		"POST /api/v1/admin/badges": as("admin", "/api/v1/admin/badges", map[string]any{"name": "Champion", "description": "Runs a user group.", "tier": "gold", "icon": "trophy"}),
		"POST /api/v1/admin/badges/{id}/grant": func(t *testing.T, w *contractWorld) (string, any, string) {
			return f("/api/v1/admin/badges/%d/grant", w.badge.ID), map[string]any{"user_id": w.user["member"].ID, "reason": "beta"}, "admin"
		},
		"POST /api/v1/admin/badges/{id}/revoke": func(t *testing.T, w *contractWorld) (string, any, string) {
			return f("/api/v1/admin/badges/%d/revoke", w.badge.ID), map[string]any{"user_id": w.user["author"].ID}, "admin"
		},
		"GET /api/v1/notifications":       as("author", "/api/v1/notifications", nil),
		"POST /api/v1/notifications/read": as("author", "/api/v1/notifications/read", map[string]any{}),
		"POST /api/v1/notifications/{id}/read": func(t *testing.T, w *contractWorld) (string, any, string) {
			var id int64
			if err := w.db.NewRaw("SELECT max(id) FROM notifications WHERE user_id = ?", w.user["author"].ID).
				Scan(context.Background(), &id); err != nil || id == 0 {
				t.Fatalf("the author's notification: %v", err)
			}
			return f("/api/v1/notifications/%d/read", id), map[string]any{}, "author"
		},
		"GET /api/v1/topics/{id}/watch": func(t *testing.T, w *contractWorld) (string, any, string) {
			return f("/api/v1/topics/%d/watch", w.topic.ID), nil, "member"
		},
		"PUT /api/v1/topics/{id}/watch": func(t *testing.T, w *contractWorld) (string, any, string) {
			return f("/api/v1/topics/%d/watch", w.topic.ID), map[string]any{"level": "watching"}, "member"
		},
		"GET /api/v1/categories/{id}/watch": func(t *testing.T, w *contractWorld) (string, any, string) {
			return f("/api/v1/categories/%d/watch", w.cat.ID), nil, "member"
		},
		"PUT /api/v1/categories/{id}/watch": func(t *testing.T, w *contractWorld) (string, any, string) {
			return f("/api/v1/categories/%d/watch", w.cat.ID), map[string]any{"level": "muted"}, "member"
		},
		"PATCH /api/v1/me":             as("member", "/api/v1/me", map[string]any{"display_name": "Member M.", "bio": "Here to help."}),
		"PUT /api/v1/me/password":      as("author", "/api/v1/me/password", map[string]any{"current_password": "a long password", "password": "a long password"}),
		"POST /api/v1/me/email/change": as("author", "/api/v1/me/email/change", map[string]any{"email": "author-new@example.com", "password": "a long password"}),
		"GET /api/v1/me/sessions":      as("member", "/api/v1/me/sessions", nil),
		"GET /api/v1/me/tokens":        as("member", "/api/v1/me/tokens", nil),
		"GET /api/v1/me/export":        as("member", "/api/v1/me/export", nil),
		"PUT /api/v1/me/username": func(t *testing.T, w *contractWorld) (string, any, string) {
			w.token["renamer"] = apiMember(t, w.a, "renamer") // a member of its own: the others keep their names
			return "/api/v1/me/username", map[string]any{"username": "renamed"}, "renamer"
		},
		"DELETE /api/v1/me": func(t *testing.T, w *contractWorld) (string, any, string) {
			w.token["leaver"] = apiMember(t, w.a, "leaver") // a member of its own: erased for good
			return "/api/v1/me", map[string]any{"password": "a long password"}, "leaver"
		},
		"POST /api/v1/admin/users/{id}/erase": func(t *testing.T, w *contractWorld) (string, any, string) {
			apiMember(t, w.a, "erasable")
			u, err := models.UserByUsername(context.Background(), w.db, "erasable")
			if err != nil {
				t.Fatal(err)
			}
			return f("/api/v1/admin/users/%d/erase", u.ID), map[string]any{"reason": "asked by mail"}, "admin"
		},
		"DELETE /api/v1/me/sessions/{id}": func(t *testing.T, w *contractWorld) (string, any, string) {
			return f("/api/v1/me/sessions/%d", w.spareLogin(t, "member").session), nil, "member"
		},
		"DELETE /api/v1/me/tokens/{id}": func(t *testing.T, w *contractWorld) (string, any, string) {
			return f("/api/v1/me/tokens/%d", w.spareLogin(t, "member").token), nil, "member"
		},
		"GET /api/v1/me/email":         as("member", "/api/v1/me/email", nil),
		"PUT /api/v1/me/email":         as("member", "/api/v1/me/email", map[string]any{"replies": true, "digest": "weekly"}),
		"POST /api/v1/me/email/verify": as("member", "/api/v1/me/email/verify", map[string]any{}),
		"GET /api/v1/categories":       as("anonymous", "/api/v1/categories", nil),
		"GET /api/v1/topics":           as("anonymous", "/api/v1/topics", nil),
		"GET /api/v1/topics/similar":   as("anonymous", "/api/v1/topics/similar?title=audit+log", nil),
		"POST /api/v1/topics": func(t *testing.T, w *contractWorld) (string, any, string) {
			return "/api/v1/topics", map[string]any{"category_id": w.cat.ID, "title": "How do I export invoices?", "body": "As PDF."}, "member"
		},
		"GET /api/v1/topics/{id}": func(t *testing.T, w *contractWorld) (string, any, string) {
			return f("/api/v1/topics/%d", w.topic.ID), nil, "anonymous"
		},
		"POST /api/v1/topics/{id}/posts": func(t *testing.T, w *contractWorld) (string, any, string) {
			return f("/api/v1/topics/%d/posts", w.topic.ID), map[string]any{"body": "Same here.", "reply_to_post_id": w.reply.ID}, "member"
		},
		"POST /api/v1/topics/{id}/solution": func(t *testing.T, w *contractWorld) (string, any, string) {
			return f("/api/v1/topics/%d/solution", w.topic.ID), map[string]any{"post_id": w.reply.ID}, "author"
		},
		"PATCH /api/v1/posts/{id}": func(t *testing.T, w *contractWorld) (string, any, string) {
			return f("/api/v1/posts/%d", w.reply.ID), map[string]any{"body": "Under Settings → Security → Audit.", "reason": "more exact"}, "member"
		},
		"GET /api/v1/posts/{id}/revisions": func(t *testing.T, w *contractWorld) (string, any, string) {
			return f("/api/v1/posts/%d/revisions", w.reply.ID), nil, "member"
		},
		"POST /api/v1/posts/{id}/like": func(t *testing.T, w *contractWorld) (string, any, string) {
			return f("/api/v1/posts/%d/like", w.reply.ID), map[string]any{}, "author"
		},
		"DELETE /api/v1/posts/{id}/like": func(t *testing.T, w *contractWorld) (string, any, string) {
			return f("/api/v1/posts/%d/like", w.reply.ID), nil, "author"
		},
		"POST /api/v1/preview":     as("member", "/api/v1/preview", map[string]any{"body": "**bold** <script>x</script>"}),
		"GET /api/v1/flag-reasons": as("anonymous", "/api/v1/flag-reasons", nil),
		"GET /api/v1/guidelines":   as("anonymous", "/api/v1/guidelines", nil),
		"GET /api/v1/me/flags":     as("member", "/api/v1/me/flags", nil),
		"GET /api/v1/search":       as("anonymous", "/api/v1/search?q=audit", nil),
		"GET /api/v1/mod/queue":    as("moderator", "/api/v1/mod/queue", nil),
		"GET /api/v1/mod/log":      as("moderator", "/api/v1/mod/log", nil),
		"GET /api/v1/mod/health":   as("moderator", "/api/v1/mod/health", nil),
		"PUT /api/v1/admin/guidelines": as("admin", "/api/v1/admin/guidelines",
			map[string]any{"body": "# Community guidelines\n\nBe kind. Stay on topic."}),
		"GET /api/v1/admin/flag-threshold/dry-run": as("admin", "/api/v1/admin/flag-threshold/dry-run?threshold=3", nil),
		"POST /api/v1/posts/{id}/flags": func(t *testing.T, w *contractWorld) (string, any, string) {
			return f("/api/v1/posts/%d/flags", w.reply.ID), map[string]any{"reason": "off_topic", "note": "belongs elsewhere"}, "author"
		},
		"DELETE /api/v1/flags/{id}": func(t *testing.T, w *contractWorld) (string, any, string) {
			fl, err := w.mod.Flag(context.Background(), w.user["admin"], w.roleWorld.reply(t, "member", w.topic.ID).ID, "spam", "")
			if err != nil {
				t.Fatal(err)
			}
			return f("/api/v1/flags/%d", fl.Flag.ID), nil, "admin"
		},
		"POST /api/v1/mod/queue/{post_id}/resolve": func(t *testing.T, w *contractWorld) (string, any, string) {
			return f("/api/v1/mod/queue/%d/resolve", w.flagged.ID), map[string]any{"action": "dismiss", "reason": map[string]any{"guideline": "spam", "note": "not spam"}}, "moderator"
		},
		"POST /api/v1/mod/posts/{id}/remove":  modPost("remove"),
		"POST /api/v1/mod/posts/{id}/restore": modPost("restore"),
		"POST /api/v1/mod/posts/{id}/edit":    modPost("edit"),
		"POST /api/v1/mod/topics/{id}/lock":   modTopic("lock"),
		"POST /api/v1/mod/topics/{id}/unlock": modTopic("unlock"),
		"POST /api/v1/mod/topics/{id}/pin":    modTopic("pin"),
		"POST /api/v1/mod/topics/{id}/unpin":  modTopic("unpin"),
		"POST /api/v1/mod/topics/{id}/move":   modTopic("move"),
		"GET /api/v1/mod/users/{id}": func(t *testing.T, w *contractWorld) (string, any, string) {
			return f("/api/v1/mod/users/%d", w.user["author"].ID), nil, "moderator"
		},
		"POST /api/v1/mod/users/{id}/notes": func(t *testing.T, w *contractWorld) (string, any, string) {
			return f("/api/v1/mod/users/%d/notes", w.user["author"].ID), map[string]any{"body": "Warned by mail about self-promotion."}, "moderator"
		},
		"POST /api/v1/mod/users/{id}/suspend": func(t *testing.T, w *contractWorld) (string, any, string) {
			return f("/api/v1/mod/users/%d/suspend", w.user["member"].ID), map[string]any{"days": 3, "reason": map[string]any{"guideline": "harassment"}, "notify": true}, "moderator"
		},
		"POST /api/v1/mod/users/{id}/unsuspend": func(t *testing.T, w *contractWorld) (string, any, string) {
			return f("/api/v1/mod/users/%d/unsuspend", w.user["suspended"].ID), map[string]any{"reason": "appeal granted"}, "moderator"
		},
		"POST /api/v1/admin/categories": as("admin", "/api/v1/admin/categories", map[string]any{"name": "Billing", "description": "Invoices and plans."}),
		"PATCH /api/v1/admin/categories/{id}": func(t *testing.T, w *contractWorld) (string, any, string) {
			return f("/api/v1/admin/categories/%d", w.cat2.ID), map[string]any{"description": "News from the team.", "position": 2}, "admin"
		},
		"POST /api/v1/admin/users/{id}/role": func(t *testing.T, w *contractWorld) (string, any, string) {
			return f("/api/v1/admin/users/%d/role", w.mod2.ID), map[string]any{"role": "admin"}, "admin"
		},
		// Last: it ends the member's session.
		"POST /api/v1/auth/logout": as("member", "/api/v1/auth/logout", map[string]any{}),
	}
}

func modPost(action string) contractCall {
	return func(t *testing.T, w *contractWorld) (string, any, string) {
		p := w.roleWorld.reply(t, "author", w.topic.ID)
		if action == "restore" {
			if err := errOf(w.mod.RemovePost(context.Background(), w.user["moderator"], p.ID, why("spam"))); err != nil {
				t.Fatal(err)
			}
		}
		return fmt.Sprintf("/api/v1/mod/posts/%d/%s", p.ID, action),
			map[string]any{"reason": map[string]any{"guideline": "spam", "note": "link farm"}, "body": "[link removed]"}, "moderator"
	}
}

func modTopic(action string) contractCall {
	return func(t *testing.T, w *contractWorld) (string, any, string) {
		tp := w.roleWorld.topic(t, "author")
		if action == "unlock" || action == "unpin" {
			first := map[string]string{"unlock": "lock", "unpin": "pin"}[action]
			if _, err := w.mod.TopicAction(context.Background(), w.user["moderator"], tp.ID, first, why("housekeeping"), 0); err != nil {
				t.Fatal(err)
			}
		}
		return fmt.Sprintf("/api/v1/mod/topics/%d/%s", tp.ID, action), map[string]any{"reason": "housekeeping", "category_id": w.cat2.ID}, "moderator"
	}
}

// TestContractJSON calls every documented JSON route with valid input: the
// documented status, and every documented field in the answer.
func TestContractJSON(t *testing.T) {
	rows := readContract(t)
	calls := contractCalls()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		w := newContractWorld(t, db)
		var logout *contractRow
		for i, r := range rows {
			if r.status == 0 || !strings.HasPrefix(r.path, "/api/") && r.path != "/healthz" && r.path != "/readyz" {
				continue
			}
			if r.path == "/api/v1/auth/logout" {
				logout = &rows[i]
				continue
			}
			checkContractRow(t, w, calls, r)
		}
		if logout == nil {
			t.Fatal("docs/api.md does not document POST /api/v1/auth/logout")
		}
		checkContractRow(t, w, calls, *logout)
	})
}

func checkContractRow(t *testing.T, w *contractWorld, calls map[string]contractCall, r contractRow) {
	t.Helper()
	key := r.method + " " + r.path
	mk, ok := calls[key]
	if !ok {
		t.Errorf("docs/api.md:%d: %s has no call in contractCalls: add one", r.line, key)
		return
	}
	path, body, role := mk(t, w)
	res, out := call(t, w.a, jsonReq(r.method, path, body, w.token[role]))
	if res.StatusCode != r.status {
		t.Errorf("docs/api.md:%d: %s %s answered %d, documented %d: %s", r.line, r.method, path, res.StatusCode, r.status, out)
		return
	}
	if len(r.fields) == 0 {
		return
	}
	var v any
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Errorf("docs/api.md:%d: %s %s: not JSON: %v", r.line, r.method, path, err)
		return
	}
	for _, f := range r.fields {
		if why := fieldMissing(v, f); why != "" {
			t.Errorf("docs/api.md:%d: %s %s: field %s %s; the answer has %s", r.line, r.method, path, f, why, strings.Join(fieldPaths(v, ""), ", "))
		}
	}
}

// fieldMissing follows a documented field path (a.b, items[].c: every
// element of a non-empty array) and says why it is not there, or "".
func fieldMissing(v any, path string) string {
	head, rest, _ := strings.Cut(path, ".")
	name, each := strings.CutSuffix(head, "[]")
	m, ok := v.(map[string]any)
	if !ok {
		return "is not inside an object"
	}
	child, ok := m[name]
	if !ok {
		return "is missing"
	}
	if each {
		items, ok := child.([]any)
		if !ok || len(items) == 0 {
			return "is not a non-empty array"
		}
		if rest == "" {
			return ""
		}
		for _, it := range items {
			if why := fieldMissing(it, rest); why != "" {
				return why
			}
		}
		return ""
	}
	if rest == "" {
		return ""
	}
	return fieldMissing(child, rest)
}

// fieldPaths lists the field paths of v, for the failure message.
func fieldPaths(v any, prefix string) []string {
	var out []string
	switch x := v.(type) {
	case map[string]any:
		for k, c := range x {
			out = append(out, prefix+k)
			out = append(out, fieldPaths(c, prefix+k+".")...)
		}
	case []any:
		if len(x) > 0 {
			p := strings.TrimSuffix(prefix, ".") + "[]."
			for _, s := range fieldPaths(x[0], p) {
				out = append(out, s)
			}
			if len(out) > 0 && prefix != "" {
				out = append([]string{strings.TrimSuffix(prefix, ".") + "[]"}, out...)
			}
		}
	}
	sort.Strings(out)
	return out
}

// TestContractPages opens every documented page (GET) as a caller it is
// for: the documented status, and an HTML page. The forms behind the POST
// rows are driven by the feature tests (forms, topics, replies, flags,
// modqueue, admin, setup) and the browser tests.
func TestContractPages(t *testing.T) {
	rows := readContract(t)
	db := testdb.Open(t, "sqlite")
	w := newContractWorld(t, db)
	f := fmt.Sprintf
	pages := map[string]struct {
		path, role string
		status     int // when not the documented one
	}{
		"/":                 {path: "/", role: "anonymous"},
		"/c/{slug}":         {path: "/c/" + w.cat.Slug, role: "anonymous"},
		"/t/{id}/{slug}":    {path: f("/t/%d/%s", w.topic.ID, w.topic.Slug), role: "anonymous"},
		"/new-topic":        {path: "/new-topic", role: "member"},
		"/p/{id}/edit":      {path: f("/p/%d/edit", w.reply.ID), role: "member"},
		"/p/{id}/revisions": {path: f("/p/%d/revisions", w.reply.ID), role: "member"},
		"/p/{id}/flag":      {path: f("/p/%d/flag", w.reply.ID), role: "author"},
		"/me/reports":       {path: "/me/reports", role: "member"},
		"/u/{username}":     {path: "/u/alice", role: "anonymous"},
		"/search":           {path: "/search?q=audit", role: "anonymous"},
		"/notifications":    {path: "/notifications", role: "author"},
		"/guidelines":       {path: "/guidelines", role: "anonymous"},
		"/privacy":          {path: "/privacy", role: "anonymous"},
		"/admin/privacy":    {path: "/admin/privacy", role: "admin"},
		"/register":         {path: "/register", role: "anonymous"},
		"/login":            {path: "/login", role: "anonymous"},
		"/setup":            {path: "/setup", role: "anonymous", status: http.StatusNotFound}, // documented: 404 once an admin exists (setup_test.go opens it before)
		"/mod":              {path: "/mod", role: "moderator"},
		"/mod/log":          {path: "/mod/log", role: "moderator"},
		"/mod/suspended":    {path: "/mod/suspended", role: "moderator"},
		"/admin":            {path: "/admin", role: "admin"},
		"/admin/guidelines": {path: "/admin/guidelines", role: "admin"},
		"/admin/levels":     {path: "/admin/levels", role: "admin"},
		"/admin/badges":     {path: "/admin/badges", role: "admin"},
		"/badges":           {path: "/badges", role: "anonymous"},
		"/badges/{id}":      {path: f("/badges/%d", w.badge.ID), role: "anonymous"},
		"/assets/{file}":    {path: "", role: ""},
		"/settings":         {path: "/settings", role: "member"},
		"/auth/signup":      {path: "/auth/signup", role: "anonymous", status: http.StatusForbidden}, // without a sign-up in progress; signin_test.go walks one
		"/password/forgot":  {path: "/password/forgot", role: "anonymous"},
		"/settings/export":  {path: "", role: ""}, // a zip, not a page: TestExportDownloads opens it
		// Mail links without a valid token: the 400 page; mail_test.go follows real ones.
		"/email/verify":              {path: "/email/verify?token=x", role: "anonymous", status: http.StatusBadRequest},
		"/email/unsubscribe/{token}": {path: "/email/unsubscribe/x.y", role: "anonymous", status: http.StatusBadRequest},
		"/password/reset":            {path: "/password/reset?token=x", role: "anonymous", status: http.StatusBadRequest},
	}
	for _, r := range rows {
		if r.method != http.MethodGet || r.status != http.StatusOK || strings.HasPrefix(r.path, "/api/") || r.path == "/healthz" || r.path == "/readyz" {
			continue
		}
		p, ok := pages[r.path]
		if !ok {
			t.Errorf("docs/api.md:%d: page %s has no visit in TestContractPages: add one", r.line, r.path)
			continue
		}
		if p.path == "" {
			continue // assets: app/pages_test.go serves them with their hashes
		}
		want := r.status
		if p.status != 0 {
			want = p.status
		}
		res, body := call(t, w.a, jsonReq(http.MethodGet, p.path, nil, w.token[p.role]))
		if res.StatusCode != want || !strings.Contains(res.Header.Get("Content-Type"), "text/html") || !strings.Contains(body, "</html>") {
			t.Errorf("docs/api.md:%d: GET %s as %s: %d %s, want %d and an HTML page", r.line, p.path, p.role, res.StatusCode, res.Header.Get("Content-Type"), want)
		}
	}
}
