package models

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"
)

// Identity is an account elsewhere that signs a member in: an OAuth or
// OpenID Connect provider, or the customer product's signed SSO. The pair
// (provider, provider user id) is the identity for ever; the email is only
// what the provider last said.
type Identity struct {
	bun.BaseModel `bun:"table:identities"`

	ID             int64      `bun:"id,pk,autoincrement" json:"id"`
	UserID         int64      `bun:"user_id" json:"-"`
	Provider       string     `bun:"provider" json:"provider"`
	ProviderUserID string     `bun:"provider_user_id" json:"-"`
	Email          string     `bun:"email" json:"email,omitempty"`
	Profile        string     `bun:"profile" json:"-"` // JSON the customer product sent (SSO company, attributes): staff only
	CreatedAt      time.Time  `bun:"created_at" json:"created_at"`
	LastUsedAt     *time.Time `bun:"last_used_at" json:"last_used_at,omitempty"`
}

// IdentityOf returns the identity (provider, subject) or ErrNotFound.
func IdentityOf(ctx context.Context, db bun.IDB, provider, subject string) (*Identity, error) {
	id := new(Identity)
	err := db.NewSelect().Model(id).Where("provider = ?", provider).Where("provider_user_id = ?", subject).Scan(ctx)
	return id, notFound(err, "load identity")
}

// IdentitiesOf returns a member's identities, oldest first.
func IdentitiesOf(ctx context.Context, db bun.IDB, userID int64) ([]Identity, error) {
	var ids []Identity
	err := db.NewSelect().Model(&ids).Where("user_id = ?", userID).OrderExpr("id").Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("load identities of %d: %w", userID, err)
	}
	return ids, nil
}

// CreateIdentity inserts id; a pair already linked is a *ConflictError.
func CreateIdentity(ctx context.Context, db bun.IDB, id *Identity) error {
	if id.Profile == "" {
		id.Profile = "{}"
	}
	_, err := db.NewInsert().Model(id).Returning("id").Exec(ctx)
	if IsUniqueViolation(err) {
		return &ConflictError{Field: "provider", Message: "that account is already linked to a member of this forum"}
	}
	if err != nil {
		return fmt.Errorf("insert identity: %w", err)
	}
	return nil
}

// UseIdentity records a sign-in with id and what the provider said this time.
func UseIdentity(ctx context.Context, db bun.IDB, id *Identity, now time.Time) error {
	id.LastUsedAt = &now
	_, err := db.NewUpdate().Model(id).Column("email", "profile", "last_used_at").WherePK().Exec(ctx)
	if err != nil {
		return fmt.Errorf("update identity %d: %w", id.ID, err)
	}
	return nil
}

// DeleteIdentity removes a member's identity; another member's is ErrNotFound.
func DeleteIdentity(ctx context.Context, db bun.IDB, userID, id int64) error {
	res, err := db.NewDelete().Model((*Identity)(nil)).Where("id = ?", id).Where("user_id = ?", userID).Exec(ctx)
	if err != nil {
		return fmt.Errorf("delete identity %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("identity %d: %w", id, ErrNotFound)
	}
	return nil
}

// Purposes of an AuthState.
const (
	AuthSignIn = "signin" // sent to the provider to sign in (or sign up)
	AuthLink   = "link"   // sent to the provider by a signed-in member linking it
	AuthSignUp = "signup" // back from the provider, waiting for the new member's username
)

// AuthState is a sign-in in flight, found by the hash of the token in the
// browser's cookie, used once.
type AuthState struct {
	bun.BaseModel `bun:"table:auth_states"`

	TokenHash string    `bun:"token_hash,pk"`
	Provider  string    `bun:"provider"`
	Purpose   string    `bun:"purpose"`
	UserID    *int64    `bun:"user_id"`
	Data      string    `bun:"data"`
	Next      string    `bun:"next"`
	CreatedAt time.Time `bun:"created_at"`
	ExpiresAt time.Time `bun:"expires_at"`
}

// CreateAuthState inserts st.
func CreateAuthState(ctx context.Context, db bun.IDB, st *AuthState) error {
	if _, err := db.NewInsert().Model(st).Exec(ctx); err != nil {
		return fmt.Errorf("insert auth state: %w", err)
	}
	return nil
}

// AuthStateByHash returns the unexpired state, or ErrNotFound.
func AuthStateByHash(ctx context.Context, db bun.IDB, hash string, now time.Time) (*AuthState, error) {
	st := new(AuthState)
	err := db.NewSelect().Model(st).Where("token_hash = ?", hash).Where("expires_at > ?", now).Scan(ctx)
	return st, notFound(err, "load auth state")
}

// TakeAuthState deletes the unexpired state and returns it, or ErrNotFound:
// of two requests with one token, one gets it.
func TakeAuthState(ctx context.Context, db bun.IDB, hash string, now time.Time) (*AuthState, error) {
	st := new(AuthState)
	_, err := db.NewDelete().Model(st).Where("token_hash = ?", hash).Where("expires_at > ?", now).
		Returning("*").Exec(ctx, st)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("take auth state: %w", err)
	}
	if err != nil || st.TokenHash == "" {
		return nil, fmt.Errorf("auth state: %w", ErrNotFound)
	}
	return st, nil
}

// UseNonce records an SSO nonce until it expires; one seen before is a
// *ConflictError.
func UseNonce(ctx context.Context, db bun.IDB, nonce string, expires time.Time) error {
	res, err := db.NewRaw("INSERT INTO sso_nonces (nonce, expires_at) VALUES (?, ?) ON CONFLICT DO NOTHING", nonce, expires).Exec(ctx)
	if err != nil {
		return fmt.Errorf("record nonce: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return &ConflictError{Field: "nonce", Message: "this sign-in link was already used"}
	}
	return nil
}

// PurgeSignInState deletes expired sign-ins in flight and SSO nonces and
// returns how many rows went.
func PurgeSignInState(ctx context.Context, db bun.IDB, now time.Time) (int64, error) {
	var total int64
	for _, table := range []string{"auth_states", "sso_nonces"} {
		res, err := db.NewDelete().TableExpr(table).Where("expires_at <= ?", now).Exec(ctx)
		if err != nil {
			return total, fmt.Errorf("purge %s: %w", table, err)
		}
		n, _ := res.RowsAffected()
		total += n
	}
	return total, nil
}

// ProviderSSO names the customer product's signed single sign-on in identities.
const ProviderSSO = "sso"

// Customer is what the customer's product said about a member at their last
// SSO sign-in: which company they are with, and its own attributes. Staff only.
type Customer struct {
	Company    map[string]any `json:"company,omitempty"`
	Attributes map[string]any `json:"attributes,omitempty"`
	CreatedAt  *time.Time     `json:"created_at,omitempty"` // when they joined the product
}

// CompanyName is the company's name, or its id, or "".
func (c Customer) CompanyName() string {
	for _, k := range []string{"name", "id"} {
		if v, ok := c.Company[k]; ok && v != nil {
			return strings.TrimSpace(fmt.Sprint(v))
		}
	}
	return ""
}

// CustomersOf returns, by member id, what the product said of those who
// arrived by SSO (one query for a page of members).
func CustomersOf(ctx context.Context, db bun.IDB, userIDs []int64) (map[int64]*Customer, error) {
	out := map[int64]*Customer{}
	if len(userIDs) == 0 {
		return out, nil
	}
	var ids []Identity
	err := db.NewSelect().Model(&ids).Column("user_id", "profile").Where("provider = ?", ProviderSSO).
		Where("user_id IN (?)", bun.List(userIDs)).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("load customers: %w", err)
	}
	for _, id := range ids {
		c := new(Customer)
		if json.Unmarshal([]byte(id.Profile), c) == nil && (len(c.Company) > 0 || len(c.Attributes) > 0 || c.CreatedAt != nil) {
			out[id.UserID] = c
		}
	}
	return out, nil
}
