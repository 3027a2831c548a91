package moderation

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/uptrace/bun"

	"agora/models"
	"agora/policy"
)

// RemovePost removes a post outside the queue and returns it as it now is.
func (s *Service) RemovePost(ctx context.Context, mod *models.User, postID int64, reason Reason) (*models.Post, error) {
	return s.postTool(ctx, mod, postID, reason, func(ctx context.Context, tx bun.Tx, post *models.Post, topic *models.Topic, r Reason, now time.Time) error {
		if post.RemovedAt != nil {
			return &models.ConflictError{Message: "this post is already removed"}
		}
		return s.removeInTx(ctx, tx, mod, post, topic, r, true, now)
	})
}

// RestorePost puts a removed post (and its topic, for a first post) back
// and returns it as it now is.
func (s *Service) RestorePost(ctx context.Context, mod *models.User, postID int64, reason Reason) (*models.Post, error) {
	return s.postTool(ctx, mod, postID, reason, func(ctx context.Context, tx bun.Tx, post *models.Post, topic *models.Topic, r Reason, now time.Time) error {
		if post.RemovedAt == nil {
			return &models.ConflictError{Message: "this post is not removed"}
		}
		if _, err := tx.NewUpdate().Model((*models.Post)(nil)).Set("removed_at = NULL").Set("removed_by = NULL").
			Set("removed_reason = ''").Where("id = ?", post.ID).Exec(ctx); err != nil {
			return fmt.Errorf("restore post: %w", err)
		}
		action, target, targetID := ActRestorePost, TargetPost, post.ID
		if post.PostNumber == 1 {
			action, target, targetID = ActRestoreTopic, TargetTopic, topic.ID
			if _, err := tx.NewUpdate().Model((*models.Topic)(nil)).Set("removed_at = NULL").Where("id = ?", topic.ID).Exec(ctx); err != nil {
				return fmt.Errorf("restore topic: %w", err)
			}
			if err := models.CountTopicInCategory(ctx, tx, topic.ID, topic.CategoryID, 1); err != nil {
				return err
			}
			if err := models.Reindex(ctx, tx, models.OutboxTopic, topic.ID, now); err != nil {
				return err
			}
		} else if err := countReply(ctx, tx, topic, 1); err != nil {
			return err
		}
		if _, err := Record(ctx, tx, Entry{ModeratorID: &mod.ID, Action: action, TargetType: target, TargetID: targetID,
			TargetUserID: &post.UserID, Details: map[string]any{"post_id": post.ID}}.because(r), now); err != nil {
			return err
		}
		return models.Reindex(ctx, tx, models.OutboxPost, post.ID, now)
	})
}

// EditPost edits any post as a moderator, with a reason, keeping a
// revision, and returns it as it now is.
func (s *Service) EditPost(ctx context.Context, mod *models.User, postID int64, body string, reason Reason, notify bool) (*models.Post, error) {
	if strings.TrimSpace(body) == "" || utf8.RuneCountInString(body) > 50000 {
		return nil, &models.ValidationError{Fields: map[string]string{"body": "give 1 to 50000 characters"}}
	}
	return s.postTool(ctx, mod, postID, reason, func(ctx context.Context, tx bun.Tx, post *models.Post, topic *models.Topic, r Reason, now time.Time) error {
		return s.editInTx(ctx, tx, mod, post, topic, body, r, notify, now)
	})
}

// postTool runs a staff action on a post inside one transaction and
// returns the post as it is afterwards.
func (s *Service) postTool(ctx context.Context, mod *models.User, postID int64, reason Reason,
	act func(ctx context.Context, tx bun.Tx, post *models.Post, topic *models.Topic, r Reason, now time.Time) error) (*models.Post, error) {
	if err := policy.Staff(mod); err != nil {
		return nil, err
	}
	r, err := reason.clean("reason", whyBroken)
	if err != nil {
		return nil, err
	}
	post, topic, err := s.postAndTopic(ctx, postID)
	if err != nil {
		return nil, err
	}
	now := s.now()
	if err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		// The author first, then the post and topic: models.LockUsers.
		if err := models.LockUsers(ctx, tx, post.UserID); err != nil {
			return err
		}
		return act(ctx, tx, post, topic, r, now)
	}); err != nil {
		return nil, err
	}
	return models.PostByID(ctx, s.db, postID)
}

// Topic tools.
const (
	TopicLock   = "lock"
	TopicUnlock = "unlock"
	TopicPin    = "pin"
	TopicUnpin  = "unpin"
	TopicMove   = "move"
)

// topicActs are the log actions of the topic tools.
var topicActs = map[string]string{TopicLock: ActLockTopic, TopicUnlock: ActUnlockTopic, TopicPin: ActPinTopic,
	TopicUnpin: ActUnpinTopic, TopicMove: ActMoveTopic}

// TopicAction locks, unlocks, pins, unpins or moves a topic, with a reason.
func (s *Service) TopicAction(ctx context.Context, mod *models.User, topicID int64, action string, reason Reason, categoryID int64) (*models.Topic, error) {
	if err := policy.Staff(mod); err != nil {
		return nil, err
	}
	act, ok := topicActs[action]
	if !ok {
		return nil, &models.ValidationError{Fields: map[string]string{"action": "use lock, unlock, pin, unpin or move"}}
	}
	v := &models.ValidationError{}
	r, err := reason.clean("reason", whyBroken)
	if ve, ok := err.(*models.ValidationError); ok {
		v = ve
	}
	t, err := models.TopicByID(ctx, s.db, topicID)
	if err != nil {
		return nil, err
	}
	var target *models.Category
	if action == TopicMove {
		if target, err = models.CategoryByID(ctx, s.db, categoryID); models.IsNotFound(err) {
			v.Add("category_id", "choose an existing category")
		} else if err != nil {
			return nil, err
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	now := s.now()
	details := map[string]any{}
	err = s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		q := tx.NewUpdate().Model((*models.Topic)(nil)).Where("id = ?", topicID).Set("updated_at = ?", now)
		switch action {
		case TopicLock, TopicUnlock:
			q.Set("locked = ?", action == TopicLock)
		case TopicPin, TopicUnpin:
			q.Set("pinned = ?", action == TopicPin)
		case TopicMove:
			q.Set("category_id = ?", target.ID)
			details["from"], details["to"] = t.CategoryID, target.ID
		}
		if _, err := q.Exec(ctx); err != nil {
			return fmt.Errorf("%s topic: %w", action, err)
		}
		if action == TopicMove && t.RemovedAt == nil && target.ID != t.CategoryID {
			if err := models.CountTopicInCategory(ctx, tx, t.ID, t.CategoryID, -1); err != nil {
				return err
			}
			if err := models.CountTopicInCategory(ctx, tx, t.ID, target.ID, 1); err != nil {
				return err
			}
			if err := models.Reindex(ctx, tx, models.OutboxTopic, topicID, now); err != nil {
				return err
			}
		}
		_, err := Record(ctx, tx, Entry{ModeratorID: &mod.ID, Action: act, TargetType: TargetTopic, TargetID: topicID,
			TargetUserID: &t.UserID, Details: details}.because(r), now)
		return err
	})
	if err != nil {
		return nil, err
	}
	return models.TopicByID(ctx, s.db, topicID)
}
