// Package badges is the recognition members earn. It knows nothing of HTTP.
package badges

import (
	"context"

	"github.com/uptrace/bun"

	"agora/models"
)

// Service reads badges over one database.
type Service struct{ db *bun.DB }

// New returns a Service.
func New(db *bun.DB) *Service { return &Service{db: db} }

// List returns every badge with its holder count, by tier then name.
func (s *Service) List(ctx context.Context) ([]*models.Badge, error) {
	return models.ListBadges(ctx, s.db)
}
