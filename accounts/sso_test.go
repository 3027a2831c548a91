package accounts_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/uptrace/bun"

	"agora/accounts"
	"agora/internal/testdb"
	"agora/models"
)

const secret = "unit-test-sso-secret-0123456789abcdef"

func signed(json string) (string, string) {
	p := base64.StdEncoding.EncodeToString([]byte(json))
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(p))
	return p, hex.EncodeToString(mac.Sum(nil))
}

func TestParseSSOCreatedAt(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	for _, tt := range []struct{ created, want string }{
		{`1700000000`, "2023-11-14T22:13:20Z"},
		{`"2024-03-01T10:00:00+02:00"`, "2024-03-01T08:00:00Z"},
		{`"2024-03-01"`, "2024-03-01T00:00:00Z"},
	} {
		p, sig := signed(`{"user_id":"u","nonce":"n","expires_at":1800000060,"created_at":` + tt.created + `}`)
		got, err := accounts.ParseSSO(p, sig, secret, now)
		if err != nil {
			t.Fatalf("created_at %s: %v", tt.created, err)
		}
		if j, _ := got.Joined(); j.Format(time.RFC3339) != tt.want {
			t.Errorf("created_at %s: joined %s, want %s", tt.created, j.Format(time.RFC3339), tt.want)
		}
	}
	p, sig := signed(`{"user_id":"u","nonce":"n","expires_at":1800000060,"created_at":"last tuesday"}`)
	var r *accounts.Refused
	if _, err := accounts.ParseSSO(p, sig, secret, now); !errors.As(err, &r) || r.Code != "sso_bad_created_at" {
		t.Errorf("a bad created_at: %v, want sso_bad_created_at", err)
	}
}

// TestSSOSignInCleansCompany: the company name the product sends is stored
// like a display name (printable, at most 60 characters): PostgreSQL refuses
// a NUL in a text column, and nothing bounded it before.
func TestSSOSignInCleansCompany(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		now := time.Unix(1_800_000_000, 0)
		svc := accounts.New(db, func() time.Time { return now })
		for i, company := range []string{`"Acme\u0000 Corp\n"`, `{"deep":{"x":"` + strings.Repeat("y", 500) + `"}}`} {
			p, sig := signed(fmt.Sprintf(`{"user_id":"u-%d","nonce":"n-%d","expires_at":1800000060,"company":{"name":%s}}`, i, i, company))
			pl, err := accounts.ParseSSO(p, sig, secret, now)
			if err != nil {
				t.Fatal(err)
			}
			u, err := svc.SSOSignIn(context.Background(), pl)
			if err != nil {
				t.Fatalf("company %.40s: %v", company, err)
			}
			if i == 0 && u.Company != "Acme Corp" {
				t.Errorf("company = %q, want %q", u.Company, "Acme Corp")
			}
			if n := utf8.RuneCountInString(u.Company); n > 60 {
				t.Errorf("company of %d characters stored", n)
			}
		}
	})
}

// FuzzParseSSO: whatever arrives, ParseSSO returns a payload or a *Refused,
// never panics, and accepts nothing that is not signed with the secret. To
// get past the signature, a fuzzed JSON body is also signed here (signBody):
// what it accepts then has the documented fields and expiry, and signing the
// member in stores only text PostgreSQL takes (valid UTF-8, no NUL), within
// the columns' bounds, or is refused with a *Refused.
func FuzzParseSSO(f *testing.F) {
	now := time.Unix(1_800_000_000, 0)
	p, sig := signed(`{"user_id":"u-1","nonce":"n","expires_at":1800000060,"company":{"name":"Acme"}}`)
	f.Add([]byte(p), sig, false)
	f.Add([]byte(""), "", false)
	f.Add([]byte("e30="), "00", false)
	f.Add([]byte(p), sig[:10], false)
	f.Add([]byte(p), strings.ToUpper(sig), false)
	for _, body := range []string{
		`{"user_id":"u-1","nonce":"n","expires_at":1800000060,"email":"a@example.com","name":"Ana","created_at":1700000000,"company":{"name":"Acme","id":7},"attributes":{"plan":"pro"}}`,
		`{"user_id":"u-2","nonce":"n2","expires_at":1800000060,"created_at":"2024-03-01T10:00:00+02:00","company":{"id":12345678901234567890123}}`,
		`{"user_id":"u-3","nonce":"n3","expires_at":1800000060,"name":"a\u0000b","email":"x\u0000@example.com"}`,
		`{"user_id":"u-4","nonce":"n4","expires_at":1800000060,"name":"` + "\xff\xfe" + `","company":{"name":"\u0000<script>"}}`,
		`{"user_id":"u-5","nonce":"n5","expires_at":9223372036854775807}`,
		`{"user_id":"u-6","nonce":"n6","expires_at":1.8e9,"created_at":1e20}`,
		`{"user_id":"u-7","nonce":"n7","expires_at":1800000060,"created_at":"9999-12-31T23:59:59Z"} {}`,
		`{"user_id":5,"nonce":[],"expires_at":"soon"}`,
		`{"user_id":"u-8","nonce":"n8","expires_at":1800000060,"company":` + strings.Repeat(`{"a":`, 2000) + `1` + strings.Repeat(`}`, 2000) + `}`,
		`{"user_id":"u-9","nonce":"n9","expires_at":1800000060,"name":"` + strings.Repeat("Ä", 3000) + `"}`,
		`{"user_id":"u-1","user_id":"u-10","nonce":"n10","expires_at":1800000060,"email":" A@Example.COM "}`,
	} {
		f.Add([]byte(body), "", true)
	}

	db := testdb.Open(f, "sqlite")
	svc := accounts.New(db, func() time.Time { return now })
	f.Fuzz(func(t *testing.T, data []byte, signature string, signBody bool) {
		payload := string(data)
		if signBody {
			payload, signature = signed(payload)
		}
		got, err := accounts.ParseSSO(payload, signature, secret, now)
		if err != nil {
			wantRefused(t, err)
			return
		}
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write([]byte(payload))
		switch exp := time.Unix(got.ExpiresAt, 0); {
		case hex.EncodeToString(mac.Sum(nil)) != signature:
			t.Fatal("accepted a payload not signed with the secret")
		case !ssoID.MatchString(got.UserID) || !ssoID.MatchString(got.Nonce):
			t.Fatalf("accepted user_id %q, nonce %q", got.UserID, got.Nonce)
		case !exp.After(now) || exp.After(now.Add(accounts.SSOMaxAhead)):
			t.Fatalf("accepted expires_at %d for now %d", got.ExpiresAt, now.Unix())
		case !storable(got.Email) || !storable(got.Name):
			t.Fatalf("accepted email %q, name %q", got.Email, got.Name)
		}
		if _, err := got.Joined(); err != nil {
			t.Fatalf("accepted created_at %s: %v", got.CreatedAt, err)
		}
		u, err := svc.SSOSignIn(context.Background(), got)
		if err != nil {
			wantRefused(t, err)
			return
		}
		for name, v := range map[string]string{"username": u.Username, "email": u.Email, "display_name": u.DisplayName, "company": u.Company} {
			if !storable(v) || utf8.RuneCountInString(v) > 254 {
				t.Fatalf("signed in with %s %q", name, v)
			}
		}
	})
}

var ssoID = regexp.MustCompile(`^[\x21-\x7e]{1,200}$`)

// storable is text PostgreSQL keeps in a text column.
func storable(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }

func wantRefused(t *testing.T, err error) {
	t.Helper()
	var r *accounts.Refused
	if !errors.As(err, &r) || r.Code == "" || r.Message == "" {
		t.Fatalf("error %v is not a *Refused with a code and message", err)
	}
}

func TestPurgeExpiredSignInState(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
		svc := accounts.New(db, func() time.Time { return now })
		if err := svc.BeginFlightWith(ctx, "old-token", "oidc", models.AuthSignIn, nil, "/", "{}"); err != nil {
			t.Fatal(err)
		}
		if err := models.UseNonce(ctx, db, "old", now.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if err := models.UseNonce(ctx, db, "old", now.Add(time.Minute)); err == nil {
			t.Fatal("a nonce was accepted twice")
		}
		now = now.Add(accounts.FlightTTL + time.Second)
		if err := svc.BeginFlightWith(ctx, "new-token", "oidc", models.AuthSignIn, nil, "/", "{}"); err != nil {
			t.Fatal(err)
		}
		if err := models.UseNonce(ctx, db, "new", now.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.TakeFlight(ctx, "old-token"); err == nil {
			t.Error("an expired flight was taken")
		}
		if _, err := svc.PurgeExpired(ctx); err != nil {
			t.Fatal(err)
		}
		for table, want := range map[string]int64{"auth_states": 1, "sso_nonces": 1} {
			if n, err := db.NewSelect().TableExpr(table).Count(ctx); err != nil || n != want {
				t.Errorf("%s: %d rows (%v), want %d", table, n, err, want)
			}
		}
		if _, err := svc.TakeFlight(ctx, "new-token"); err != nil {
			t.Errorf("the live flight: %v", err)
		}
		if _, err := svc.TakeFlight(ctx, "new-token"); err == nil {
			t.Error("a flight was taken twice")
		}
	})
}
