package models_test

import (
	"context"
	"testing"

	"github.com/uptrace/bun"

	"agora/internal/testdb"
	"agora/models"
)

// TestFlairIsLax: a level or badge change moves only the lax part of the
// topic and list versions; a new name moves the strict part.
func TestFlairIsLax(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		u := mustCreateUser(t, db, "judy", "judy@example.com", models.RoleMember)
		c := &models.Category{Name: "Questions", Slug: "questions", Color: "#336699", CreatedAt: t0, UpdatedAt: t0}
		if err := models.CreateCategory(ctx, db, c); err != nil {
			t.Fatal(err)
		}
		tp := &models.Topic{CategoryID: c.ID, UserID: u.ID, Title: "How do I rotate keys?", Slug: "how-do-i-rotate-keys",
			CreatedAt: t0, UpdatedAt: t0, LastPostedAt: t0}
		if _, err := db.NewInsert().Model(tp).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		v, err := models.PrepareVersions(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		versions := func() (topicFull, topicStrict, listFull, listStrict string) {
			t.Helper()
			_, tf, ts, err := v.Topic(ctx, tp.ID)
			if err != nil {
				t.Fatal(err)
			}
			lf, ls, err := v.Lists(ctx)
			if err != nil {
				t.Fatal(err)
			}
			return tf, ts, lf, ls
		}
		exec := func(q string, args ...any) {
			t.Helper()
			if _, err := db.ExecContext(ctx, q, args...); err != nil {
				t.Fatal(err)
			}
		}
		tf0, ts0, lf0, ls0 := versions()
		exec("UPDATE users SET level = 3, badge_count = badge_count + 1 WHERE id = ?", u.ID)
		tf1, ts1, lf1, ls1 := versions()
		if tf1 == tf0 || lf1 == lf0 {
			t.Errorf("a level change left the full versions at topic %s, lists %s", tf1, lf1)
		}
		if ts1 != ts0 || ls1 != ls0 {
			t.Errorf("a level change moved the strict versions: topic %s → %s, lists %s → %s", ts0, ts1, ls0, ls1)
		}
		exec("UPDATE users SET display_name = 'Judy' WHERE id = ?", u.ID)
		_, ts2, _, ls2 := versions()
		if ts2 == ts1 || ls2 == ls1 {
			t.Errorf("a new display name left the strict versions at topic %s, lists %s", ts2, ls2)
		}
	})
}
