package models

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// Session is a signed-in browser. The cookie holds a random id; only its hash is stored.
type Session struct {
	bun.BaseModel `bun:"table:sessions"`

	ID         int64     `bun:"id,pk,autoincrement"`
	UserID     int64     `bun:"user_id"`
	TokenHash  string    `bun:"token_hash"`
	CSRFToken  string    `bun:"csrf_token"`
	IP         string    `bun:"ip"`
	UserAgent  string    `bun:"user_agent"`
	CreatedAt  time.Time `bun:"created_at"`
	LastSeenAt time.Time `bun:"last_seen_at"`
	ExpiresAt  time.Time `bun:"expires_at"`
}

// APIToken is a bearer token for API clients; only its hash is stored.
type APIToken struct {
	bun.BaseModel `bun:"table:api_tokens"`

	ID         int64      `bun:"id,pk,autoincrement"`
	UserID     int64      `bun:"user_id"`
	TokenHash  string     `bun:"token_hash"`
	Name       string     `bun:"name"`
	CreatedAt  time.Time  `bun:"created_at"`
	LastUsedAt *time.Time `bun:"last_used_at"`
	ExpiresAt  *time.Time `bun:"expires_at"`
}

// CreateSession inserts s.
func CreateSession(ctx context.Context, db bun.IDB, s *Session) error {
	_, err := db.NewInsert().Model(s).Returning("id").Exec(ctx)
	return notFound(err, "create session")
}

// SessionByTokenHash returns the unexpired session with that token hash, or ErrNotFound.
func SessionByTokenHash(ctx context.Context, db bun.IDB, hash string, now time.Time) (*Session, error) {
	s := new(Session)
	err := db.NewSelect().Model(s).Where("token_hash = ?", hash).Where("expires_at > ?", now).Scan(ctx)
	return s, notFound(err, "load session")
}

// TouchSession records activity and slides the expiry forward.
func TouchSession(ctx context.Context, db bun.IDB, id int64, now, expires time.Time) error {
	_, err := db.NewUpdate().Model((*Session)(nil)).Set("last_seen_at = ?", now).Set("expires_at = ?", expires).
		Where("id = ?", id).Exec(ctx)
	return notFound(err, "touch session")
}

// DeleteSession removes the session with that token hash (sign-out).
func DeleteSession(ctx context.Context, db bun.IDB, hash string) error {
	_, err := db.NewDelete().Model((*Session)(nil)).Where("token_hash = ?", hash).Exec(ctx)
	return notFound(err, "delete session")
}

// DeleteExpiredSessions removes sessions that ended before now.
func DeleteExpiredSessions(ctx context.Context, db bun.IDB, now time.Time) (int64, error) {
	res, err := db.NewDelete().Model((*Session)(nil)).Where("expires_at <= ?", now).Exec(ctx)
	if err != nil {
		return 0, notFound(err, "delete expired sessions")
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// CreateAPIToken inserts t.
func CreateAPIToken(ctx context.Context, db bun.IDB, t *APIToken) error {
	_, err := db.NewInsert().Model(t).Returning("id").Exec(ctx)
	return notFound(err, "create api token")
}

// UserByAPIToken returns the user of the unexpired token with that hash, or
// ErrNotFound: one query on every bearer request.
func UserByAPIToken(ctx context.Context, db bun.IDB, hash string, now time.Time) (*User, error) {
	u := new(User)
	err := db.NewSelect().Model(u).Where("id = (SELECT user_id FROM api_tokens WHERE token_hash = ? "+
		"AND (expires_at IS NULL OR expires_at > ?))", hash, now).Scan(ctx)
	return u, notFound(err, "load token user")
}

// DeleteAPIToken revokes the token with that hash.
func DeleteAPIToken(ctx context.Context, db bun.IDB, hash string) error {
	_, err := db.NewDelete().Model((*APIToken)(nil)).Where("token_hash = ?", hash).Exec(ctx)
	return notFound(err, "delete api token")
}

// DeleteUserSessions ends every session of a member.
func DeleteUserSessions(ctx context.Context, db bun.IDB, userID int64) error {
	_, err := db.NewDelete().Model((*Session)(nil)).Where("user_id = ?", userID).Exec(ctx)
	return notFound(err, "end sessions")
}

// DeleteUserTokens revokes every API token of a member.
func DeleteUserTokens(ctx context.Context, db bun.IDB, userID int64) error {
	_, err := db.NewDelete().Model((*APIToken)(nil)).Where("user_id = ?", userID).Exec(ctx)
	return notFound(err, "revoke tokens")
}

// DeleteOtherSessions ends every session of a member but keep (0: none kept).
func DeleteOtherSessions(ctx context.Context, db bun.IDB, userID, keep int64) error {
	_, err := db.NewDelete().Model((*Session)(nil)).Where("user_id = ?", userID).Where("id <> ?", keep).Exec(ctx)
	return notFound(err, "end other sessions")
}

// SessionsOf lists a member's live sessions, most recently seen first.
func SessionsOf(ctx context.Context, db bun.IDB, userID int64, now time.Time) ([]*Session, error) {
	var ss []*Session
	err := db.NewSelect().Model(&ss).Where("user_id = ?", userID).Where("expires_at > ?", now).
		OrderExpr("last_seen_at DESC, id DESC").Scan(ctx)
	return ss, notFound(err, "list sessions")
}

// DeleteSessionOf ends session id when it is the member's. Errors: ErrNotFound.
func DeleteSessionOf(ctx context.Context, db bun.IDB, userID, id int64) error {
	return deleteOwn(ctx, db, (*Session)(nil), userID, id, "session")
}

// TokensOf lists a member's API tokens, newest first.
func TokensOf(ctx context.Context, db bun.IDB, userID int64) ([]*APIToken, error) {
	var ts []*APIToken
	err := db.NewSelect().Model(&ts).Where("user_id = ?", userID).OrderExpr("id DESC").Scan(ctx)
	return ts, notFound(err, "list tokens")
}

// DeleteTokenOf revokes token id when it is the member's. Errors: ErrNotFound.
func DeleteTokenOf(ctx context.Context, db bun.IDB, userID, id int64) error {
	return deleteOwn(ctx, db, (*APIToken)(nil), userID, id, "token")
}

func deleteOwn(ctx context.Context, db bun.IDB, model any, userID, id int64, what string) error {
	res, err := db.NewDelete().Model(model).Where("id = ?", id).Where("user_id = ?", userID).Exec(ctx)
	if err != nil {
		return notFound(err, "delete "+what)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%s %d: %w", what, id, ErrNotFound)
	}
	return nil
}
