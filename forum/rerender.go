package forum

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"

	"agora/markup"
	"agora/models"
)

// RerenderStale re-renders, in batches, every post whose stored HTML was
// made by an older markup policy, so reading never renders, and asks search
// to index the new text. It returns how many posts it updated. A post
// edited meanwhile is left alone (the edit stored a newer rendering), so it
// is safe to run while members write and on several nodes at once.
func (s *Service) RerenderStale(ctx context.Context, batch int) (int, error) {
	done := 0
	var after int64
	for {
		var posts []*models.Post
		err := s.db.NewSelect().Model(&posts).Column("id", "body", "render_version").
			Where("render_version < ?", markup.Version).Where("id > ?", after).
			OrderExpr("id").Limit(int64(batch)).Scan(ctx)
		if err != nil {
			return done, fmt.Errorf("find stale posts: %w", err)
		}
		if len(posts) == 0 {
			return done, nil
		}
		after = posts[len(posts)-1].ID
		lists := make([][]string, len(posts))
		for i, p := range posts {
			lists[i] = markup.Mentions(p.Body)
		}
		users, err := mentionable(ctx, s.db, lists)
		if err != nil {
			return done, err
		}
		known := names(users)
		for _, p := range posts {
			p.HTML = markup.RenderMentions(p.Body, known)
		}
		now := s.now()
		err = s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			for _, p := range posts {
				res, err := tx.NewUpdate().Model((*models.Post)(nil)).Set("html = ?", p.HTML).Set("render_version = ?", markup.Version).
					Where("id = ?", p.ID).Where("body = ?", p.Body).Where("render_version = ?", p.RenderVersion).Exec(ctx)
				if err != nil {
					return fmt.Errorf("store rendered post %d: %w", p.ID, err)
				}
				if n, _ := res.RowsAffected(); n == 0 {
					continue // edited since it was read: that edit's rendering stands
				}
				if err := models.Reindex(ctx, tx, models.OutboxPost, p.ID, now); err != nil {
					return err
				}
				done++
			}
			return nil
		})
		if err != nil {
			return done, err
		}
	}
}
