package privacy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"

	"agora/accounts"
	"agora/forum"
	"agora/internal/testdb"
	"agora/mailer"
	"agora/models"
	"agora/moderation"
	"agora/privacy"
	"agora/services"
)

// referencesToMembers lists every column with a foreign key to users, as
// table.column, from the database's own catalog.
func referencesToMembers(t *testing.T, db *bun.DB) []string {
	t.Helper()
	q := `SELECT m.name || '.' || p."from" FROM sqlite_master AS m, pragma_foreign_key_list(m.name) AS p
		WHERE m.type = 'table' AND p."table" = 'users'`
	if db.Dialect().Name() == dialect.PG {
		q = `SELECT tc.table_name || '.' || kcu.column_name FROM information_schema.table_constraints AS tc
			JOIN information_schema.key_column_usage AS kcu ON kcu.constraint_name = tc.constraint_name AND kcu.table_schema = tc.table_schema
			JOIN information_schema.constraint_column_usage AS ccu ON ccu.constraint_name = tc.constraint_name AND ccu.table_schema = tc.table_schema
			WHERE tc.constraint_type = 'FOREIGN KEY' AND ccu.table_name = 'users' AND tc.table_schema = current_schema()`
	}
	var refs []string
	if err := db.NewRaw(q).Scan(context.Background(), &refs); err != nil {
		t.Fatal(err)
	}
	sort.Strings(refs)
	return refs
}

// TestExportCoversEveryReferenceToMembers fails when a table gains a column
// pointing at members that the export neither covers nor leaves out with
// a reason, and when either list names a reference the schema lacks.
func TestExportCoversEveryReferenceToMembers(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		refs := referencesToMembers(t, db)
		if len(refs) < 20 {
			t.Fatalf("found only %d references to users: %v (the catalog query is wrong)", len(refs), refs)
		}
		covered := map[string]bool{}
		for _, s := range privacy.Sections {
			for _, c := range s.Covers {
				covered[c] = true
			}
		}
		inSchema := map[string]bool{"users.id": true}
		for _, r := range refs {
			inSchema[r] = true
			_, left := privacy.NotExported[r]
			if !covered[r] && !left {
				t.Errorf("%s refers to members: export it (privacy.Sections) or say why not (privacy.NotExported)", r)
			}
		}
		for c := range covered {
			if !inSchema[c] {
				t.Errorf("privacy.Sections covers %s, which the schema does not have", c)
			}
		}
		for c, why := range privacy.NotExported {
			if !inSchema[c] || why == "" {
				t.Errorf("privacy.NotExported: %s (%q) is not in the schema or has no reason", c, why)
			}
		}
	})
}

// TestExportHoldsTheMembersDataAndNobodyElses fills every section for one
// member, next to another member who does the same, and reads the export.
func TestExportHoldsTheMembersDataAndNobodyElses(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		set, err := services.New(ctx, db, nil, nil, services.Options{Mail: mailer.Config{BaseURL: "http://forum.example"}})
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now().UTC()
		cat := &models.Category{Name: "Help", Slug: "help", Color: "#336699", CreatedAt: now, UpdatedAt: now}
		if err := models.CreateCategory(ctx, db, cat); err != nil {
			t.Fatal(err)
		}
		mod, err := set.Accounts.Register(ctx, accounts.RegisterInput{Username: "moderator1", Email: "mod@example.com",
			Password: "a long password", AgeConfirmed: true, Role: models.RoleModerator})
		if err != nil {
			t.Fatal(err)
		}
		// fill gives name one of everything, with text only they wrote.
		fill := func(name string) *models.User {
			u, err := set.Accounts.Register(ctx, accounts.RegisterInput{Username: name + "1", Email: name + "@example.com",
				Password: "a long password", AgeConfirmed: true})
			if err != nil {
				t.Fatal(err)
			}
			if u, err = set.Accounts.ChangeUsername(ctx, u, name); err != nil {
				t.Fatal(err)
			}
			if _, err := db.NewRaw("UPDATE users SET level = 2 WHERE id = ?", u.ID).Exec(ctx); err != nil {
				t.Fatal(err)
			}
			u, _ = models.UserByID(ctx, db, u.ID)
			if _, _, err := set.Accounts.StartSession(ctx, u.ID, "203.0.113."+name[:1], "Browser of "+name); err != nil {
				t.Fatal(err)
			}
			if _, err := set.Accounts.IssueToken(ctx, u.ID, "script of "+name); err != nil {
				t.Fatal(err)
			}
			if err := models.CreateIdentity(ctx, db, &models.Identity{UserID: u.ID, Provider: "github", ProviderUserID: "gh-" + name,
				Email: name + "@github.example", CreatedAt: now}); err != nil {
				t.Fatal(err)
			}
			if _, err := set.Accounts.UpdateProfile(ctx, u, accounts.ProfileInput{DisplayName: "Display " + name, Bio: "Bio of " + name}); err != nil {
				t.Fatal(err)
			}
			topic, first, err := set.Forum.CreateTopic(ctx, u, forum.TopicInput{CategoryID: cat.ID,
				Title: "Question from " + name + " about exports", Body: "Body written by " + name})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := set.Forum.EditPost(ctx, u, first.ID, "Edited body written by "+name, "typo of "+name); err != nil {
				t.Fatal(err)
			}
			if err := set.Notify.Watch(ctx, u, topic.ID, false, models.WatchWatching); err != nil {
				t.Fatal(err)
			}
			if err := set.Notify.Watch(ctx, u, cat.ID, true, models.WatchMuted); err != nil {
				t.Fatal(err)
			}
			set.Views.Read(u.ID, topic.ID, 1)
			if err := set.Views.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			return u
		}
		exa, oth := fill("exa"), fill("oth")
		// Across: each likes and flags the other, the moderator acts on exa.
		for _, pair := range [][2]*models.User{{exa, oth}, {oth, exa}} {
			var post int64
			if err := db.NewRaw("SELECT id FROM posts WHERE user_id = ?", pair[1].ID).Scan(ctx, &post); err != nil {
				t.Fatal(err)
			}
			if _, err := set.Forum.Like(ctx, pair[0], post); err != nil {
				t.Fatal(err)
			}
			if _, err := set.Moderation.Flag(ctx, pair[0], post, "other", "note by "+pair[0].Username); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := set.Moderation.Suspend(ctx, mod, exa.ID, 1, time.Time{}, moderation.Reason{Guideline: "harassment",
			Note: "suspended for a day"}, true); err != nil {
			t.Fatal(err)
		}
		if _, err := set.Moderation.AddNote(ctx, mod, exa.ID, "staff note about exa"); err != nil {
			t.Fatal(err)
		}
		exa, _ = models.UserByID(ctx, db, exa.ID)

		var buf bytes.Buffer
		if err := set.Privacy.Export(ctx, exa, &buf); err != nil {
			t.Fatal(err)
		}
		var doc map[string]json.RawMessage
		if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
			t.Fatalf("the export is not JSON: %v\n%s", err, buf.String())
		}
		for _, s := range privacy.Sections {
			raw, ok := doc[s.Name]
			if !ok || string(raw) == "null" || string(raw) == "[]" {
				t.Errorf("section %s is empty: %s", s.Name, raw)
			}
		}
		text := buf.String()
		for _, want := range []string{"exa@example.com", "Display exa", "Bio of exa", "Browser of exa", "script of exa",
			"gh-exa", "Edited body written by exa", "Body written by exa", "typo of exa", "note by exa",
			"suspended for a day", "staff note about exa", "Question from exa about exports"} {
			if !strings.Contains(text, want) {
				t.Errorf("the export lacks %q", want)
			}
		}
		hash, _ := models.UserByID(ctx, db, exa.ID)
		// (Another member's name shows where exa's own notifications say who liked exa's post.)
		for _, bad := range []string{"oth@example.com", "Display oth", "Bio of oth", "Browser of oth", "script of oth", "gh-oth",
			"written by oth", "note by oth", "Question from oth", "moderator1", "mod@example.com", hash.PasswordHash, "$argon2id"} {
			if strings.Contains(text, bad) {
				t.Errorf("the export holds %q, which is not exa's", bad)
			}
		}
		for _, col := range []string{"token_hash", "password_hash", "csrf_token", "unsubscribe_token"} {
			if strings.Contains(text, col) {
				t.Errorf("the export names %s", col)
			}
		}
	})
}
