package accounts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/uptrace/bun"

	"agora/models"
)

// External is who a provider (OAuth, OpenID Connect) says signed in.
type External struct {
	Provider      string `json:"provider"`
	Subject       string `json:"subject"` // the provider's user id: with Provider, the identity for ever
	Email         string `json:"email,omitempty"`
	EmailVerified bool   `json:"email_verified,omitempty"` // only then may it offer to link an existing member
	Username      string `json:"username,omitempty"`
	Name          string `json:"name,omitempty"`
}

// FlightTTL is how long a sign-in may stay at the provider; SignUpTTL how
// long a new member may take to pick a username.
const (
	FlightTTL = 10 * time.Minute
	SignUpTTL = 30 * time.Minute
)

// BeginFlightWith records a sign-in leaving for provider under token
// (purpose models.AuthSignIn, or models.AuthLink by member userID) with the
// provider's session data. The token goes into the browser's cookie and,
// as the state parameter, through the provider.
func (s *Service) BeginFlightWith(ctx context.Context, token, provider, purpose string, userID *int64, next, data string) error {
	_, err := s.storeState(ctx, token, provider, purpose, userID, next, data, FlightTTL)
	return err
}

func (s *Service) storeState(ctx context.Context, token, provider, purpose string, userID *int64, next, data string, ttl time.Duration) (string, error) {
	now := s.Now().UTC()
	st := &models.AuthState{TokenHash: HashToken(token), Provider: provider, Purpose: purpose, UserID: userID,
		Data: data, Next: next, CreatedAt: now, ExpiresAt: now.Add(ttl)}
	if err := models.CreateAuthState(ctx, s.db, st); err != nil {
		return "", err
	}
	return token, nil
}

// TakeFlight returns the sign-in in flight for the cookie's token and
// forgets it, so a callback works once. Errors: *Refused (unknown or expired).
func (s *Service) TakeFlight(ctx context.Context, token string) (*models.AuthState, error) {
	st, err := models.TakeAuthState(ctx, s.db, HashToken(token), s.Now().UTC())
	if models.IsNotFound(err) || (err == nil && st.Purpose == models.AuthSignUp) {
		return nil, untrusted("oauth_state_unknown", "this sign-in has expired or was already used; start again")
	}
	return st, err
}

// ExternalSignIn returns the member linked to ext and records the sign-in,
// or ErrNotFound when no member is: an identity is found by provider and
// subject only, never by email.
func (s *Service) ExternalSignIn(ctx context.Context, ext External) (*models.User, error) {
	id, err := models.IdentityOf(ctx, s.db, ext.Provider, ext.Subject)
	if err != nil {
		return nil, err
	}
	u, err := models.UserByID(ctx, s.db, id.UserID)
	if err != nil {
		return nil, err
	}
	if u.DeletedAt != nil {
		return nil, untrusted("account_erased", "this account was deleted")
	}
	id.Email = cleanEmail(ext.Email)
	if err := models.UseIdentity(ctx, s.db, id, s.Now().UTC()); err != nil {
		return nil, err
	}
	return u, nil
}

// LinkExternal links ext to member userID. Errors: *models.ConflictError
// (the account is another member's, or the member has that provider already).
func (s *Service) LinkExternal(ctx context.Context, userID int64, ext External) error {
	return s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		return s.link(ctx, tx, userID, ext)
	})
}

func (s *Service) link(ctx context.Context, tx bun.IDB, userID int64, ext External) error {
	if err := models.LockUsers(ctx, tx, userID); err != nil {
		return err
	}
	ids, err := models.IdentitiesOf(ctx, tx, userID)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if id.Provider == ext.Provider && id.ProviderUserID != ext.Subject {
			return &models.ConflictError{Field: "provider", Message: "another account of that provider is linked already; unlink it first"}
		}
	}
	now := s.Now().UTC()
	return models.CreateIdentity(ctx, tx, &models.Identity{UserID: userID, Provider: ext.Provider, ProviderUserID: ext.Subject,
		Email: cleanEmail(ext.Email), CreatedAt: now, LastUsedAt: &now})
}

// Identities returns a member's linked accounts, oldest first.
func (s *Service) Identities(ctx context.Context, userID int64) ([]models.Identity, error) {
	return models.IdentitiesOf(ctx, s.db, userID)
}

// Unlink removes one of u's identities, unless it is the last way u can
// sign in. Errors: ErrNotFound, *models.ConflictError.
func (s *Service) Unlink(ctx context.Context, u *models.User, identityID int64) error {
	return s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		// The member's row lock makes two unlinks at once take turns.
		if err := models.LockUsers(ctx, tx, u.ID); err != nil {
			return err
		}
		fresh, err := models.UserByID(ctx, tx, u.ID)
		if err != nil {
			return err
		}
		ids, err := models.IdentitiesOf(ctx, tx, u.ID)
		if err != nil {
			return err
		}
		if fresh.PasswordHash == "" && len(ids) <= 1 {
			return &models.ConflictError{Field: "identity",
				Message: "this is your only way to sign in: link another account first, or you could not sign in again"}
		}
		return models.DeleteIdentity(ctx, tx, u.ID, identityID)
	})
}

// PendingSignUp is an external account back from its provider with no
// member yet: the new member picks a username and confirms their age, or,
// when the provider vouches for an email a member holds, proves to be that
// member with their password to link it.
type PendingSignUp struct {
	External
	Next      string
	Suggested string // a free, valid username from the provider's, or ""
	// LinkTo is the member holding the provider-verified email, when that
	// member has a password to prove it with.
	LinkTo *models.User
}

// StartSignUp keeps ext while the new member picks a username; it returns the cookie's token.
func (s *Service) StartSignUp(ctx context.Context, ext External, next string) (string, error) {
	data, err := json.Marshal(ext)
	if err != nil {
		return "", fmt.Errorf("encode identity: %w", err)
	}
	return s.storeState(ctx, NewToken(), ext.Provider, models.AuthSignUp, nil, next, string(data), SignUpTTL)
}

// PendingSignUpOf returns the sign-up waiting under token. Errors: *Refused.
func (s *Service) PendingSignUpOf(ctx context.Context, token string) (*PendingSignUp, error) {
	st, err := models.AuthStateByHash(ctx, s.db, HashToken(token), s.Now().UTC())
	if models.IsNotFound(err) || (err == nil && st.Purpose != models.AuthSignUp) {
		return nil, signUpExpired()
	}
	if err != nil {
		return nil, err
	}
	return s.pending(ctx, s.db, st)
}

func (s *Service) pending(ctx context.Context, db bun.IDB, st *models.AuthState) (*PendingSignUp, error) {
	p := &PendingSignUp{Next: st.Next}
	if err := json.Unmarshal([]byte(st.Data), &p.External); err != nil {
		return nil, fmt.Errorf("decode pending identity: %w", err)
	}
	if name := cleanUsername(p.Username); name != "" {
		if _, err := models.UserByUsername(ctx, db, name); models.IsNotFound(err) {
			p.Suggested = name
		}
	}
	if email := cleanEmail(p.Email); email != "" && p.EmailVerified {
		u, err := models.UserByLogin(ctx, db, email)
		if err == nil && u.PasswordHash != "" {
			p.LinkTo = u
		} else if err != nil && !models.IsNotFound(err) {
			return nil, err
		}
	}
	return p, nil
}

// FinishSignUp creates the member for the sign-up under token with the
// chosen username, links the identity and forgets the sign-up, all in one
// transaction. Errors: *Refused, *models.ValidationError, *models.ConflictError.
func (s *Service) FinishSignUp(ctx context.Context, token, username string, ageConfirmed bool) (*models.User, *PendingSignUp, error) {
	username = strings.TrimSpace(username)
	v := &models.ValidationError{}
	if why := usernameProblem(username); why != "" {
		v.Add("username", why)
	}
	if !ageConfirmed {
		v.Add("age_confirmed", "you must be 16 or older to join")
	}
	var u *models.User
	p, err := s.inSignUp(ctx, token, func(ctx context.Context, tx bun.Tx, p *PendingSignUp) error {
		if err := v.Err(); err != nil {
			return err
		}
		var err error
		if u, err = s.createExternal(ctx, tx, externalMember{Username: username, Email: p.Email, Name: p.Name, Verified: p.EmailVerified}, s.Now().UTC()); err != nil {
			return err
		}
		return s.link(ctx, tx, u.ID, p.External)
	})
	return u, p, err
}

// LinkSignUp links the sign-up under token to the member holding its
// provider-verified email, once they prove it with their password.
// Errors: *Refused, ErrBadCredentials.
func (s *Service) LinkSignUp(ctx context.Context, token, password string) (*models.User, *PendingSignUp, error) {
	var u *models.User
	p, err := s.inSignUp(ctx, token, func(ctx context.Context, tx bun.Tx, p *PendingSignUp) error {
		if p.LinkTo == nil {
			return untrusted("link_unavailable", "no account with a password holds the email this provider confirmed")
		}
		if !CheckPassword(password, p.LinkTo.PasswordHash) {
			return ErrBadCredentials
		}
		u = p.LinkTo
		return s.link(ctx, tx, u.ID, p.External)
	})
	return u, p, err
}

func signUpExpired() error {
	return untrusted("signup_expired", "this sign-up has expired; sign in with your account again")
}

// inSignUp runs fn in a transaction with the sign-up under token, which it
// deletes: it is used once, and a failed attempt (a taken username, a wrong
// password) rolls the delete back. The sign-up is returned even then, so
// the form can be shown again. Errors: *Refused and fn's.
func (s *Service) inSignUp(ctx context.Context, token string, fn func(context.Context, bun.Tx, *PendingSignUp) error) (*PendingSignUp, error) {
	var p *PendingSignUp
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		st, err := models.TakeAuthState(ctx, tx, HashToken(token), s.Now().UTC())
		if models.IsNotFound(err) || (err == nil && st.Purpose != models.AuthSignUp) {
			return signUpExpired()
		}
		if err != nil {
			return err
		}
		if p, err = s.pending(ctx, tx, st); err != nil {
			return err
		}
		return fn(ctx, tx, p)
	})
	return p, err
}

// externalMember is a member arriving from elsewhere, without a password.
type externalMember struct {
	Username, Email, Name, Company string
	// Verified: the provider vouches for Email, so it needs no verification link.
	Verified bool
}

// createExternal inserts the member and their email preferences. An email
// another member holds stays theirs: the new member starts without one. A
// taken username is a *models.ConflictError.
func (s *Service) createExternal(ctx context.Context, tx bun.Tx, m externalMember, now time.Time) (*models.User, error) {
	if m.Email = cleanEmail(m.Email); m.Email != "" {
		free, err := models.EmailFree(ctx, tx, m.Email, 0)
		if err != nil {
			return nil, err
		}
		if !free {
			m.Email = ""
		}
	}
	u := &models.User{Username: m.Username, Email: m.Email, DisplayName: cleanName(m.Name), Company: m.Company,
		Role: models.RoleMember, CreatedAt: now, UpdatedAt: now}
	if m.Verified && m.Email != "" {
		u.EmailVerifiedAt = &now
	}
	if err := models.CreateUser(ctx, tx, u); err != nil {
		return nil, err
	}
	if err := s.joined(ctx, tx, u, now); err != nil {
		return nil, err
	}
	return u, nil
}

// usernameProblem says what is wrong with a username, or "".
func usernameProblem(name string) string {
	switch {
	case name == "":
		return "choose a username"
	case !usernameRE.MatchString(name):
		return "3 to 20 letters, digits, '_', '.' or '-', starting and ending with a letter or digit"
	case reservedNames[strings.ToLower(name)] || strings.HasPrefix(strings.ToLower(name), "deleted-"):
		return "that username is reserved"
	}
	return ""
}

// cleanUsername turns what a provider calls someone into a valid username, or "".
func cleanUsername(s string) string {
	var b strings.Builder
	for _, r := range s {
		if b.Len() >= 20 {
			break
		}
		switch {
		case r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			b.WriteRune(r)
		case r == '_' || r == '.' || r == '-' || r == ' ':
			if b.Len() > 0 {
				b.WriteByte("_.-_"[strings.IndexRune("_.- ", r)])
			}
		}
	}
	name := strings.TrimRight(b.String(), "_.-")
	if usernameProblem(name) != "" {
		return ""
	}
	return name
}

// createSSO creates an SSO member, who cannot be asked for a username: it
// comes from their name, their email's local part or "member", numbered
// until one is free.
func (s *Service) createSSO(ctx context.Context, tx bun.Tx, m externalMember, userID string, now time.Time) (*models.User, error) {
	base := "member"
	for _, c := range []string{m.Name, strings.Split(m.Email, "@")[0]} {
		if n := cleanUsername(c); n != "" {
			base = n
			break
		}
	}
	var ce *models.ConflictError
	for i := 0; i < 50; i++ {
		m.Username = base
		if i > 0 {
			m.Username = numbered(base, i+1)
		}
		u, err := s.createExternal(ctx, tx, m, now)
		if !errors.As(err, &ce) || ce.Field != "username" {
			return u, err
		}
	}
	return nil, fmt.Errorf("no free username for SSO user %q", userID)
}

// cleanEmail is a syntactically valid address, or "".
func cleanEmail(s string) string {
	s = strings.TrimSpace(s)
	if a, err := mail.ParseAddress(s); err != nil || a.Address != s || len(s) > 254 {
		return ""
	}
	return s
}

// cleanName is a display name: printable, at most 60 characters.
func cleanName(s string) string {
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsPrint(r) || unicode.IsSpace(r) }), " ")
	if r := []rune(s); len(r) > 60 {
		s = string(r[:60])
	}
	return s
}

// numbered is name with a number that fits the 20-character limit.
func numbered(name string, n int) string {
	suffix := strconv.Itoa(n)
	if len(name)+len(suffix) > 20 {
		name = strings.TrimRight(name[:20-len(suffix)], "_.-")
	}
	return name + suffix
}
