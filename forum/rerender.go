package forum

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"

	"agora/markup"
	"agora/models"
)

// RerenderStale re-renders, in batches, every post whose stored HTML was
// made by an older markup policy, so reading never renders. It returns how
// many posts it updated. Safe to run on several nodes: each row is rewritten
// with the same result.
func (s *Service) RerenderStale(ctx context.Context, batch int) (int, error) {
	done := 0
	for {
		var posts []*models.Post
		err := s.DB.NewSelect().Model(&posts).Column("id", "body").
			Where("render_version < ?", markup.Version).OrderExpr("id").Limit(int64(batch)).Scan(ctx)
		if err != nil {
			return done, fmt.Errorf("find stale posts: %w", err)
		}
		if len(posts) == 0 {
			return done, nil
		}
		for _, p := range posts {
			p.HTML = markup.Render(p.Body)
		}
		err = s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			for _, p := range posts {
				if _, err := tx.NewUpdate().Model(p).Set("html = ?", p.HTML).Set("render_version = ?", markup.Version).
					WherePK().Exec(ctx); err != nil {
					return fmt.Errorf("store rendered post %d: %w", p.ID, err)
				}
			}
			return nil
		})
		if err != nil {
			return done, err
		}
		done += len(posts)
	}
}
