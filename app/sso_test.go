package app_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/uptrace/bun"

	"agora/app"
	"agora/forum"
	"agora/internal/testdb"
	"agora/models"
	"agora/moderation"
)

const ssoSecret = "test-sso-secret-0123456789abcdef-xyz"

// ssoLink signs payload as the customer's product does and returns the /sso URL.
func ssoLink(payload any, secret, returnTo string) string {
	raw, _ := json.Marshal(payload)
	p := base64.StdEncoding.EncodeToString(raw)
	return ssoLinkRaw(p, sign(p, secret), returnTo)
}

func ssoLinkRaw(payload, signature, returnTo string) string {
	q := url.Values{"payload": {payload}, "signature": {signature}}
	if returnTo != "" {
		q.Set("return_to", returnTo)
	}
	return "/sso?" + q.Encode()
}

func sign(payload, secret string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(payload))
	return hex.EncodeToString(mac.Sum(nil))
}

// flipLast changes a hex signature's last digit, so it no longer matches.
func flipLast(sig string) string {
	last := "1"
	if strings.HasSuffix(sig, "1") {
		last = "2"
	}
	return sig[:len(sig)-1] + last
}

func ssoApp(t *testing.T, db *bun.DB, now *time.Time) (*fiber.App, *lockedBuffer) {
	t.Helper()
	logs := &lockedBuffer{}
	a := newApp(t, db, func(d *app.Deps) {
		d.Config.SSOSecret = ssoSecret
		d.Now = func() time.Time { return *now }
		d.Log = slog.New(slog.NewTextHandler(logs, nil))
	})
	return a, logs
}

func TestSSOSignsInAndKeepsTheIdentity(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		now := time.Now().UTC().Truncate(time.Second)
		a, _ := ssoApp(t, db, &now)
		ctx := context.Background()
		payload := map[string]any{"user_id": "cust-42", "email": "lee@acme.example", "name": "Lee Park",
			"created_at": "2024-03-01T10:00:00Z", "company": map[string]any{"id": "acme", "name": "Acme Corp", "plan": "enterprise"},
			"attributes": map[string]any{"seats": 40}, "nonce": "n-1", "expires_at": now.Add(5 * time.Minute).Unix()}
		res, body := call(t, a, httpGet(ssoLink(payload, ssoSecret, "/badges")))
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/badges" {
			t.Fatalf("sso: %d to %q, want 303 to /badges: %s", res.StatusCode, res.Header.Get("Location"), body)
		}
		first := cookieNamed(res, "agora_session")
		if got := meOf(t, a, first); got != "Lee_Park" {
			t.Fatalf("signed in as %q, want Lee_Park", got)
		}

		// Same user_id, new email and a fresh nonce: the same member, email updated.
		payload["email"], payload["nonce"] = "lee.park@acme.example", "n-2"
		res, _ = call(t, a, httpGet(ssoLink(payload, ssoSecret, "")))
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/" {
			t.Fatalf("second sso: %d to %q", res.StatusCode, res.Header.Get("Location"))
		}
		if second := cookieNamed(res, "agora_session"); second == nil || second.Value == first.Value {
			t.Fatal("the second SSO sign-in kept the session id")
		}
		u, err := models.UserByUsername(ctx, db, "Lee_Park")
		if err != nil || u.Email != "lee.park@acme.example" || rowCount(t, db, "users") != 1 {
			t.Fatalf("member %+v, %v, users %d: want one member with the new email", u, err, rowCount(t, db, "users"))
		}

		// An email another member holds never selects or takes over that member.
		victim := mustTPUser(t, db, "victim", models.RoleMember)
		payload = map[string]any{"user_id": "cust-99", "email": victim.Email, "name": "victim", "nonce": "n-3",
			"expires_at": now.Add(time.Minute).Unix()}
		res, _ = call(t, a, httpGet(ssoLink(payload, ssoSecret, "")))
		if got := meOf(t, a, cookieNamed(res, "agora_session")); got == "victim" {
			t.Fatal("an SSO payload with another member's email signed in as that member")
		}
		v, _ := models.UserByID(ctx, db, victim.ID)
		if v.Email != victim.Email {
			t.Errorf("the victim's email changed to %q", v.Email)
		}

		// Staff see the customer on the member's profile and in the dossier API; members do not.
		mod := mustTPUser(t, db, "mod", models.RoleModerator)
		_, page := mod.get(t, a, "/u/Lee_Park")
		tpWantContains(t, page, "Customer of <strong>Acme Corp</strong>", "enterprise", "seats")
		_, api := mod.get(t, a, "/api/v1/mod/users/"+strconv.FormatInt(u.ID, 10))
		if !strings.Contains(api, `"customer":{"company":{"id":"acme"`) {
			t.Errorf("dossier API lacks the customer: %s", api)
		}
		// And in the flag queue, beside the flagged post.
		cat := mustTPCategory(t, db, "Billing", "billing")
		_, post, err := forum.New(db, nil).CreateTopic(ctx, u, forum.TopicInput{CategoryID: cat.ID,
			Title: "Invoices show the wrong VAT number", Body: "Since the update every invoice shows last year's VAT number."})
		if err != nil {
			t.Fatal(err)
		}
		member := mustTPUser(t, db, "someone", models.RoleMember)
		if _, err := moderation.New(db, nil).Flag(ctx, member.User, post.ID, "spam", ""); err != nil {
			t.Fatal(err)
		}
		_, queue := mod.get(t, a, "/api/v1/mod/queue")
		if !strings.Contains(queue, `"author_customer":{"company":{"id":"acme","name":"Acme Corp"`) {
			t.Errorf("the queue lacks the author's customer: %s", queue)
		}
		_, queuePage := mod.get(t, a, "/mod")
		tpWantContains(t, queuePage, "Customer of <strong>Acme Corp</strong>")
		_, page = member.get(t, a, "/u/Lee_Park")
		_, pub := call(t, a, jsonReq(http.MethodGet, "/api/v1/users/Lee_Park", nil, ""))
		if strings.Contains(page, "Acme") || strings.Contains(pub, "Acme") || strings.Contains(pub, "enterprise") {
			t.Error("a member or the public API sees the customer's company")
		}
	})
}

func TestSSORefusals(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		now := time.Now().UTC().Truncate(time.Second)
		a, logs := ssoApp(t, db, &now)
		good := func(nonce string) map[string]any {
			return map[string]any{"user_id": "u-1", "email": "x@example.com", "nonce": nonce, "expires_at": now.Add(time.Minute).Unix()}
		}
		raw, _ := json.Marshal(good("tampered"))
		tampered := base64.StdEncoding.EncodeToString(raw)
		without := func(key string) map[string]any { p := good("n-" + key); delete(p, key); return p }
		// The replayed nonce is used once first.
		if res, _ := call(t, a, httpGet(ssoLink(good("once"), ssoSecret, ""))); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("first use: %d", res.StatusCode)
		}
		users := rowCount(t, db, "users")
		tests := []struct {
			name   string
			link   string
			status int
			code   string
		}{
			{"tampered signature", ssoLinkRaw(tampered, flipLast(sign(tampered, ssoSecret)), ""), 403, "sso_bad_signature"},
			{"wrong secret", ssoLink(good("w"), "another-secret-another-secret-xx", ""), 403, "sso_bad_signature"},
			{"signature not hex", ssoLinkRaw(tampered, "zz", ""), 400, "sso_bad_signature_format"},
			{"missing user_id", ssoLink(without("user_id"), ssoSecret, ""), 400, "sso_missing_user_id"},
			{"missing nonce", ssoLink(without("nonce"), ssoSecret, ""), 400, "sso_missing_nonce"},
			{"missing expires_at", ssoLink(without("expires_at"), ssoSecret, ""), 400, "sso_missing_expires_at"},
			{"malformed base64", ssoLinkRaw("%%%not-base64!", sign("%%%not-base64!", ssoSecret), ""), 400, "sso_bad_base64"},
			{"malformed JSON", ssoLinkRaw(base64.StdEncoding.EncodeToString([]byte("{nope")), sign(base64.StdEncoding.EncodeToString([]byte("{nope")), ssoSecret), ""), 400, "sso_bad_json"},
			{"expired", ssoLink(map[string]any{"user_id": "u-1", "nonce": "e", "expires_at": now.Add(-time.Second).Unix()}, ssoSecret, ""), 403, "sso_expired"},
			{"expiry too far", ssoLink(map[string]any{"user_id": "u-1", "nonce": "f", "expires_at": now.Add(11 * time.Minute).Unix()}, ssoSecret, ""), 400, "sso_expiry_too_far"},
			{"replayed nonce", ssoLink(good("once"), ssoSecret, ""), 403, "sso_replayed"},
			{"return_to another host", ssoLink(good("r"), ssoSecret, "https://evil.example/"), 400, "sso_bad_return_to"},
			{"return_to scheme-relative", ssoLink(good("r2"), ssoSecret, "//evil.example/x"), 400, "sso_bad_return_to"},
			{"no payload", "/sso", 400, "sso_missing"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				res, body := call(t, a, httpGet(tt.link))
				if res.StatusCode != tt.status {
					t.Fatalf("status %d, want %d: %s", res.StatusCode, tt.status, body)
				}
				if ck := cookieNamed(res, "agora_session"); ck != nil && ck.Value != "" {
					t.Error("a refused SSO link set a session")
				}
				if n := rowCount(t, db, "users"); n != users {
					t.Errorf("users = %d, want %d: nothing created", n, users)
				}
				if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "code="+tt.code) {
					t.Errorf("no warning with code=%s in the log:\n%s", tt.code, logs)
				}
			})
		}
		if l := logs.String(); strings.Contains(l, ssoSecret) || strings.Contains(l, tampered) {
			t.Error("the log shows the secret or a payload")
		}
		// The refused replay left the first sign-in's member unchanged.
		if u, err := models.UserByLogin(context.Background(), db, "x@example.com"); err != nil || u.Username != "member" { // "x" is too short for a username
			t.Errorf("member of u-1: %+v, %v", u, err)
		}
	})
}

func TestSSOOffWithoutSecret(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		a := newApp(t, db)
		res, body := call(t, a, httpGet(ssoLink(map[string]any{"user_id": "u"}, ssoSecret, "")))
		if res.StatusCode != http.StatusNotFound || !strings.Contains(body, "not set up") {
			t.Fatalf("sso without a secret: %d %s", res.StatusCode, body)
		}
	})
}
