package cli_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"agora/cli"
	"agora/database"
	"agora/internal/testdb"
	"agora/models"
	"agora/moderation"
)

func TestModlogVerify(t *testing.T) {
	ctx := context.Background()
	url := testdb.URL(t, "sqlite")
	db, err := database.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := database.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	mod := &models.User{Username: "mod1", Email: "mod1@example.com", Role: models.RoleAdmin, CreatedAt: now, UpdatedAt: now}
	member := &models.User{Username: "member1", Email: "m1@example.com", Role: models.RoleMember, CreatedAt: now, UpdatedAt: now}
	for _, u := range []*models.User{mod, member} {
		if err := models.CreateUser(ctx, db, u); err != nil {
			t.Fatal(err)
		}
	}
	svc := moderation.New(db, nil)
	if err := errOf(svc.Suspend(ctx, mod, member.ID, 3, time.Time{}, why("harassment"), true)); err != nil {
		t.Fatal(err)
	}
	if err := errOf(svc.Unsuspend(ctx, mod, member.ID, why("appeal accepted"))); err != nil {
		t.Fatal(err)
	}
	run := func() (int, string) {
		var out, errOut bytes.Buffer
		code := cli.Run(ctx, []string{"modlog", "verify"}, func(k string) string {
			if k == "AGORA_DATABASE_URL" {
				return url
			}
			return ""
		}, &out, &errOut)
		return code, out.String() + errOut.String()
	}
	if code, out := run(); code != 0 || !strings.Contains(out, "2 entries") {
		t.Fatalf("verify intact log: exit %d, %q; want 0 and 2 entries", code, out)
	}
	if _, err := db.ExecContext(ctx, "UPDATE moderation_actions SET reason = 'nothing to see' WHERE id = 2"); err != nil {
		t.Fatal(err)
	}
	if code, out := run(); code != 1 || !strings.Contains(out, "entry 2") {
		t.Fatalf("verify tampered log: exit %d, %q; want 1 naming entry 2", code, out)
	}
}

// why is a moderator's reason in the plain string form.
func why(s string) moderation.Reason { return moderation.ParseReason(s) }

// errOf keeps only the error of a call that returns a value too.
func errOf[T any](_ T, err error) error { return err }
