package accounts

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/uptrace/bun"

	"agora/models"
	"agora/policy"
)

// What a member changes about themself from /settings. Each change that
// needs proof of who is asking takes the password, or, for members who have
// none (they sign in with another account), a sign-in within RecentSignIn.

// RecentSignIn is how fresh a session must be to stand in for a password.
const RecentSignIn = 10 * time.Minute

// Limits of the profile's fields.
const (
	maxDisplayName = 60
	maxBio         = 500
)

// ProfileInput is the profile a member edits.
type ProfileInput struct {
	DisplayName string  `json:"display_name"`
	Bio         string  `json:"bio"`
	AvatarColor *string `json:"avatar_color"` // nil keeps the colour; "" is automatic
}

// UpdateProfile saves u's display name, bio and avatar colour. Errors:
// ErrUnauthenticated, *models.SuspendedError, *models.ValidationError.
func (s *Service) UpdateProfile(ctx context.Context, u *models.User, in ProfileInput) (*models.User, error) {
	if err := policy.Write(u, s.Now()); err != nil {
		return nil, err
	}
	v := &models.ValidationError{}
	name, bio := strings.TrimSpace(in.DisplayName), strings.TrimSpace(in.Bio)
	switch {
	case utf8.RuneCountInString(name) > maxDisplayName:
		v.Add("display_name", "keep the display name under 60 characters")
	case name != cleanName(name):
		v.Add("display_name", "use letters, digits, spaces and punctuation only")
	}
	if utf8.RuneCountInString(bio) > maxBio {
		v.Add("bio", "keep the bio under 500 characters")
	}
	color := u.AvatarColor
	if in.AvatarColor != nil {
		color = *in.AvatarColor
	}
	if !models.ValidAvatarColor(color) {
		v.Add("avatar_color", "pick one of "+strings.Join(models.AvatarColors, ", ")+", or leave it empty for automatic")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	u.DisplayName, u.Bio, u.AvatarColor, u.UpdatedAt = name, bio, color, s.Now().UTC()
	if err := models.UpdateProfile(ctx, s.db, u); err != nil {
		return nil, err
	}
	return u, nil
}

// renameEvery is how often a member may change their username: each old
// name stays theirs (and redirects), so frequent changes would hoard names.
const renameEvery = 30 * 24 * time.Hour

// ChangeUsername renames u; links to the old name redirect to the new one.
// Errors: *models.SuspendedError, *models.ValidationError,
// *models.ConflictError (taken), *models.RateLimitError (changed in the
// last 30 days).
func (s *Service) ChangeUsername(ctx context.Context, u *models.User, name string) (*models.User, error) {
	if err := policy.Write(u, s.Now()); err != nil {
		return nil, err
	}
	name = strings.TrimSpace(name)
	if why := usernameProblem(name); why != "" {
		return nil, &models.ValidationError{Fields: map[string]string{"username": why}}
	}
	if name == u.Username {
		return u, nil
	}
	now := s.Now().UTC()
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := models.LockUsers(ctx, tx, u.ID); err != nil {
			return err
		}
		last, err := models.LastRename(ctx, tx, u.ID)
		if err != nil {
			return err
		}
		if last != nil && now.Sub(*last) < renameEvery {
			wait := renameEvery - now.Sub(*last)
			return &models.RateLimitError{RetryAfter: wait, Message: "you can change your username once every 30 days"}
		}
		return models.RenameUser(ctx, tx, u, name, now)
	})
	if err != nil {
		return nil, err
	}
	u.Username = name
	return u, nil
}

// proven checks that the caller is u: their password, or, without one, a
// recent sign-in (sess). Errors: ErrBadCredentials, *Refused.
func (s *Service) proven(u *models.User, sess *models.Session, password string) error {
	if u.PasswordHash != "" {
		if !CheckPassword(password, u.PasswordHash) {
			return ErrBadCredentials
		}
		return nil
	}
	if sess == nil || s.Now().Sub(sess.CreatedAt) > RecentSignIn {
		return &Refused{Code: "sign_in_again", Message: "sign in again (within the last 10 minutes) to do this", Untrusted: true}
	}
	return nil
}

// Confirm checks that the caller is u, as ChangePassword does, for other
// grave steps (deleting the account). Errors: ErrBadCredentials, *Refused.
func (s *Service) Confirm(u *models.User, sess *models.Session, password string) error {
	return s.proven(u, sess, password)
}

// ChangePassword sets u's new password after the current one (or a recent
// sign-in for a member without one) and signs out every other session of
// theirs. Errors: ErrBadCredentials, *Refused, *models.ValidationError.
func (s *Service) ChangePassword(ctx context.Context, u *models.User, sess *models.Session, current, password string) error {
	if err := policy.SignedIn(u); err != nil {
		return err
	}
	if err := s.proven(u, sess, current); err != nil {
		return err
	}
	return s.setPassword(ctx, u, password, func(ctx context.Context, tx bun.Tx) error {
		var keep int64
		if sess != nil {
			keep = sess.ID
		}
		return models.DeleteOtherSessions(ctx, tx, u.ID, keep)
	})
}

// ChangeEmail gives u a new address, unconfirmed (confirm queues the link
// to it in the same transaction) and no longer bouncing. Errors:
// ErrBadCredentials, *Refused, *models.ValidationError, *models.ConflictError.
func (s *Service) ChangeEmail(ctx context.Context, u *models.User, sess *models.Session, password, email string,
	confirm func(ctx context.Context, tx bun.IDB, u *models.User) error) (*models.User, error) {
	if err := policy.SignedIn(u); err != nil {
		return nil, err
	}
	email = strings.TrimSpace(email)
	if why := emailProblem(email); why != "" {
		return nil, &models.ValidationError{Fields: map[string]string{"email": why}}
	}
	if err := s.proven(u, sess, password); err != nil {
		return nil, err
	}
	if strings.EqualFold(email, u.Email) {
		return nil, &models.ValidationError{Fields: map[string]string{"email": "that is your address already"}}
	}
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		free, err := models.EmailFree(ctx, tx, email, u.ID)
		if err != nil {
			return err
		}
		if !free {
			return &models.ConflictError{Field: "email", Message: "another account uses that address"}
		}
		if err := models.SetEmail(ctx, tx, u.ID, email, s.Now().UTC()); err != nil {
			return err
		}
		u.Email, u.EmailVerifiedAt = email, nil
		return confirm(ctx, tx, u)
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// Sessions lists u's signed-in browsers, newest first.
func (s *Service) Sessions(ctx context.Context, u *models.User) ([]*models.Session, error) {
	if err := policy.SignedIn(u); err != nil {
		return nil, err
	}
	return models.SessionsOf(ctx, s.db, u.ID, s.Now().UTC())
}

// RevokeSession signs out one of u's sessions. Errors: ErrNotFound (not theirs).
func (s *Service) RevokeSession(ctx context.Context, u *models.User, id int64) error {
	if err := policy.SignedIn(u); err != nil {
		return err
	}
	return models.DeleteSessionOf(ctx, s.db, u.ID, id)
}

// SignOutEverywhere ends every session and API token of u.
func (s *Service) SignOutEverywhere(ctx context.Context, u *models.User) error {
	if err := policy.SignedIn(u); err != nil {
		return err
	}
	return s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error { return endEverywhere(ctx, tx, u.ID) })
}

// Tokens lists u's API tokens, newest first (never the tokens themselves).
func (s *Service) Tokens(ctx context.Context, u *models.User) ([]*models.APIToken, error) {
	if err := policy.SignedIn(u); err != nil {
		return nil, err
	}
	return models.TokensOf(ctx, s.db, u.ID)
}

// RevokeTokenID revokes one of u's API tokens. Errors: ErrNotFound (not theirs).
func (s *Service) RevokeTokenID(ctx context.Context, u *models.User, id int64) error {
	if err := policy.SignedIn(u); err != nil {
		return err
	}
	return models.DeleteTokenOf(ctx, s.db, u.ID, id)
}
