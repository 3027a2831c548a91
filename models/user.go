package models

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
)

// Roles, from least to most powerful.
const (
	RoleMember    = "member"
	RoleModerator = "moderator"
	RoleAdmin     = "admin"
)

// ValidRole reports whether r is one of the three roles.
func ValidRole(r string) bool {
	return r == RoleMember || r == RoleModerator || r == RoleAdmin
}

// User is a member account. The stable identity is ID; username and email may change.
type User struct {
	bun.BaseModel `bun:"table:users"`

	ID              int64      `bun:"id,pk,autoincrement" json:"id"`
	Username        string     `bun:"username" json:"username"`
	Email           string     `bun:"email" json:"-"` // private: only the member's own views add it
	EmailVerifiedAt *time.Time `bun:"email_verified_at" json:"-"`
	DisplayName     string     `bun:"display_name" json:"display_name"`
	PasswordHash    string     `bun:"password_hash" json:"-"`
	Role            string     `bun:"role" json:"role"`
	Level           int        `bun:"level" json:"level"`
	LevelLocked     bool       `bun:"level_locked" json:"-"`
	BadgeCount      int        `bun:"badge_count" json:"badge_count"`
	TopicCount      int        `bun:"topic_count" json:"topic_count"`
	PostCount       int        `bun:"post_count" json:"post_count"`
	LikesReceived   int        `bun:"likes_received" json:"likes_received"`
	LikesGiven      int        `bun:"likes_given" json:"likes_given"`
	FlagsAgreed     int        `bun:"flags_agreed" json:"-"`
	FlagsDisagreed  int        `bun:"flags_disagreed" json:"-"`
	SolutionCount   int        `bun:"solution_count" json:"solution_count"`
	DaysVisited     int        `bun:"days_visited" json:"-"`
	LastVisitDay    int64      `bun:"last_visit_day" json:"-"`
	TopicsRead      int        `bun:"topics_read" json:"-"`
	PostsRead       int        `bun:"posts_read" json:"-"`
	GuidelinesRead  *time.Time `bun:"guidelines_read_at" json:"-"`
	Company         string     `bun:"company" json:"company,omitempty"`
	Bio             string     `bun:"bio" json:"bio,omitempty"`
	AvatarColor     string     `bun:"avatar_color" json:"avatar_color"` // one of AvatarColors, "" for automatic
	SuspendedUntil  *time.Time `bun:"suspended_until" json:"suspended_until"`
	SuspendedReason string     `bun:"suspended_reason" json:"-"`
	CreatedAt       time.Time  `bun:"created_at" json:"created_at"`
	UpdatedAt       time.Time  `bun:"updated_at" json:"-"`
	LastSeenAt      *time.Time `bun:"last_seen_at" json:"last_seen_at,omitempty"`
	DeletedAt       *time.Time `bun:"deleted_at" json:"-"`
}

// IndefiniteSuspension is stored in suspended_until for a suspension without an
// end, so one indexed column answers "is this member suspended now".
var IndefiniteSuspension = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)

// IsStaff reports whether u is a moderator or an admin.
func (u *User) IsStaff() bool {
	return u != nil && (u.Role == RoleModerator || u.Role == RoleAdmin)
}

// IsAdmin reports whether u is an admin.
func (u *User) IsAdmin() bool { return u != nil && u.Role == RoleAdmin }

// DeletedName is how a deleted member's posts are signed.
const DeletedName = "deleted member"

// Name is what pages show: the display name, or the username without one;
// a deleted member's posts say so.
func (u *User) Name() string {
	if u.DeletedAt != nil {
		return DeletedName
	}
	if u.DisplayName != "" {
		return u.DisplayName
	}
	return u.Username
}

// AvatarColors are the colours a member may give their avatar letter
// (assets/static/app.css has a pair, light and dark, for each).
var AvatarColors = []string{"blue", "green", "teal", "purple", "pink", "orange", "red", "slate"}

// ValidAvatarColor reports whether c is one of AvatarColors or "" (automatic).
func ValidAvatarColor(c string) bool { return c == "" || slices.Contains(AvatarColors, c) }

// Avatar is the colour u's avatar letter shows in: their choice, or by
// default one picked by id, so members side by side tend to differ and a
// rename keeps it.
func (u *User) Avatar() string {
	if u.AvatarColor != "" {
		return u.AvatarColor
	}
	return AvatarColors[uint64(u.ID)%uint64(len(AvatarColors))]
}

// Suspension returns a *SuspendedError when u is suspended at now, nil otherwise.
func (u *User) Suspension(now time.Time) error {
	if u.SuspendedUntil == nil || !u.SuspendedUntil.After(now) {
		return nil
	}
	e := &SuspendedError{Reason: u.SuspendedReason}
	if u.SuspendedUntil.Before(IndefiniteSuspension) {
		until := *u.SuspendedUntil
		e.Until = &until
	}
	return e
}

// CreateUser inserts u. A taken username or email is a *ConflictError naming the field.
// A new member starts at level 1 (levels.md).
func CreateUser(ctx context.Context, db bun.IDB, u *User) error {
	u.Level = max(u.Level, 1)
	taken, err := db.NewSelect().Model((*User)(nil)).
		Column("username", "email").
		Where("lower(username) = lower(?) OR (? <> '' AND lower(email) = lower(?))", u.Username, u.Email, u.Email).
		Limit(1).Exists(ctx)
	if err != nil {
		return notFound(err, "check user")
	}
	if !taken {
		if held, err := nameHeld(ctx, db, u.Username, 0); err != nil || held {
			if err != nil {
				return err
			}
			return usernameTaken
		}
	}
	if !taken {
		_, err = db.NewInsert().Model(u).Returning("id").Exec(ctx)
		if err == nil {
			return nil
		}
		if !IsUniqueViolation(err) {
			return notFound(err, "insert user")
		}
	}
	// Tell which field clashed. A lost race lands here with the unique index
	// named in the error; inside a PostgreSQL transaction no further query may run.
	if err != nil && strings.Contains(err.Error(), "users_email_key") {
		return emailTaken
	}
	if err != nil {
		return usernameTaken
	}
	if _, err := UserByUsername(ctx, db, u.Username); err == nil {
		return usernameTaken
	}
	return emailTaken
}

var (
	usernameTaken = &ConflictError{Field: "username", Message: "that username is taken"}
	emailTaken    = &ConflictError{Field: "email", Message: "an account with that email already exists"}
)

// UserByID returns the user or ErrNotFound.
func UserByID(ctx context.Context, db bun.IDB, id int64) (*User, error) {
	u := new(User)
	err := db.NewSelect().Model(u).Where("id = ?", id).Scan(ctx)
	return u, notFound(err, "load user")
}

// UserByUsername returns the user with that username (any case) or ErrNotFound.
func UserByUsername(ctx context.Context, db bun.IDB, username string) (*User, error) {
	u := new(User)
	err := db.NewSelect().Model(u).Where("lower(username) = lower(?)", username).Scan(ctx)
	return u, notFound(err, "load user")
}

// UserByLogin returns the user whose username or email is login, or ErrNotFound.
// Both sides go through the database's lower(), the same function the unique
// indexes use (ASCII-only on SQLite), so lookups and uniqueness always agree.
func UserByLogin(ctx context.Context, db bun.IDB, login string) (*User, error) {
	col := "username"
	if strings.Contains(login, "@") {
		col = "email"
	}
	u := new(User)
	err := db.NewSelect().Model(u).
		Where("lower(?) = lower(?)", bun.Ident(col), login).
		Where("deleted_at IS NULL").Scan(ctx)
	return u, notFound(err, "load user")
}

// UsersByIDs returns the users with those ids, keyed by id: one query for a page's authors.
func UsersByIDs(ctx context.Context, db bun.IDB, ids []int64) (map[int64]*User, error) {
	return usersByIDs(ctx, db, ids)
}

// authorColumns are what pages show beside a post or topic.
var authorColumns = []string{"id", "username", "display_name", "avatar_color", "role", "level", "badge_count", "post_count", "created_at", "deleted_at"}

// AuthorsByIDs is UsersByIDs with only the columns shown beside posts
// (authorColumns): the hot read path scans a third of the columns.
func AuthorsByIDs(ctx context.Context, db bun.IDB, ids []int64) (map[int64]*User, error) {
	return usersByIDs(ctx, db, ids, authorColumns...)
}

func usersByIDs(ctx context.Context, db bun.IDB, ids []int64, columns ...string) (map[int64]*User, error) {
	out := make(map[int64]*User, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	unique := make([]int64, 0, len(ids))
	for _, id := range ids {
		if _, seen := out[id]; !seen {
			out[id] = nil
			unique = append(unique, id)
		}
	}
	clear(out)
	var users []*User
	q := db.NewSelect().Model(&users).Where("id IN (?)", bun.List(unique))
	if len(columns) > 0 {
		q.Column(columns...)
	}
	if err := q.Scan(ctx); err != nil {
		return nil, notFound(err, "load users")
	}
	for _, u := range users {
		out[u.ID] = u
	}
	return out, nil
}

// AdminExists reports whether any admin account exists.
func AdminExists(ctx context.Context, db bun.IDB) (bool, error) {
	ok, err := db.NewSelect().Model((*User)(nil)).Where("role = ?", RoleAdmin).Where("deleted_at IS NULL").Exists(ctx)
	return ok, notFound(err, "check admin")
}

// AdminExistsBesides reports whether an admin other than userID exists.
func AdminExistsBesides(ctx context.Context, db bun.IDB, userID int64) (bool, error) {
	ok, err := db.NewSelect().Model((*User)(nil)).Where("role = ?", RoleAdmin).Where("deleted_at IS NULL").
		Where("id <> ?", userID).Exists(ctx)
	return ok, notFound(err, "check admin")
}

// SetUserRole changes a user's role.
func SetUserRole(ctx context.Context, db bun.IDB, id int64, role string, now time.Time) error {
	res, err := db.NewUpdate().Model((*User)(nil)).Set("role = ?", role).Set("updated_at = ?", now).
		Where("id = ?", id).Exec(ctx)
	if err != nil {
		return notFound(err, "set role")
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound(ErrNotFound, "set role")
	}
	return nil
}

// LockAdmins counts the admin accounts that are not erased and, on
// PostgreSQL, locks them until tx ends, so two demotions cannot both see
// another admin left (SQLite write transactions are serial already).
func LockAdmins(ctx context.Context, tx bun.Tx) (int, error) {
	var ids []int64
	q := tx.NewSelect().Model((*User)(nil)).Column("id").Where("role = ?", RoleAdmin).Where("deleted_at IS NULL")
	if tx.Dialect().Name() == dialect.PG {
		q.For("UPDATE")
	}
	err := q.Scan(ctx, &ids)
	return len(ids), notFound(err, "count admins")
}

// EmailFree reports whether no member other than except holds email.
func EmailFree(ctx context.Context, db bun.IDB, email string, except int64) (bool, error) {
	taken, err := db.NewSelect().Model((*User)(nil)).Where("lower(email) = lower(?)", email).
		Where("id <> ?", except).Exists(ctx)
	if err != nil {
		return false, fmt.Errorf("check email: %w", err)
	}
	return !taken, nil
}

// UpdateExternalProfile saves what a sign-in from elsewhere refreshed: email, display name, company.
func UpdateExternalProfile(ctx context.Context, db bun.IDB, u *User, now time.Time) error {
	u.UpdatedAt = now
	_, err := db.NewUpdate().Model(u).Column("email", "display_name", "company", "updated_at").WherePK().Exec(ctx)
	if IsUniqueViolation(err) {
		return emailTaken
	}
	if err != nil {
		return fmt.Errorf("update user %d: %w", u.ID, err)
	}
	return nil
}

// UsersByUsernames returns the members with those usernames (any case),
// keyed by lower-cased username.
func UsersByUsernames(ctx context.Context, db bun.IDB, names []string) (map[string]*User, error) {
	out := make(map[string]*User, len(names))
	if len(names) == 0 {
		return out, nil
	}
	lower := make([]string, len(names))
	for i, n := range names {
		lower[i] = strings.ToLower(n)
	}
	var us []*User
	if err := db.NewSelect().Model(&us).Column(authorColumns...).Where("lower(username) IN (?)", bun.List(lower)).
		Where("deleted_at IS NULL").Scan(ctx); err != nil {
		return nil, fmt.Errorf("load users by name: %w", err)
	}
	for _, u := range us {
		out[strings.ToLower(u.Username)] = u
	}
	return out, nil
}

// StaffIDs returns the ids of every moderator and admin.
func StaffIDs(ctx context.Context, db bun.IDB) ([]int64, error) {
	var ids []int64
	err := db.NewSelect().Model((*User)(nil)).Column("id").Where("role <> ?", RoleMember).
		Where("deleted_at IS NULL").OrderExpr("id").Scan(ctx, &ids)
	return ids, notFound(err, "list staff")
}

// SetPassword stores a member's new password hash.
func SetPassword(ctx context.Context, db bun.IDB, userID int64, hash string, now time.Time) error {
	_, err := db.NewUpdate().Model((*User)(nil)).Set("password_hash = ?", hash).Set("updated_at = ?", now).
		Where("id = ?", userID).Exec(ctx)
	return notFound(err, "set password")
}

// UpdateProfile stores u's display name, bio and avatar colour.
func UpdateProfile(ctx context.Context, db bun.IDB, u *User) error {
	_, err := db.NewUpdate().Model(u).Column("display_name", "bio", "avatar_color", "updated_at").WherePK().Exec(ctx)
	return notFound(err, "update profile")
}

// SetEmail gives a member a new, unconfirmed address; a bounce of the old one no longer counts.
func SetEmail(ctx context.Context, db bun.IDB, userID int64, email string, now time.Time) error {
	_, err := db.NewUpdate().Model((*User)(nil)).Set("email = ?", email).Set("email_verified_at = NULL").
		Set("updated_at = ?", now).Where("id = ?", userID).Exec(ctx)
	if IsUniqueViolation(err) {
		return emailTaken
	}
	if err != nil {
		return fmt.Errorf("set email: %w", err)
	}
	_, err = db.NewUpdate().Model((*EmailPreferences)(nil)).Set("bouncing_at = NULL").Set("bounce_reason = ''").
		Where("user_id = ?", userID).Exec(ctx)
	return notFound(err, "clear bounce")
}

// Tombstone turns a member's row into a pseudonymous one: name, with no
// email, display name, bio, avatar colour, company, password or suspension note, deleted
// at now. Posts, likes, flags and the moderation log keep pointing at it.
func Tombstone(ctx context.Context, db bun.IDB, id int64, name string, now time.Time) error {
	_, err := db.NewUpdate().Model((*User)(nil)).Set("username = ?", name).Set("email = ''").
		Set("email_verified_at = NULL").Set("display_name = ''").Set("bio = ''").Set("company = ''").
		Set("avatar_color = ''").Set("password_hash = ''").Set("suspended_reason = ''").Set("last_seen_at = NULL").
		Set("role = ?", RoleMember).
		Set("deleted_at = ?", now).Set("updated_at = ?", now).Where("id = ?", id).Exec(ctx)
	return notFound(err, "tombstone member")
}

// nameHeld reports whether a member other than except used name before (a
// link to /u/{name} still leads to them).
func nameHeld(ctx context.Context, db bun.IDB, name string, except int64) (bool, error) {
	ok, err := db.NewSelect().TableExpr("username_history").Where("old_name = lower(?)", name).
		Where("user_id <> ?", except).Exists(ctx)
	return ok, notFound(err, "check earlier names")
}

// RenameUser gives u a new username, keeping the old one as theirs (links
// to it redirect). Errors: *ConflictError (taken now or before by another).
func RenameUser(ctx context.Context, db bun.IDB, u *User, name string, now time.Time) error {
	held, err := nameHeld(ctx, db, name, u.ID)
	if err != nil {
		return err
	}
	if taken, err := db.NewSelect().Model((*User)(nil)).Where("lower(username) = lower(?)", name).
		Where("id <> ?", u.ID).Exists(ctx); err != nil || taken || held {
		if err != nil {
			return notFound(err, "check username")
		}
		return usernameTaken
	}
	if _, err := db.NewRaw(`INSERT INTO username_history (old_name, user_id, changed_at) VALUES (lower(?), ?, ?)
		ON CONFLICT (old_name) DO UPDATE SET changed_at = excluded.changed_at`, u.Username, u.ID, now).Exec(ctx); err != nil {
		return fmt.Errorf("keep the old username: %w", err)
	}
	if _, err := db.NewRaw("DELETE FROM username_history WHERE old_name = lower(?) AND user_id = ?", name, u.ID).Exec(ctx); err != nil {
		return fmt.Errorf("reclaim a username: %w", err)
	}
	_, err = db.NewUpdate().Model((*User)(nil)).Set("username = ?", name).Set("updated_at = ?", now).Where("id = ?", u.ID).Exec(ctx)
	if IsUniqueViolation(err) {
		return usernameTaken
	}
	if err != nil {
		return fmt.Errorf("rename user: %w", err)
	}
	// The index finds posts by their author's name (@name).
	_, err = db.NewRaw("INSERT INTO search_outbox (entity, entity_id, op, created_at) SELECT ?, id, ?, ? FROM posts WHERE user_id = ?",
		OutboxPost, OutboxUpsert, now, u.ID).Exec(ctx)
	return notFound(err, "reindex renamed member's posts")
}

// LastRename returns when the member last changed their username (nil: never).
func LastRename(ctx context.Context, db bun.IDB, userID int64) (*time.Time, error) {
	var at []time.Time
	err := db.NewRaw("SELECT changed_at FROM username_history WHERE user_id = ? ORDER BY changed_at DESC LIMIT 1", userID).
		Scan(ctx, &at)
	if err != nil || len(at) == 0 {
		return nil, notFound(err, "last rename")
	}
	return &at[0], nil
}

// UserByEarlierName returns the member who used name before. Errors: ErrNotFound.
func UserByEarlierName(ctx context.Context, db bun.IDB, name string) (*User, error) {
	var id int64
	if err := db.NewRaw("SELECT user_id FROM username_history WHERE old_name = lower(?)", name).Scan(ctx, &id); err != nil {
		return nil, notFound(err, "earlier name")
	}
	return UserByID(ctx, db, id)
}
