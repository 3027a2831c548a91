package accounts

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/uptrace/bun"

	"agora/models"
)

// ProviderSSO names the customer product's signed single sign-on in identities.
const ProviderSSO = models.ProviderSSO

// SSOMaxAhead is how far ahead a payload may expire: a signed link is good for minutes, not days.
const SSOMaxAhead = 10 * time.Minute

// ssoMaxPayload bounds what is decoded (base64 of a few KB of JSON).
const ssoMaxPayload = 16 << 10

// SSOPayload is what the customer's product signs for one of its signed-in users.
type SSOPayload struct {
	UserID     string          `json:"user_id"`
	Email      string          `json:"email"`
	Name       string          `json:"name"`
	CreatedAt  json.RawMessage `json:"created_at"`
	Company    map[string]any  `json:"company"`
	Attributes map[string]any  `json:"attributes"`
	Nonce      string          `json:"nonce"`
	ExpiresAt  int64           `json:"expires_at"`
}

// ParseSSO checks signature (lowercase hex HMAC-SHA256 of the payload
// string with secret, compared in constant time) before reading anything,
// then decodes the payload (standard base64 of a JSON object) and checks
// its fields and expiry. Errors: *Refused.
func ParseSSO(payload, signature, secret string, now time.Time) (*SSOPayload, error) {
	if payload == "" || signature == "" {
		return nil, malformed("sso_missing", "the sign-in link is incomplete: it needs a payload and a signature")
	}
	if len(payload) > ssoMaxPayload {
		return nil, malformed("sso_too_large", "the sign-in payload is too large")
	}
	sig, err := hex.DecodeString(signature)
	if err != nil || len(sig) != sha256.Size || signature != strings.ToLower(signature) {
		return nil, malformed("sso_bad_signature_format", "the signature must be the lowercase hex HMAC-SHA256 of the payload")
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(payload))
	if !hmac.Equal(mac.Sum(nil), sig) {
		return nil, untrusted("sso_bad_signature", "the sign-in link's signature does not match; it was altered or signed with another secret")
	}
	raw, err := base64.StdEncoding.DecodeString(payload)
	if err != nil {
		return nil, malformed("sso_bad_base64", "the payload is not standard base64")
	}
	var p SSOPayload
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&p); err != nil || dec.More() {
		return nil, malformed("sso_bad_json", "the payload is not a JSON object with the documented fields")
	}
	if err := p.validate(now); err != nil {
		return nil, err
	}
	return &p, nil
}

var ssoIDRE = regexp.MustCompile(`^[\x21-\x7e]{1,200}$`) // printable ASCII, no spaces

func (p *SSOPayload) validate(now time.Time) error {
	switch {
	case p.UserID == "":
		return malformed("sso_missing_user_id", "the payload has no user_id")
	case !ssoIDRE.MatchString(p.UserID):
		return malformed("sso_bad_user_id", "user_id must be 1 to 200 printable ASCII characters")
	case p.Nonce == "":
		return malformed("sso_missing_nonce", "the payload has no nonce")
	case !ssoIDRE.MatchString(p.Nonce):
		return malformed("sso_bad_nonce", "nonce must be 1 to 200 printable ASCII characters")
	case p.ExpiresAt == 0:
		return malformed("sso_missing_expires_at", "the payload has no expires_at")
	case !utf8.ValidString(p.Email+p.Name) || strings.ContainsRune(p.Email+p.Name, 0):
		return malformed("sso_bad_text", "email and name must be valid UTF-8 text")
	}
	exp := time.Unix(p.ExpiresAt, 0)
	if !exp.After(now) {
		return untrusted("sso_expired", "the sign-in link has expired; go back to the product and follow the link again")
	}
	if exp.After(now.Add(SSOMaxAhead)) {
		return malformed("sso_expiry_too_far", "expires_at may be at most 10 minutes ahead")
	}
	if _, err := p.Joined(); err != nil {
		return err
	}
	return nil
}

// Joined is created_at (Unix seconds or ISO 8601), zero when absent.
func (p *SSOPayload) Joined() (time.Time, error) {
	raw := strings.TrimSpace(string(p.CreatedAt))
	if raw == "" || raw == "null" {
		return time.Time{}, nil
	}
	if n, err := strconv.ParseInt(raw, 10, 64); err == nil && n > 0 && n < 1<<40 {
		return time.Unix(n, 0).UTC(), nil
	}
	var s string
	if json.Unmarshal(p.CreatedAt, &s) == nil {
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
			if t, err := time.Parse(layout, s); err == nil {
				return t.UTC(), nil
			}
		}
	}
	return time.Time{}, malformed("sso_bad_created_at", "created_at must be Unix seconds or an ISO 8601 date")
}

// SSOSignIn signs in the member whose SSO identity is p.UserID, creating
// them the first time. The user_id is the identity for ever: a changed
// email is updated, and an email never selects or takes over a member.
// The nonce is recorded first, so a replay fails even when racing.
// Errors: *Refused (replayed nonce, erased member).
func (s *Service) SSOSignIn(ctx context.Context, p *SSOPayload) (*models.User, error) {
	now := s.Now().UTC()
	joined, _ := p.Joined()
	prof := models.Customer{Company: p.Company, Attributes: p.Attributes}
	if !joined.IsZero() {
		prof.CreatedAt = &joined
	}
	profile, err := json.Marshal(prof)
	if err != nil {
		return nil, malformed("sso_bad_json", "the payload's company or attributes cannot be stored")
	}
	email := cleanEmail(p.Email)
	// Kept like a display name: the product may send any JSON value, and a
	// NUL in it would break the member's insert (a 500, not a refusal).
	company := cleanName(prof.CompanyName())
	var u *models.User
	err = s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := models.UseNonce(ctx, tx, p.Nonce, time.Unix(p.ExpiresAt, 0)); err != nil {
			return untrusted("sso_replayed", "this sign-in link was already used; go back to the product and follow the link again")
		}
		id, err := models.IdentityOf(ctx, tx, ProviderSSO, p.UserID)
		switch {
		case err == nil:
			if u, err = models.UserByID(ctx, tx, id.UserID); err != nil {
				return err
			}
			if u.DeletedAt != nil {
				return untrusted("account_erased", "this account was deleted")
			}
			id.Email, id.Profile = email, string(profile)
			if err := models.UseIdentity(ctx, tx, id, now); err != nil {
				return err
			}
			return s.refreshFromSSO(ctx, tx, u, email, p.Name, company)
		case !models.IsNotFound(err):
			return err
		}
		u, err = s.createSSO(ctx, tx, externalMember{Email: email, Name: p.Name, Company: company, Verified: true}, p.UserID, now)
		if err != nil {
			return err
		}
		return models.CreateIdentity(ctx, tx, &models.Identity{UserID: u.ID, Provider: ProviderSSO, ProviderUserID: p.UserID,
			Email: email, Profile: string(profile), CreatedAt: now, LastUsedAt: &now})
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// refreshFromSSO keeps the member's email, name and company what the product says now.
func (s *Service) refreshFromSSO(ctx context.Context, tx bun.Tx, u *models.User, email, name, company string) error {
	changed := false
	if email != "" && !strings.EqualFold(email, u.Email) {
		free, err := models.EmailFree(ctx, tx, email, u.ID)
		if err != nil {
			return err
		}
		if free {
			u.Email, changed = email, true
		}
	}
	if n := cleanName(name); n != "" {
		u.DisplayName = n
	}
	u.Company = company
	now := s.Now().UTC()
	if err := models.UpdateExternalProfile(ctx, tx, u, now); err != nil || !changed {
		return err
	}
	// The product vouches for the new address: verified, and its bounce (if any) was the old one's.
	_, err := models.VerifyEmail(ctx, tx, u.ID, u.Email, now)
	return err
}
