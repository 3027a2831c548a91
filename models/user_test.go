package models_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"agora/internal/testdb"
	"agora/models"
)

var t0 = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

// mustCreateUser inserts a user with the given username, email and role.
func mustCreateUser(t *testing.T, db bun.IDB, username, email, role string) *models.User {
	t.Helper()
	u := &models.User{Username: username, Email: email, PasswordHash: "x", Role: role, CreatedAt: t0, UpdatedAt: t0}
	if err := models.CreateUser(context.Background(), db, u); err != nil {
		t.Fatalf("CreateUser(%s): %v", username, err)
	}
	if u.ID == 0 {
		t.Fatalf("CreateUser(%s) set no id", username)
	}
	return u
}

func countUsers(t *testing.T, db bun.IDB) int {
	t.Helper()
	n, err := db.NewSelect().Model((*models.User)(nil)).Count(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return int(n)
}

func TestCreateUserConflicts(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		mustCreateUser(t, db, "Alice", "alice@example.com", models.RoleMember)
		tests := []struct {
			name, username, email string
			wantField             string // "": no conflict
		}{
			{"same username", "Alice", "new1@example.com", "username"},
			{"username other case", "aLICE", "new2@example.com", "username"},
			{"same email", "newname1", "alice@example.com", "email"},
			{"email other case", "newname2", "ALICE@Example.Com", "email"},
			{"both taken", "alice", "ALICE@example.com", "username"},
			{"neither taken", "bob", "bob@example.com", ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				before := countUsers(t, db)
				u := &models.User{Username: tt.username, Email: tt.email, Role: models.RoleMember, CreatedAt: t0, UpdatedAt: t0}
				err := models.CreateUser(context.Background(), db, u)
				if tt.wantField == "" {
					if err != nil {
						t.Fatalf("CreateUser error = %v, want nil", err)
					}
					if got := countUsers(t, db); got != before+1 {
						t.Errorf("users = %d, want %d", got, before+1)
					}
					return
				}
				var ce *models.ConflictError
				if !errors.As(err, &ce) {
					t.Fatalf("CreateUser error = %v (%T), want *models.ConflictError", err, err)
				}
				if ce.Field != tt.wantField {
					t.Errorf("conflict field = %q, want %q", ce.Field, tt.wantField)
				}
				if !errors.Is(err, models.ErrConflict) {
					t.Error("the conflict does not wrap models.ErrConflict")
				}
				if ce.Message == "" {
					t.Error("the conflict has no message")
				}
				if got := countUsers(t, db); got != before {
					t.Errorf("users = %d after a conflict, want %d", got, before)
				}
			})
		}
	})
}

// TestCreateUserLostRaceInTransaction: two sign-ups with the same username
// race; the loser's pre-check passes, its insert hits the unique index, and
// it must still say which field clashed, inside a transaction as
// accounts.Register runs it.
func TestCreateUserLostRaceInTransaction(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		tx1, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer tx1.Rollback()
		mustCreateUser(t, tx1, "racer", "first@example.com", models.RoleMember)

		result := make(chan error, 1)
		go func() {
			tx2, err := db.BeginTx(ctx, nil) // SQLite: waits for tx1 (immediate transactions)
			if err != nil {
				result <- err
				return
			}
			defer tx2.Rollback()
			// PostgreSQL: the pre-check cannot see tx1's row; the insert waits for tx1.
			result <- models.CreateUser(ctx, tx2, &models.User{Username: "racer", Email: "second@example.com",
				Role: models.RoleMember, CreatedAt: t0, UpdatedAt: t0})
		}()
		time.Sleep(300 * time.Millisecond) // let the second insert reach the index
		if err := tx1.Commit(); err != nil {
			t.Fatal(err)
		}
		var err2 error
		select {
		case err2 = <-result:
		case <-time.After(15 * time.Second):
			t.Fatal("second CreateUser did not return")
		}
		var ce *models.ConflictError
		if !errors.As(err2, &ce) {
			t.Fatalf("losing CreateUser error = %v, want *models.ConflictError", err2)
		}
		if ce.Field != "username" {
			t.Errorf("losing CreateUser conflict field = %q, want username (the email was free)", ce.Field)
		}
	})
}

func TestUserLookups(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		bob := mustCreateUser(t, db, "Bob", "Bob@Example.com", models.RoleMember)
		zoe := mustCreateUser(t, db, "zoe", "Zoë.Ünï@example.com", models.RoleMember)
		gone := mustCreateUser(t, db, "gone", "gone@example.com", models.RoleMember)
		if _, err := db.NewUpdate().Model((*models.User)(nil)).Set("deleted_at = ?", t0).Where("id = ?", gone.ID).Exec(ctx); err != nil {
			t.Fatal(err)
		}

		tests := []struct {
			name, login string
			wantID      int64 // 0: ErrNotFound
		}{
			{"username", "Bob", bob.ID},
			{"username lower case", "bob", bob.ID},
			{"username upper case", "BOB", bob.ID},
			{"email as stored", "Bob@Example.com", bob.ID},
			{"email lower case", "bob@example.com", bob.ID},
			{"email upper case", "BOB@EXAMPLE.COM", bob.ID},
			{"non-ASCII email as stored", "Zoë.Ünï@example.com", zoe.ID},
			{"unknown email", "bob@example.org", 0},
			{"unknown username", "bobby", 0},
			{"wildcard", "b%", 0},
			{"email is not a username", "Bob@", 0},
			{"erased by username", "gone", 0},
			{"erased by email", "gone@example.com", 0},
			{"empty", "", 0},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				u, err := models.UserByLogin(ctx, db, tt.login)
				if tt.wantID == 0 {
					if !models.IsNotFound(err) {
						t.Errorf("UserByLogin(%q) = %v, %v; want ErrNotFound", tt.login, u, err)
					}
					return
				}
				if err != nil {
					t.Fatalf("UserByLogin(%q) error = %v, want user %d", tt.login, err, tt.wantID)
				}
				if u.ID != tt.wantID {
					t.Errorf("UserByLogin(%q) = user %d, want %d", tt.login, u.ID, tt.wantID)
				}
			})
		}

		if u, err := models.UserByUsername(ctx, db, "bOB"); err != nil || u.ID != bob.ID {
			t.Errorf("UserByUsername(bOB) = %v, %v; want user %d", u, err, bob.ID)
		}
		if _, err := models.UserByUsername(ctx, db, "nobody"); !models.IsNotFound(err) {
			t.Errorf("UserByUsername(nobody) error = %v, want ErrNotFound", err)
		}
		if u, err := models.UserByID(ctx, db, bob.ID); err != nil || u.Username != "Bob" {
			t.Errorf("UserByID(%d) = %v, %v; want Bob", bob.ID, u, err)
		}
		if _, err := models.UserByID(ctx, db, 999999); !models.IsNotFound(err) {
			t.Errorf("UserByID(999999) error = %v, want ErrNotFound", err)
		}
	})
}

// countingHook counts the queries run on a database.
type countingHook struct{ n atomic.Int64 }

func (h *countingHook) BeforeQuery(ctx context.Context, _ *bun.QueryEvent) context.Context {
	h.n.Add(1)
	return ctx
}
func (h *countingHook) AfterQuery(context.Context, *bun.QueryEvent) {}

func TestUsersByIDs(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		var ids []int64
		for _, name := range []string{"ann", "ben", "cat"} {
			ids = append(ids, mustCreateUser(t, db, name, name+"@example.com", models.RoleMember).ID)
		}
		hook := &countingHook{}
		db.AddQueryHook(hook)

		got, err := models.UsersByIDs(ctx, db, []int64{ids[2], ids[0], 999999, ids[1], ids[0]})
		if err != nil {
			t.Fatal(err)
		}
		if n := hook.n.Load(); n != 1 {
			t.Errorf("UsersByIDs ran %d queries, want 1", n)
		}
		if len(got) != 3 {
			t.Errorf("UsersByIDs returned %d users, want 3 (missing ids left out)", len(got))
		}
		for i, name := range []string{"ann", "ben", "cat"} {
			if u := got[ids[i]]; u == nil || u.Username != name || u.ID != ids[i] {
				t.Errorf("UsersByIDs[%d] = %+v, want %s", ids[i], u, name)
			}
		}
		if _, ok := got[999999]; ok {
			t.Error("UsersByIDs has an entry for an id that does not exist")
		}

		hook.n.Store(0)
		empty, err := models.UsersByIDs(ctx, db, nil)
		if err != nil || empty == nil || len(empty) != 0 {
			t.Errorf("UsersByIDs(nil) = %v, %v; want an empty map", empty, err)
		}
		if n := hook.n.Load(); n != 0 {
			t.Errorf("UsersByIDs(nil) ran %d queries, want 0", n)
		}
	})
}

func TestAdminExistsAndSetUserRole(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		check := func(want bool) {
			t.Helper()
			got, err := models.AdminExists(ctx, db)
			if err != nil || got != want {
				t.Fatalf("AdminExists = %v, %v; want %v", got, err, want)
			}
		}
		check(false)
		mod := mustCreateUser(t, db, "mod", "mod@example.com", models.RoleModerator)
		check(false)
		if err := models.SetUserRole(ctx, db, mod.ID, models.RoleAdmin, t0); err != nil {
			t.Fatal(err)
		}
		check(true)
		if u, _ := models.UserByID(ctx, db, mod.ID); u.Role != models.RoleAdmin || !u.IsAdmin() || !u.IsStaff() {
			t.Errorf("after SetUserRole role = %q, want admin", u.Role)
		}
		if _, err := db.NewUpdate().Model((*models.User)(nil)).Set("deleted_at = ?", t0).Where("id = ?", mod.ID).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		check(false) // an erased admin does not count
		if err := models.SetUserRole(ctx, db, 999999, models.RoleAdmin, t0); !models.IsNotFound(err) {
			t.Errorf("SetUserRole(unknown id) error = %v, want ErrNotFound", err)
		}
	})
}

func TestValidRole(t *testing.T) {
	t.Parallel()
	for role, want := range map[string]bool{"member": true, "moderator": true, "admin": true, "": false, "Admin": false, "root": false} {
		if got := models.ValidRole(role); got != want {
			t.Errorf("ValidRole(%q) = %v, want %v", role, got, want)
		}
	}
}

func TestUserSuspension(t *testing.T) {
	t.Parallel()
	later := t0.Add(48 * time.Hour)
	earlier := t0.Add(-time.Hour)
	indefinite := models.IndefiniteSuspension
	tests := []struct {
		name      string
		until     *time.Time
		wantErr   bool
		wantUntil *time.Time
	}{
		{"never suspended", nil, false, nil},
		{"suspension over", &earlier, false, nil},
		{"suspended until later", &later, true, &later},
		{"indefinite", &indefinite, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			u := &models.User{SuspendedUntil: tt.until, SuspendedReason: "spam"}
			err := u.Suspension(t0)
			if !tt.wantErr {
				if err != nil {
					t.Errorf("Suspension = %v, want nil", err)
				}
				return
			}
			var se *models.SuspendedError
			if !errors.As(err, &se) || !errors.Is(err, models.ErrForbidden) {
				t.Fatalf("Suspension = %v, want a *SuspendedError wrapping ErrForbidden", err)
			}
			if (se.Until == nil) != (tt.wantUntil == nil) || (se.Until != nil && !se.Until.Equal(*tt.wantUntil)) {
				t.Errorf("Until = %v, want %v", se.Until, tt.wantUntil)
			}
			if se.Reason != "spam" {
				t.Errorf("Reason = %q, want spam", se.Reason)
			}
		})
	}
}
