package forum

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"

	"agora/models"
	"agora/policy"
)

// SetSolution marks postID as the topic's best answer, or clears it when
// postID is 0 (policy.Solve says who may), and returns the topic and the
// answer (nil when cleared).
// Errors: ErrNotFound, ErrForbidden, *models.SuspendedError, *models.ValidationError.
func (s *Service) SetSolution(ctx context.Context, u *models.User, topicID, postID int64) (*models.Topic, *models.Post, error) {
	t, err := models.TopicByID(ctx, s.db, topicID)
	if err != nil {
		return nil, nil, err
	}
	if err := policy.Solve(u, t, s.now()); err != nil {
		return nil, nil, fmt.Errorf("solve topic %d: %w", topicID, err)
	}
	var answer *models.Post
	if postID != 0 {
		answer, err = models.PostByID(ctx, s.db, postID)
		if err != nil && !models.IsNotFound(err) {
			return nil, nil, err
		}
		if err != nil {
			answer = nil
		}
		if why := policy.Solution(t, answer); why != "" {
			return nil, nil, &models.ValidationError{Fields: map[string]string{"post_id": why}}
		}
	}
	now := s.now()
	err = s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var solved *int64
		if answer != nil {
			solved = &answer.ID
		}
		// The members concerned first, then the topic: models.LockUsers.
		locked, err := solutionAuthor(ctx, tx, topicID)
		if err != nil {
			return err
		}
		if answer != nil {
			locked = append(locked, answer.UserID)
		}
		if err := models.LockUsers(ctx, tx, locked...); err != nil {
			return err
		}
		// Touching the topic locks its row, so the old answer read again next
		// is the one replaced, even with another change racing this one.
		if _, err := tx.NewUpdate().Model((*models.Topic)(nil)).Set("updated_at = ?", now).
			Where("id = ?", topicID).Exec(ctx); err != nil {
			return fmt.Errorf("set solution: %w", err)
		}
		old, err := solutionAuthor(ctx, tx, topicID)
		if err != nil {
			return err
		}
		if _, err := tx.NewUpdate().Model((*models.Topic)(nil)).Set("solved_post_id = ?", solved).
			Where("id = ?", topicID).Exec(ctx); err != nil {
			return fmt.Errorf("set solution: %w", err)
		}
		var concerned []int64
		for _, id := range old {
			if err := models.CountSolution(ctx, tx, id, -1); err != nil {
				return err
			}
			concerned = append(concerned, id)
		}
		if answer != nil {
			if err := models.CountSolution(ctx, tx, answer.UserID, 1); err != nil {
				return err
			}
			concerned = append(concerned, answer.UserID)
		}
		if err := models.React(ctx, s.Events, tx, models.Event{Kind: models.EventSolution, Users: concerned}); err != nil {
			return err
		}
		if answer != nil && answer.UserID != u.ID {
			n := &models.Notification{UserID: answer.UserID, Kind: models.NotifySolution, ActorID: &u.ID, TopicID: &t.ID,
				PostID: &answer.ID, Message: "Your reply was marked as the best answer to " + t.Title, CreatedAt: now}
			if err := models.CreateNotification(ctx, tx, n); err != nil {
				return err
			}
		}
		return models.Reindex(ctx, tx, models.OutboxTopic, topicID, now)
	})
	if err != nil {
		return nil, nil, err
	}
	t, err = models.TopicByID(ctx, s.db, topicID)
	return t, answer, err
}

// solutionAuthor returns the author of the topic's best answer, if it has one.
func solutionAuthor(ctx context.Context, tx bun.IDB, topicID int64) ([]int64, error) {
	var ids []int64
	if err := tx.NewRaw("SELECT p.user_id FROM topics t JOIN posts p ON p.id = t.solved_post_id WHERE t.id = ?", topicID).
		Scan(ctx, &ids); err != nil {
		return nil, fmt.Errorf("load solution: %w", err)
	}
	return ids, nil
}
