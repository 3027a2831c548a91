package models

import (
	"context"
	"time"

	"github.com/uptrace/bun"
)

// Badge tiers, from the most to the least rare.
const (
	TierGold   = "gold"
	TierSilver = "silver"
	TierBronze = "bronze"
)

// ValidTier reports whether t is a tier.
func ValidTier(t string) bool { return t == TierGold || t == TierSilver || t == TierBronze }

// Badge is an award members earn; holder_count is kept with each grant.
type Badge struct {
	bun.BaseModel `bun:"table:badges"`

	ID          int64  `bun:"id,pk,autoincrement" json:"id"`
	Name        string `bun:"name" json:"name"`
	Description string `bun:"description" json:"description"`
	Tier        string `bun:"tier" json:"tier"`
	// Rule is the badge engine's key; "" for a badge admins grant by hand.
	Rule        string    `bun:"rule" json:"rule"`
	Icon        string    `bun:"icon" json:"icon"`
	Repeatable  bool      `bun:"repeatable" json:"repeatable"`
	HolderCount int       `bun:"holder_count" json:"holder_count"`
	CreatedAt   time.Time `bun:"created_at" json:"-"`
}

// Manual reports whether admins grant b by hand.
func (b *Badge) Manual() bool { return b.Rule == "" }

// UserBadge is one member's holding of one badge.
type UserBadge struct {
	bun.BaseModel `bun:"table:user_badges"`

	UserID        int64     `bun:"user_id,pk" json:"-"`
	BadgeID       int64     `bun:"badge_id,pk" json:"-"`
	Reason        string    `bun:"reason" json:"reason,omitempty"`
	GrantCount    int       `bun:"grant_count" json:"count"`
	GrantedAt     time.Time `bun:"granted_at" json:"granted_at"`
	LastGrantedAt time.Time `bun:"last_granted_at" json:"last_granted_at"`
}

// badgeOrder puts gold first, then silver, then bronze.
const badgeOrder = "CASE tier WHEN 'gold' THEN 0 WHEN 'silver' THEN 1 ELSE 2 END, name"

// ListBadges returns every badge, by tier then name.
func ListBadges(ctx context.Context, db bun.IDB) ([]*Badge, error) {
	var bs []*Badge
	err := db.NewSelect().Model(&bs).OrderExpr(badgeOrder).Scan(ctx)
	return bs, notFound(err, "list badges")
}

// BadgeByID returns the badge or ErrNotFound.
func BadgeByID(ctx context.Context, db bun.IDB, id int64) (*Badge, error) {
	b := new(Badge)
	err := db.NewSelect().Model(b).Where("id = ?", id).Scan(ctx)
	return b, notFound(err, "load badge")
}

// CreateBadge inserts b; a taken name is a *ConflictError.
func CreateBadge(ctx context.Context, db bun.IDB, b *Badge) error {
	taken, err := db.NewSelect().Model((*Badge)(nil)).Where("lower(name) = lower(?)", b.Name).Exists(ctx)
	if err != nil {
		return notFound(err, "check badge")
	}
	if taken {
		return &ConflictError{Field: "name", Message: "a badge with that name exists"}
	}
	_, err = db.NewInsert().Model(b).Returning("id").Exec(ctx)
	if IsUniqueViolation(err) {
		return &ConflictError{Field: "name", Message: "a badge with that name exists"}
	}
	return notFound(err, "create badge")
}

// SyncRuleBadge makes the row of rule badge b match b: inserted when new,
// adopting a hand-made badge of the same name, its text, tier and icon
// updated otherwise. b.ID is set.
func SyncRuleBadge(ctx context.Context, db bun.IDB, b *Badge) error {
	if _, err := db.NewUpdate().Model((*Badge)(nil)).Set("rule = ?", b.Rule).
		Where("lower(name) = lower(?)", b.Name).Where("rule = ''").Exec(ctx); err != nil {
		return notFound(err, "adopt badge")
	}
	if _, err := db.NewInsert().Model(b).On("CONFLICT (rule) WHERE rule <> '' DO UPDATE").
		Set("name = EXCLUDED.name, description = EXCLUDED.description, tier = EXCLUDED.tier").
		Set("icon = EXCLUDED.icon, repeatable = EXCLUDED.repeatable").Returning("id").Exec(ctx); err != nil {
		return notFound(err, "sync badge "+b.Rule)
	}
	return nil
}

// Holding is a badge one member holds.
type Holding struct {
	*Badge
	Held *UserBadge
}

// BadgesOfUser returns the badges a member holds, most recently earned first.
func BadgesOfUser(ctx context.Context, db bun.IDB, userID int64) ([]Holding, error) {
	var ubs []*UserBadge
	if err := db.NewSelect().Model(&ubs).Where("user_id = ?", userID).
		OrderExpr("last_granted_at DESC, badge_id").Scan(ctx); err != nil {
		return nil, notFound(err, "list badges of user")
	}
	ids := make([]int64, len(ubs))
	for i, ub := range ubs {
		ids[i] = ub.BadgeID
	}
	var bs []*Badge
	if len(ids) > 0 {
		if err := db.NewSelect().Model(&bs).Where("id IN (?)", bun.List(ids)).Scan(ctx); err != nil {
			return nil, notFound(err, "load badges")
		}
	}
	byID := make(map[int64]*Badge, len(bs))
	for _, b := range bs {
		byID[b.ID] = b
	}
	out := make([]Holding, 0, len(ubs))
	for _, ub := range ubs {
		if b := byID[ub.BadgeID]; b != nil {
			out = append(out, Holding{Badge: b, Held: ub})
		}
	}
	return out, nil
}

// BadgeHolders returns a page of a badge's holders, latest first, and their total.
func BadgeHolders(ctx context.Context, db bun.IDB, badgeID int64, page, perPage int) ([]*UserBadge, int, error) {
	var ubs []*UserBadge
	n, err := db.NewSelect().Model(&ubs).Where("badge_id = ?", badgeID).OrderExpr("granted_at DESC, user_id DESC").
		Limit(int64(perPage)).Offset(int64((page - 1) * perPage)).ScanAndCount(ctx)
	return ubs, int(n), notFound(err, "list badge holders")
}

// GrantBadge gives b to a member for subject (0 for a badge earned once),
// idempotently: it reports whether this was a new grant. The subject's row
// (repeatable badges) or the holding's key (the others) decides, so two
// concurrent grants of the same thing write once. Counters move with it.
func GrantBadge(ctx context.Context, db bun.IDB, b *Badge, userID, subject int64, reason string, now time.Time) (bool, error) {
	if b.Repeatable {
		res, err := db.NewRaw("INSERT INTO badge_subjects (user_id, badge_id, subject, granted_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
			userID, b.ID, subject, now).Exec(ctx)
		if err != nil {
			return false, notFound(err, "grant badge")
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return false, nil
		}
	}
	ub := &UserBadge{UserID: userID, BadgeID: b.ID, Reason: reason, GrantCount: 1, GrantedAt: now, LastGrantedAt: now}
	res, err := db.NewInsert().Model(ub).On("CONFLICT DO NOTHING").Exec(ctx)
	if err != nil {
		return false, notFound(err, "grant badge")
	}
	if n, _ := res.RowsAffected(); n > 0 {
		if _, err := db.NewUpdate().Model((*Badge)(nil)).Set("holder_count = holder_count + 1").Where("id = ?", b.ID).Exec(ctx); err != nil {
			return false, notFound(err, "count badge holders")
		}
	} else if !b.Repeatable {
		return false, nil
	} else if _, err := db.NewUpdate().Model((*UserBadge)(nil)).Set("grant_count = grant_count + 1").
		Set("last_granted_at = ?", now).Where("user_id = ?", userID).Where("badge_id = ?", b.ID).Exec(ctx); err != nil {
		return false, notFound(err, "count badge grant")
	}
	_, err = db.NewUpdate().Model((*User)(nil)).Set("badge_count = badge_count + 1").Where("id = ?", userID).Exec(ctx)
	return true, counted(err, "user", userID)
}

// RevokeBadge takes b from a member with every grant of it; it reports
// whether they held it.
func RevokeBadge(ctx context.Context, db bun.IDB, b *Badge, userID int64) (bool, error) {
	var counts []int
	if err := db.NewRaw("DELETE FROM user_badges WHERE user_id = ? AND badge_id = ? RETURNING grant_count", userID, b.ID).
		Scan(ctx, &counts); err != nil {
		return false, notFound(err, "revoke badge")
	}
	if len(counts) == 0 {
		return false, nil
	}
	if _, err := db.NewRaw("DELETE FROM badge_subjects WHERE user_id = ? AND badge_id = ?", userID, b.ID).Exec(ctx); err != nil {
		return false, notFound(err, "revoke badge")
	}
	if _, err := db.NewUpdate().Model((*Badge)(nil)).Set("holder_count = holder_count - 1").Where("id = ?", b.ID).Exec(ctx); err != nil {
		return false, notFound(err, "count badge holders")
	}
	_, err := db.NewUpdate().Model((*User)(nil)).Set("badge_count = badge_count - ?", counts[0]).Where("id = ?", userID).Exec(ctx)
	return true, counted(err, "user", userID)
}

// MemberIDs returns up to limit member ids after afterID, in order, and
// CountMembers how many there are: the backfill's pages.
func MemberIDs(ctx context.Context, db bun.IDB, afterID int64, limit int) ([]int64, error) {
	var ids []int64
	err := db.NewSelect().Model((*User)(nil)).Column("id").Where("id > ?", afterID).Where("deleted_at IS NULL").
		Order("id").Limit(int64(limit)).Scan(ctx, &ids)
	return ids, notFound(err, "list member ids")
}

// CountMembers counts the accounts that are not erased.
func CountMembers(ctx context.Context, db bun.IDB) (int, error) {
	n, err := db.NewSelect().Model((*User)(nil)).Where("deleted_at IS NULL").Count(ctx)
	return int(n), notFound(err, "count members")
}
