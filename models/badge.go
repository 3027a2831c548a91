package models

import (
	"context"
	"time"

	"github.com/uptrace/bun"
)

// Badge is an award members earn; holder_count is kept with each grant.
type Badge struct {
	bun.BaseModel `bun:"table:badges"`

	ID          int64     `bun:"id,pk,autoincrement" json:"id"`
	Name        string    `bun:"name" json:"name"`
	Description string    `bun:"description" json:"description"`
	Tier        string    `bun:"tier" json:"tier"`
	HolderCount int       `bun:"holder_count" json:"holder_count"`
	CreatedAt   time.Time `bun:"created_at" json:"-"`
}

// ListBadges returns every badge, by tier then name.
func ListBadges(ctx context.Context, db bun.IDB) ([]*Badge, error) {
	var bs []*Badge
	err := db.NewSelect().Model(&bs).OrderExpr("CASE tier WHEN 'gold' THEN 0 WHEN 'silver' THEN 1 ELSE 2 END, name").Scan(ctx)
	return bs, notFound(err, "list badges")
}
