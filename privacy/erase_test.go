package privacy_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"

	"agora/accounts"
	"agora/forum"
	"agora/internal/testdb"
	"agora/models"
	"agora/moderation"
	"agora/privacy"
	"agora/search"
	"agora/services"
)

// textColumns lists every text column of every table, from the catalog.
func textColumns(t *testing.T, db *bun.DB) [][2]string {
	t.Helper()
	q := `SELECT m.name, c.name FROM sqlite_master AS m, pragma_table_info(m.name) AS c
		WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> 'bun_migrations'
		AND upper(c.type) IN ('TEXT', 'BLOB', '')`
	if db.Dialect().Name() == dialect.PG {
		q = `SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema()
			AND data_type IN ('text', 'character varying', 'json', 'jsonb') AND table_name NOT LIKE 'bun_%'`
	}
	rows, err := db.QueryContext(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out [][2]string
	for rows.Next() {
		var c [2]string
		if err := rows.Scan(&c[0], &c[1]); err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	if len(out) < 40 {
		t.Fatalf("found only %d text columns: the catalog query is wrong", len(out))
	}
	return out
}

// scan returns "table.column" for each place any of needles (any case) is stored.
func scan(t *testing.T, db *bun.DB, needles ...string) []string {
	t.Helper()
	var found []string
	for _, c := range textColumns(t, db) {
		for _, n := range needles {
			var k int
			q := fmt.Sprintf("SELECT count(*) FROM %s WHERE lower(CAST(%s AS TEXT)) LIKE ?", c[0], c[1])
			if err := db.NewRaw(q, "%"+strings.ToLower(n)+"%").Scan(context.Background(), &k); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			if k > 0 {
				found = append(found, fmt.Sprintf("%s.%s holds %q", c[0], c[1], n))
			}
		}
	}
	return found
}

// TestErasureLeavesNothing: after a member is erased, a scan of every text
// column of every table and of the search index for their email, names and
// address finds nothing, with and without deleting their posts; the
// moderation log still verifies; the posts kept are signed by a deleted member.
func TestErasureLeavesNothing(t *testing.T) {
	for _, deletePosts := range []bool{false, true} {
		t.Run(fmt.Sprintf("delete posts %v", deletePosts), func(t *testing.T) {
			testdb.Each(t, func(t *testing.T, db *bun.DB) {
				ctx := context.Background()
				set, err := services.New(ctx, db, nil, nil, services.Options{})
				if err != nil {
					t.Fatal(err)
				}
				now := time.Now().UTC()
				cat := &models.Category{Name: "Help", Slug: "help", Color: "#336699", CreatedAt: now, UpdatedAt: now}
				if err := models.CreateCategory(ctx, db, cat); err != nil {
					t.Fatal(err)
				}
				join := func(name string, role string) *models.User {
					u, err := set.Accounts.Register(ctx, accounts.RegisterInput{Username: name, Email: name + "@mail.example",
						Password: "a long password", AgeConfirmed: true, Role: role})
					if err != nil {
						t.Fatal(err)
					}
					db.NewRaw("UPDATE users SET level = 2 WHERE id = ?", u.ID).Exec(ctx)
					u, _ = models.UserByID(ctx, db, u.ID)
					return u
				}
				admin, other := join("adminzed", models.RoleAdmin), join("bystander", "")
				gone := join("quentinold", "")
				if gone, err = set.Accounts.ChangeUsername(ctx, gone, "quentinq"); err != nil {
					t.Fatal(err)
				}
				join("quentinq.other", "")
				if _, _, err := set.Accounts.StartSession(ctx, gone.ID, "192.0.2.77", "Quentin's browser"); err != nil {
					t.Fatal(err)
				}
				if _, err := set.Accounts.IssueToken(ctx, gone.ID, "quentin's script"); err != nil {
					t.Fatal(err)
				}
				if err := models.CreateIdentity(ctx, db, &models.Identity{UserID: gone.ID, Provider: "github", ProviderUserID: "gh-quentinq",
					Email: "quentinq@github.example", Profile: `{"company":"Quentin Corp"}`, CreatedAt: now}); err != nil {
					t.Fatal(err)
				}
				gone, _ = set.Accounts.UpdateProfile(ctx, gone, accounts.ProfileInput{DisplayName: "Quentin Quill", Bio: "I am Quentin."})
				topic, first, err := set.Forum.CreateTopic(ctx, gone, forum.TopicInput{CategoryID: cat.ID,
					Title: "Quentin asks about invoices", Body: "Invoices are wrong, signed Quentin Quill."})
				if err != nil {
					t.Fatal(err)
				}
				if _, err := set.Forum.EditPost(ctx, gone, first.ID, "Invoices are wrong (edited by quentinq).", ""); err != nil {
					t.Fatal(err)
				}
				reply, err := set.Forum.Reply(ctx, other, topic.ID, "@quentinq check Billing.", nil)
				if err != nil {
					t.Fatal(err)
				}
				// Words of another member's that look like the names stay theirs.
				theirs, err := set.Forum.Reply(ctx, other, topic.ID, "Ask @quentinold, not @quentinq.other; I will quill it quentinq-style.", nil)
				if err != nil {
					t.Fatal(err)
				}
				mine, err := set.Forum.Reply(ctx, gone, topic.ID, "Thanks!", nil)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := set.Forum.Like(ctx, gone, reply.ID); err != nil { // notifies the bystander, naming quentinq
					t.Fatal(err)
				}
				if _, err := set.Moderation.Flag(ctx, gone, reply.ID, "other", "flagged by quentinq"); err != nil {
					t.Fatal(err)
				}
				if _, err := set.Moderation.AddNote(ctx, admin, gone.ID, "quentinq was rude once"); err != nil {
					t.Fatal(err)
				}
				if err := set.Notify.Watch(ctx, gone, topic.ID, false, models.WatchWatching); err != nil {
					t.Fatal(err)
				}
				if _, err := set.Moderation.Suspend(ctx, admin, gone.ID, 1, time.Time{}, moderation.Reason{Guideline: "harassment", Note: "a day off"}, true); err != nil {
					t.Fatal(err)
				}
				if _, err := set.Mail.Pass(ctx); err != nil {
					t.Fatal(err)
				}
				ix, err := search.Open(t.TempDir())
				if err != nil && !errors.Is(err, search.ErrNoIndex) {
					t.Fatal(err)
				}
				defer ix.Close()
				if _, err := search.Rebuild(ctx, db, ix, nil); err != nil {
					t.Fatal(err)
				}
				needles := []string{"@quentinq,", "@quentinq ", "quentinold", "Quentin Quill", "I am Quentin", "192.0.2.77", "Quentin's browser",
					"quentin's script", "Quentin Corp"}
				if pq, _ := search.Parse("@quentinq"); pq != nil {
					if res, err := ix.Search(ctx, pq, search.Options{Staff: true, IncludeRemoved: true, Page: 1, PerPage: 20}); err != nil || res.Total == 0 {
						t.Fatalf("the index finds no post by @quentinq before the erasure (%v): the check is broken", err)
					}
				}
				if found := scan(t, db, needles...); len(found) == 0 {
					t.Fatal("the scan finds nothing before the erasure: it is broken")
				}

				gone, _ = models.UserByID(ctx, db, gone.ID)
				if err := set.Privacy.Erase(ctx, other, gone, privacy.Erasure{}); !errors.Is(err, models.ErrForbidden) {
					t.Fatalf("another member erasing: %v, want ErrForbidden", err)
				}
				if err := set.Privacy.Erase(ctx, gone, gone, privacy.Erasure{DeletePosts: deletePosts}); err != nil {
					t.Fatal(err)
				}
				for _, f := range scan(t, db, needles...) {
					t.Errorf("after the erasure %s", f)
				}
				x := &search.Indexer{DB: db, Index: ix, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
				if _, err := x.CatchUp(ctx); err != nil {
					t.Fatal(err)
				}
				for _, q := range []string{"@quentinq", "@quentinold"} {
					pq, err := search.Parse(q)
					if err != nil {
						t.Fatal(err)
					}
					res, err := ix.Search(ctx, pq, search.Options{Staff: true, IncludeRemoved: true, Page: 1, PerPage: 20})
					if err != nil {
						t.Fatal(err)
					}
					if res.Total != 0 {
						t.Errorf("the search index still finds %q: %d hits", q, res.Total)
					}
				}
				if broken, _, err := moderation.VerifyLog(ctx, db); err != nil || broken != 0 {
					t.Errorf("the moderation log after the erasure: broken at %d, %v", broken, err)
				}
				if p, _ := models.PostByID(ctx, db, theirs.ID); p.Body != "Ask deleted member, not @quentinq.other; I will quill it quentinq-style." {
					t.Errorf("another member's post after the erasure: %q", p.Body)
				}
				var counted, visible int
				db.NewRaw("SELECT post_count FROM categories WHERE id = ?", cat.ID).Scan(ctx, &counted)
				db.NewRaw("SELECT count(*) FROM posts AS p JOIN topics AS t ON t.id = p.topic_id WHERE p.removed_at IS NULL AND t.removed_at IS NULL").Scan(ctx, &visible)
				if counted != visible {
					t.Errorf("the category counts %d posts, %d show", counted, visible)
				}
				u, _ := models.UserByID(ctx, db, gone.ID)
				if u.DeletedAt == nil || u.Email != "" || u.Name() != models.DeletedName {
					t.Errorf("the account after erasure: %+v", u)
				}
				p, _ := models.PostByID(ctx, db, mine.ID)
				if deletePosts != (p.Body == "" && p.RemovedAt != nil) {
					t.Errorf("delete posts %v: the post is %q, removed %v", deletePosts, p.Body, p.RemovedAt)
				}
				login, err := set.Accounts.FindLogin(ctx, "quentinq")
				if err != nil {
					t.Fatal(err)
				}
				if _, err := set.Accounts.Authenticate(login, "a long password"); err == nil {
					t.Error("the erased member can still sign in")
				}
			})
		})
	}
}
