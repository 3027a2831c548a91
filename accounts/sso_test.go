package accounts_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"testing"
	"time"

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

// FuzzParseSSO: whatever arrives, ParseSSO returns a payload or a *Refused, never panics,
// and accepts nothing that is not signed with the secret.
func FuzzParseSSO(f *testing.F) {
	p, sig := signed(`{"user_id":"u-1","nonce":"n","expires_at":1800000060,"company":{"name":"Acme"}}`)
	f.Add(p, sig)
	f.Add("", "")
	f.Add("e30=", "00")
	f.Add(p, sig[:10])
	now := time.Unix(1_800_000_000, 0)
	f.Fuzz(func(t *testing.T, payload, signature string) {
		got, err := accounts.ParseSSO(payload, signature, secret, now)
		var r *accounts.Refused
		switch {
		case err == nil && got.UserID == "":
			t.Fatal("accepted a payload without user_id")
		case err != nil && !errors.As(err, &r):
			t.Fatalf("error %v is not a *Refused", err)
		case err == nil:
			mac := hmac.New(sha256.New, []byte(secret))
			mac.Write([]byte(payload))
			if hex.EncodeToString(mac.Sum(nil)) != signature {
				t.Fatal("accepted a payload not signed with the secret")
			}
		}
	})
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
