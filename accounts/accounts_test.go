package accounts_test

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"agora/accounts"
	"agora/internal/testclock"
	"agora/internal/testdb"
	"agora/models"
)

// newClock is a settable time source for sessions and expiries.
func newClock() *testclock.Clock { return testclock.New(time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)) }

const testPassword = "a long enough password"

// mustRegister creates a member through the service.
func mustRegister(t *testing.T, svc *accounts.Service, username, email string) *models.User {
	t.Helper()
	u, err := svc.Register(context.Background(), accounts.RegisterInput{
		Username: username, Email: email, Password: testPassword, AgeConfirmed: true,
	})
	if err != nil {
		t.Fatalf("Register(%s): %v", username, err)
	}
	return u
}

func sortedKeys(m map[string]string) []string { return slices.Sorted(maps.Keys(m)) }

func TestRegisterInputValidate(t *testing.T) {
	t.Parallel()
	valid := accounts.RegisterInput{Username: "alice", Email: "alice@example.com", Password: "0123456789", AgeConfirmed: true}
	tests := []struct {
		name       string
		change     func(in *accounts.RegisterInput)
		wantFields []string // nil: valid
	}{
		{"valid", func(in *accounts.RegisterInput) {}, nil},
		{"three characters", func(in *accounts.RegisterInput) { in.Username = "abc" }, nil},
		{"twenty characters", func(in *accounts.RegisterInput) { in.Username = strings.Repeat("a", 20) }, nil},
		{"dots dashes underscores", func(in *accounts.RegisterInput) { in.Username = "a_b.c-d9" }, nil},
		{"surrounding spaces trimmed", func(in *accounts.RegisterInput) { in.Username, in.Email = "  alice ", " alice@example.com " }, nil},
		{"empty username", func(in *accounts.RegisterInput) { in.Username = "" }, []string{"username"}},
		{"two characters", func(in *accounts.RegisterInput) { in.Username = "ab" }, []string{"username"}},
		{"twenty-one characters", func(in *accounts.RegisterInput) { in.Username = strings.Repeat("a", 21) }, []string{"username"}},
		{"starts with dash", func(in *accounts.RegisterInput) { in.Username = "-alice" }, []string{"username"}},
		{"ends with dot", func(in *accounts.RegisterInput) { in.Username = "alice." }, []string{"username"}},
		{"space inside", func(in *accounts.RegisterInput) { in.Username = "al ice" }, []string{"username"}},
		{"at sign", func(in *accounts.RegisterInput) { in.Username = "al@ce" }, []string{"username"}},
		{"non-ASCII", func(in *accounts.RegisterInput) { in.Username = "alïce" }, []string{"username"}},
		{"markup", func(in *accounts.RegisterInput) { in.Username = "<b>x</b>" }, []string{"username"}},
		{"reserved", func(in *accounts.RegisterInput) { in.Username = "System" }, []string{"username"}},
		{"reserved moderator", func(in *accounts.RegisterInput) { in.Username = "MODERATOR" }, []string{"username"}},
		{"empty email", func(in *accounts.RegisterInput) { in.Email = "" }, []string{"email"}},
		{"email without at", func(in *accounts.RegisterInput) { in.Email = "alice.example.com" }, []string{"email"}},
		{"email without dot in domain", func(in *accounts.RegisterInput) { in.Email = "alice@localhost" }, []string{"email"}},
		{"email with display name", func(in *accounts.RegisterInput) { in.Email = "Alice <alice@example.com>" }, []string{"email"}},
		{"two addresses", func(in *accounts.RegisterInput) { in.Email = "a@example.com, b@example.com" }, []string{"email"}},
		{"email too long", func(in *accounts.RegisterInput) {
			in.Email = strings.Repeat("a", 64) + "@" + strings.Repeat("b", 186) + ".com"
		}, []string{"email"}},
		{"password nine characters", func(in *accounts.RegisterInput) { in.Password = "123456789" }, []string{"password"}},
		{"password nine runes in more bytes", func(in *accounts.RegisterInput) { in.Password = "ééééééééé" }, []string{"password"}},
		{"password ten runes", func(in *accounts.RegisterInput) { in.Password = "éééééééééé" }, nil},
		{"password 256 characters", func(in *accounts.RegisterInput) { in.Password = strings.Repeat("p", 256) }, nil},
		{"password 257 characters", func(in *accounts.RegisterInput) { in.Password = strings.Repeat("p", 257) }, []string{"password"}},
		{"password is username", func(in *accounts.RegisterInput) { in.Username, in.Password = "longusername", "longusername" }, []string{"password"}},
		{"password is username other case", func(in *accounts.RegisterInput) { in.Username, in.Password = "LongUserName", "longUSERname" }, []string{"password"}},
		{"no age confirmation", func(in *accounts.RegisterInput) { in.AgeConfirmed = false }, []string{"age_confirmed"}},
		{"unknown role", func(in *accounts.RegisterInput) { in.Role = "root" }, []string{"role"}},
		{"admin role", func(in *accounts.RegisterInput) { in.Role = models.RoleAdmin }, nil},
		{"everything wrong", func(in *accounts.RegisterInput) { *in = accounts.RegisterInput{} }, []string{"age_confirmed", "email", "password", "username"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := valid
			tt.change(&in)
			err := in.Validate()
			if tt.wantFields == nil {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			var ve *models.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Validate() = %v (%T), want *models.ValidationError", err, err)
			}
			if got := sortedKeys(ve.Fields); !slices.Equal(got, tt.wantFields) {
				t.Errorf("fields = %q, want %q (%v)", got, tt.wantFields, err)
			}
			for f, why := range ve.Fields {
				if why == "" {
					t.Errorf("field %s has no reason", f)
				}
			}
		})
	}
}

func TestRegister(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		clk := newClock()
		svc := accounts.New(db, clk.Now)

		u := mustRegister(t, svc, " Alice ", "Alice@Example.com")
		if u.ID == 0 {
			t.Fatal("Register returned a user without an id")
		}
		if u.Username != "Alice" || u.Role != models.RoleMember {
			t.Errorf("user = %q role %q, want Alice member", u.Username, u.Role)
		}
		if !u.CreatedAt.Equal(clk.Now()) {
			t.Errorf("created_at = %v, want the service clock %v", u.CreatedAt, clk.Now())
		}

		var hash string
		if err := db.NewSelect().TableExpr("users").Column("password_hash").Where("id = ?", u.ID).Scan(ctx, &hash); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(hash, argonPrefix) {
			t.Errorf("stored password_hash = %q, want prefix %q", hash, argonPrefix)
		}
		if !accounts.CheckPassword(testPassword, hash) {
			t.Error("stored hash does not verify the password")
		}

		var prefs models.EmailPreferences
		if err := db.NewSelect().Model(&prefs).Where("user_id = ?", u.ID).Scan(ctx); err != nil {
			t.Fatalf("email preferences not created: %v", err)
		}
		if prefs.OptedIn {
			t.Error("new member is opted in to email, want opted out until they choose")
		}
		if len(prefs.UnsubscribeToken) != 43 {
			t.Errorf("unsubscribe token = %q, want a 43-character random token", prefs.UnsubscribeToken)
		}

		dupes := []struct {
			name, username, email, wantField string
		}{
			{"same username other case", "ALICE", "other@example.com", "username"},
			{"same email other case", "alice2", "alice@EXAMPLE.com", "email"},
		}
		for _, d := range dupes {
			_, err := svc.Register(ctx, accounts.RegisterInput{Username: d.username, Email: d.email, Password: testPassword, AgeConfirmed: true})
			var ce *models.ConflictError
			if !errors.As(err, &ce) {
				t.Errorf("%s: Register error = %v, want *models.ConflictError", d.name, err)
				continue
			}
			if ce.Field != d.wantField {
				t.Errorf("%s: conflict field = %q, want %q", d.name, ce.Field, d.wantField)
			}
		}

		// Invalid input is refused before anything is written.
		if _, err := svc.Register(ctx, accounts.RegisterInput{Username: "x", Email: "bad"}); err == nil {
			t.Error("Register accepted invalid input")
		}
		if n, _ := db.NewSelect().TableExpr("users").Count(ctx); n != 1 {
			t.Errorf("users = %d, want 1", n)
		}
	})
}

func TestRegisterWithRollsBack(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		svc := accounts.New(db, nil)
		boom := errors.New("boom")
		_, err := svc.RegisterWith(ctx, accounts.RegisterInput{Username: "rolled", Email: "r@example.com", Password: testPassword, AgeConfirmed: true},
			func(ctx context.Context, tx bun.Tx, u *models.User) error {
				if u.ID == 0 {
					t.Error("also got a user without an id")
				}
				return boom
			})
		if !errors.Is(err, boom) {
			t.Fatalf("RegisterWith error = %v, want the error of also", err)
		}
		for _, table := range []string{"users", "email_preferences"} {
			if n, err := db.NewSelect().TableExpr(table).Count(ctx); err != nil || n != 0 {
				t.Errorf("%s rows = %d (%v), want 0 after a failed RegisterWith", table, n, err)
			}
		}
	})
}

func TestAuthenticate(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		svc := accounts.New(db, nil)
		alice := mustRegister(t, svc, "alice", "alice@example.com")
		gone := mustRegister(t, svc, "gone", "gone@example.com")
		if _, err := db.NewUpdate().TableExpr("users").Set("deleted_at = ?", time.Now().UTC()).Where("id = ?", gone.ID).Exec(ctx); err != nil {
			t.Fatal(err)
		}

		tests := []struct {
			name, login, password string
			wantOK                bool
		}{
			{"username", "alice", testPassword, true},
			{"username other case", "ALICE", testPassword, true},
			{"email", "alice@example.com", testPassword, true},
			{"email other case", "Alice@Example.COM", testPassword, true},
			{"surrounding spaces", "  alice ", testPassword, true},
			{"wrong password", "alice", testPassword + "!", false},
			{"password other case", "alice", strings.ToUpper(testPassword), false},
			{"empty password", "alice", "", false},
			{"unknown username", "nobody", testPassword, false},
			{"unknown email", "nobody@example.com", testPassword, false},
			{"empty login", "", testPassword, false},
			{"erased account", "gone", testPassword, false},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				login, err := svc.FindLogin(ctx, tt.login)
				if err != nil {
					t.Fatal(err)
				}
				u, err := svc.Authenticate(login, tt.password)
				if tt.wantOK {
					if err != nil {
						t.Fatalf("Authenticate(%q) error = %v, want success", tt.login, err)
					}
					if login.Key != "user:alice" { // the backoff's key, however the account is typed
						t.Errorf("FindLogin(%q).Key = %q, want user:alice", tt.login, login.Key)
					}
					if u.ID != alice.ID {
						t.Errorf("Authenticate(%q) = user %d, want %d", tt.login, u.ID, alice.ID)
					}
					return
				}
				if !errors.Is(err, accounts.ErrBadCredentials) {
					t.Errorf("Authenticate(%q, %q) error = %v, want ErrBadCredentials", tt.login, tt.password, err)
				}
				if u != nil {
					t.Errorf("Authenticate(%q) returned user %v with an error", tt.login, u)
				}
				if strings.HasPrefix(tt.login, "nobody") && login.Key != "login:"+tt.login {
					t.Errorf("FindLogin(%q).Key = %q, want the login itself", tt.login, login.Key)
				}
			})
		}
	})
}

func TestSessions(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		clk := newClock()
		svc := accounts.New(db, clk.Now)
		u := mustRegister(t, svc, "sam", "sam@example.com")

		longUA := strings.Repeat("x", 400)
		token, sess, err := svc.StartSession(ctx, u.ID, "203.0.113.7", longUA)
		if err != nil {
			t.Fatal(err)
		}
		other, _, err := svc.StartSession(ctx, u.ID, "203.0.113.7", "ua")
		if err != nil {
			t.Fatal(err)
		}
		if token == other {
			t.Fatal("two sign-ins got the same session id")
		}

		var row models.Session
		if err := db.NewSelect().Model(&row).Where("id = ?", sess.ID).Scan(ctx); err != nil {
			t.Fatal(err)
		}
		checks := []struct {
			name      string
			got, want any
		}{
			{"token_hash", row.TokenHash, accounts.HashToken(token)},
			{"user_id", row.UserID, u.ID},
			{"ip", row.IP, "203.0.113.7"},
			{"user_agent length", len(row.UserAgent), 300},
			{"csrf_token length", len(row.CSRFToken), 43},
		}
		for _, c := range checks {
			if c.got != c.want {
				t.Errorf("session %s = %v, want %v", c.name, c.got, c.want)
			}
		}
		if want := clk.Now().Add(accounts.SessionTTL); !row.ExpiresAt.Equal(want) {
			t.Errorf("session expires_at = %v, want %v", row.ExpiresAt, want)
		}
		if row.TokenHash == token || row.CSRFToken == token {
			t.Error("the raw session id is stored in the sessions table")
		}

		got, gotSess, err := svc.SessionUser(ctx, token)
		if err != nil {
			t.Fatalf("SessionUser: %v", err)
		}
		if got.ID != u.ID || gotSess.ID != sess.ID {
			t.Errorf("SessionUser = user %d session %d, want %d and %d", got.ID, gotSess.ID, u.ID, sess.ID)
		}
		if _, _, err := svc.SessionUser(ctx, "not-a-session"); !models.IsNotFound(err) {
			t.Errorf("SessionUser(unknown) error = %v, want ErrNotFound", err)
		}
		if _, _, err := svc.SessionUser(ctx, row.TokenHash); !models.IsNotFound(err) {
			t.Errorf("SessionUser(stored hash) error = %v, want ErrNotFound: the hash must not work as a cookie", err)
		}

		// Activity after more than an hour slides the expiry forward.
		clk.Add(2 * time.Hour)
		if _, _, err := svc.SessionUser(ctx, token); err != nil {
			t.Fatalf("SessionUser after 2h: %v", err)
		}
		if err := db.NewSelect().Model(&row).Where("id = ?", sess.ID).Scan(ctx); err != nil {
			t.Fatal(err)
		}
		if want := clk.Now().Add(accounts.SessionTTL); !row.ExpiresAt.Equal(want) {
			t.Errorf("expires_at after activity = %v, want %v", row.ExpiresAt, want)
		}

		// An idle session ends after SessionTTL.
		clk.Add(accounts.SessionTTL + time.Second)
		if _, _, err := svc.SessionUser(ctx, token); !models.IsNotFound(err) {
			t.Errorf("SessionUser after the TTL error = %v, want ErrNotFound", err)
		}

		// Signing out ends exactly that session.
		clk = newClock()
		svc.Now = clk.Now
		fresh, _, err := svc.StartSession(ctx, u.ID, "", "")
		if err != nil {
			t.Fatal(err)
		}
		if err := svc.EndSession(ctx, fresh); err != nil {
			t.Fatal(err)
		}
		if _, _, err := svc.SessionUser(ctx, fresh); !models.IsNotFound(err) {
			t.Errorf("SessionUser after EndSession error = %v, want ErrNotFound", err)
		}
		if _, _, err := svc.SessionUser(ctx, other); err != nil {
			t.Errorf("the other session stopped working after one sign-out: %v", err)
		}

		// An erased member's sessions stop working.
		if _, err := db.NewUpdate().TableExpr("users").Set("deleted_at = ?", clk.Now()).Where("id = ?", u.ID).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		if _, _, err := svc.SessionUser(ctx, other); !models.IsNotFound(err) {
			t.Errorf("SessionUser of an erased member error = %v, want ErrNotFound", err)
		}
	})
}

func TestAPITokens(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		svc := accounts.New(db, nil)
		u := mustRegister(t, svc, "tina", "tina@example.com")

		token, err := svc.IssueToken(ctx, u.ID, "cli")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(token, "agora_") || len(token) != len("agora_")+43 {
			t.Errorf("token = %q, want agora_ and 43 random characters", token)
		}
		var row models.APIToken
		if err := db.NewSelect().Model(&row).Where("user_id = ?", u.ID).Scan(ctx); err != nil {
			t.Fatal(err)
		}
		if row.TokenHash != accounts.HashToken(token) {
			t.Errorf("stored token_hash = %q, want HashToken(token)", row.TokenHash)
		}
		if row.Name != "cli" {
			t.Errorf("name = %q, want cli", row.Name)
		}

		got, err := svc.TokenUser(ctx, token)
		if err != nil || got.ID != u.ID {
			t.Fatalf("TokenUser = %v, %v; want user %d", got, err, u.ID)
		}
		for _, bad := range []string{"", "agora_", "agora_nope", row.TokenHash} {
			if _, err := svc.TokenUser(ctx, bad); !models.IsNotFound(err) {
				t.Errorf("TokenUser(%q) error = %v, want ErrNotFound", bad, err)
			}
		}

		if err := svc.RevokeToken(ctx, token); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.TokenUser(ctx, token); !models.IsNotFound(err) {
			t.Errorf("TokenUser after RevokeToken error = %v, want ErrNotFound", err)
		}

		// Tokens of an erased member stop working.
		second, err := svc.IssueToken(ctx, u.ID, "second")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.NewUpdate().TableExpr("users").Set("deleted_at = ?", time.Now().UTC()).Where("id = ?", u.ID).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.TokenUser(ctx, second); !models.IsNotFound(err) {
			t.Errorf("TokenUser of an erased member error = %v, want ErrNotFound", err)
		}
	})
}
