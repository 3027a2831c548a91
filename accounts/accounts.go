// Package accounts registers members, checks passwords, and issues and
// resolves browser sessions and API tokens. It knows nothing of HTTP.
package accounts

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/uptrace/bun"

	"agora/models"
)

// ErrBadCredentials: the login or password is wrong. It never says which, so
// it does not reveal whether an account exists.
var ErrBadCredentials = errors.New("that username or email and password don't match. Check them and try again")

// SessionTTL is how long a session lives without activity.
const SessionTTL = 30 * 24 * time.Hour

// touchEvery limits session writes to one per interval per session.
const touchEvery = time.Hour

// Service is the account logic over one database.
type Service struct {
	db  *bun.DB
	Now func() time.Time
	// Joined runs in the transaction that creates any member (registration,
	// another account, SSO): it queues the verification of their address.
	Joined func(ctx context.Context, tx bun.Tx, u *models.User) error

	dummyHash string // compared against when the account is unknown, so timing tells nothing
}

// New returns a Service; now may be nil for time.Now.
func New(db *bun.DB, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	dummy, err := HashPassword("agora-timing-equaliser")
	if err != nil {
		panic(err) // only fails when crypto/rand does
	}
	return &Service{db: db, Now: now, dummyHash: dummy}
}

// RegisterInput is what a new member submits.
type RegisterInput struct {
	Username     string
	Email        string
	Password     string
	AgeConfirmed bool
	Role         string // empty: member
}

var usernameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{1,18}[A-Za-z0-9]$`)

// reservedNames cannot be registered, so nobody can pose as the system.
var reservedNames = map[string]bool{"system": true, "moderator": true, "staff": true, "support": true}

// Validate returns a *models.ValidationError naming every bad field.
func (in *RegisterInput) Validate() error {
	v := &models.ValidationError{}
	in.Username = strings.TrimSpace(in.Username)
	in.Email = strings.TrimSpace(in.Email)
	if why := usernameProblem(in.Username); why != "" {
		v.Add("username", why)
	}
	if why := emailProblem(in.Email); why != "" {
		v.Add("email", why)
	}
	if why := passwordProblem(in.Password, in.Username); why != "" {
		v.Add("password", why)
	}
	if !in.AgeConfirmed {
		v.Add("age_confirmed", "you must be 16 or older to join")
	}
	if in.Role != "" && !models.ValidRole(in.Role) {
		v.Add("role", "role must be member, moderator or admin")
	}
	return v.Err()
}

// Register validates in and creates the account with its email preferences
// (opted out until the member opts in). Errors: *models.ValidationError, *models.ConflictError.
func (s *Service) Register(ctx context.Context, in RegisterInput) (*models.User, error) {
	return s.RegisterWith(ctx, in, nil)
}

// RegisterWith is Register that also runs also, when not nil, in the same
// transaction, so the account and what goes with it commit together.
func (s *Service) RegisterWith(ctx context.Context, in RegisterInput, also func(ctx context.Context, tx bun.Tx, u *models.User) error) (*models.User, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	hash, err := HashPassword(in.Password)
	if err != nil {
		return nil, fmt.Errorf("hash password: %w", err)
	}
	now := s.Now().UTC()
	role := in.Role
	if role == "" {
		role = models.RoleMember
	}
	u := &models.User{Username: in.Username, Email: in.Email, PasswordHash: hash, Role: role, CreatedAt: now, UpdatedAt: now}
	err = s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := models.CreateUser(ctx, tx, u); err != nil {
			return err
		}
		if err := s.joined(ctx, tx, u, now); err != nil {
			return err
		}
		if also != nil {
			return also(ctx, tx, u)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// joined stores a new member's email preferences (every kind off) and runs Joined.
func (s *Service) joined(ctx context.Context, tx bun.Tx, u *models.User, now time.Time) error {
	if err := models.CreateEmailPreferences(ctx, tx, u.ID, NewToken(), now); err != nil {
		return err
	}
	if s.Joined == nil {
		return nil
	}
	return s.Joined(ctx, tx, u)
}

// Login is a sign-in under way: the account its login (username or email)
// names, looked up once for both the backoff and the password check.
type Login struct {
	// Key names the account for the backoff, the same whether it is typed
	// as the username or the email, so failures by either count together; a
	// login that names no account is its own key. The account is named by
	// its username, not its id: a Redis store outlives a database restored
	// or started again, whose ids repeat.
	Key  string
	user *models.User // nil: no such account
}

// FindLogin looks up the account login names.
func (s *Service) FindLogin(ctx context.Context, login string) (*Login, error) {
	login = strings.TrimSpace(login)
	u, err := models.UserByLogin(ctx, s.db, login)
	switch {
	case err == nil:
		return &Login{Key: "user:" + strings.ToLower(u.Username), user: u}, nil
	case models.IsNotFound(err):
		return &Login{Key: "login:" + strings.ToLower(login)}, nil
	}
	return nil, err
}

// Authenticate returns l's account when password is its password, or
// ErrBadCredentials, taking as long when there is no such account.
func (s *Service) Authenticate(l *Login, password string) (*models.User, error) {
	if l.user == nil || l.user.PasswordHash == "" {
		CheckPassword(password, s.dummyHash)
		return nil, ErrBadCredentials
	}
	if !CheckPassword(password, l.user.PasswordHash) {
		return nil, ErrBadCredentials
	}
	return l.user, nil
}

// StartSession creates a new session for userID and returns the cookie value.
// Every sign-in gets a fresh id, so a planted id cannot be carried over.
func (s *Service) StartSession(ctx context.Context, userID int64, ip, userAgent string) (string, *models.Session, error) {
	token := NewToken()
	now := s.Now().UTC()
	if len(userAgent) > 300 {
		userAgent = userAgent[:300]
	}
	sess := &models.Session{
		UserID: userID, TokenHash: HashToken(token), CSRFToken: NewToken(), IP: ip, UserAgent: userAgent,
		CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(SessionTTL),
	}
	if err := models.CreateSession(ctx, s.db, sess); err != nil {
		return "", nil, err
	}
	return token, sess, nil
}

// SessionUser resolves a session cookie value to its session and user, or ErrNotFound.
func (s *Service) SessionUser(ctx context.Context, token string) (*models.User, *models.Session, error) {
	now := s.Now().UTC()
	sess, err := models.SessionByTokenHash(ctx, s.db, HashToken(token), now)
	if err != nil {
		return nil, nil, err
	}
	u, err := models.UserByID(ctx, s.db, sess.UserID)
	if err != nil {
		return nil, nil, err
	}
	if u.DeletedAt != nil {
		return nil, nil, fmt.Errorf("session of erased user: %w", models.ErrNotFound)
	}
	if now.Sub(sess.LastSeenAt) > touchEvery {
		if err := models.TouchSession(ctx, s.db, sess.ID, now, now.Add(SessionTTL)); err != nil {
			return nil, nil, err
		}
	}
	return u, sess, nil
}

// EndSession signs the session with that cookie value out.
func (s *Service) EndSession(ctx context.Context, token string) error {
	return models.DeleteSession(ctx, s.db, HashToken(token))
}

// IssueToken creates a bearer API token for userID and returns it; only its hash is kept.
func (s *Service) IssueToken(ctx context.Context, userID int64, name string) (string, error) {
	token := "agora_" + NewToken()
	t := &models.APIToken{UserID: userID, TokenHash: HashToken(token), Name: name, CreatedAt: s.Now().UTC()}
	if err := models.CreateAPIToken(ctx, s.db, t); err != nil {
		return "", err
	}
	return token, nil
}

// TokenUser resolves a bearer token to its user, or ErrNotFound.
func (s *Service) TokenUser(ctx context.Context, token string) (*models.User, error) {
	u, err := models.UserByAPIToken(ctx, s.db, HashToken(token), s.Now().UTC())
	if err != nil {
		return nil, err
	}
	if u.DeletedAt != nil {
		return nil, fmt.Errorf("token of erased user: %w", models.ErrNotFound)
	}
	return u, nil
}

// RevokeToken makes the bearer token stop working.
func (s *Service) RevokeToken(ctx context.Context, token string) error {
	return models.DeleteAPIToken(ctx, s.db, HashToken(token))
}

// User returns the member with that id (erased ones too, for staff pages) or ErrNotFound.
func (s *Service) User(ctx context.Context, id int64) (*models.User, error) {
	return models.UserByID(ctx, s.db, id)
}

// Profile returns the member with that username (any case), or ErrNotFound
// when there is none or the account was erased.
func (s *Service) Profile(ctx context.Context, username string) (*models.User, error) {
	u, err := models.UserByUsername(ctx, s.db, username)
	if models.IsNotFound(err) {
		u, err = models.UserByEarlierName(ctx, s.db, username) // renamed: the caller redirects
	}
	if err != nil {
		return nil, err
	}
	if u.DeletedAt != nil {
		return nil, fmt.Errorf("user %q erased: %w", username, models.ErrNotFound)
	}
	return u, nil
}

// emailProblem says what is wrong with an email address, or "".
func emailProblem(email string) string {
	if email == "" {
		return "enter your email address"
	}
	if addr, err := mail.ParseAddress(email); err != nil || addr.Address != email || len(email) > 254 ||
		!strings.Contains(email[strings.LastIndexByte(email, '@'):], ".") {
		return "enter a valid email address, like name@example.com"
	}
	return ""
}

// passwordProblem says what is wrong with a new password for username, or "".
func passwordProblem(password, username string) string {
	n := utf8.RuneCountInString(password)
	switch {
	case n < 10:
		return "use at least 10 characters"
	case n > 256:
		return "use at most 256 characters"
	case strings.EqualFold(password, username):
		return "the password must not be your username"
	}
	return ""
}

// ResetPassword sets u's password (from a reset link) and ends every
// session and API token of theirs, so whoever knew the old one is out.
// Errors: *models.ValidationError.
func (s *Service) ResetPassword(ctx context.Context, u *models.User, password string) error {
	return s.setPassword(ctx, u, password, func(ctx context.Context, tx bun.Tx) error { return endEverywhere(ctx, tx, u.ID) })
}

// setPassword checks and stores u's new password, then runs after in the
// same transaction. Errors: *models.ValidationError.
func (s *Service) setPassword(ctx context.Context, u *models.User, password string, after func(context.Context, bun.Tx) error) error {
	if why := passwordProblem(password, u.Username); why != "" {
		return &models.ValidationError{Fields: map[string]string{"password": why}}
	}
	hash, err := HashPassword(password)
	if err != nil {
		return err
	}
	return s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := models.SetPassword(ctx, tx, u.ID, hash, s.Now().UTC()); err != nil {
			return err
		}
		return after(ctx, tx)
	})
}

// endEverywhere ends every session and API token of a member.
func endEverywhere(ctx context.Context, tx bun.Tx, userID int64) error {
	if err := models.DeleteUserSessions(ctx, tx, userID); err != nil {
		return err
	}
	return models.DeleteUserTokens(ctx, tx, userID)
}

// PurgeExpired deletes the sessions, sign-ins in flight and SSO nonces that
// expired and returns how many rows went.
func (s *Service) PurgeExpired(ctx context.Context) (int64, error) {
	now := s.Now().UTC()
	n, err := models.DeleteExpiredSessions(ctx, s.db, now)
	if err != nil {
		return n, err
	}
	m, err := models.PurgeSignInState(ctx, s.db, now)
	return n + m, err
}
