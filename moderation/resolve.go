package moderation

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"agora/markup"
	"agora/models"
	"agora/policy"
)

// Resolution actions.
const (
	ActionDismiss = "dismiss"
	ActionEdit    = "edit"
	ActionRemove  = "remove"
	ActionSuspend = "suspend"
)

// Resolution is a moderator's decision on a queue entry.
type Resolution struct {
	Action      string
	Reason      Reason // required but to dismiss; readers of a removed post see only its Public form
	Body        string // edit: the new content
	SuspendDays int    // suspend: 0 means indefinitely
	KeepPost    bool   // suspend: leave the post up
	Notify      bool   // tell the author
}

// ResolveResult tells what a resolution did.
type ResolveResult struct {
	Action      string `json:"action"`
	FlagsClosed int    `json:"flags_closed"`
}

// Resolve closes every open flag on a post with one action and logs it.
// When another moderator got there first it returns a *models.ConflictError
// that says what they did; nothing is applied twice.
func (s *Service) Resolve(ctx context.Context, mod *models.User, postID int64, r Resolution) (*ResolveResult, error) {
	if err := policy.Staff(mod); err != nil {
		return nil, err
	}
	post, topic, err := s.postAndTopic(ctx, postID)
	if err != nil {
		return nil, err
	}
	v := &models.ValidationError{}
	switch r.Action {
	case ActionDismiss, ActionRemove:
	case ActionEdit:
		if strings.TrimSpace(r.Body) == "" {
			v.Add("body", "give the edited content")
		}
	case ActionSuspend:
		if r.SuspendDays < 0 || r.SuspendDays > 3650 {
			v.Add("suspend_days", "use 1 to 3650 days, or 0 for an indefinite suspension")
		}
	default:
		v.Add("action", "use dismiss, edit, remove or suspend")
	}
	required := whyBroken
	if r.Action == ActionDismiss {
		required = whyOptional // the flags were wrong: no guideline to name
	}
	reason, rerr := r.Reason.clean("reason", required)
	if ve, ok := rerr.(*models.ValidationError); ok {
		for k, why := range ve.Fields {
			v.Add(k, why)
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	author, err := models.UserByID(ctx, s.db, post.UserID)
	if err != nil {
		return nil, err
	}
	if r.Action == ActionSuspend {
		if err := policy.Suspend(mod, author); err != nil {
			return nil, err
		}
	}
	now := s.now()
	agreed := r.Action != ActionDismiss
	status := models.FlagAgreed
	if !agreed {
		status = models.FlagDisagreed
	}
	res := &ResolveResult{Action: r.Action}
	err = s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		// Closing the flags first is the guard: a second moderator finds none open.
		var flaggers []int64
		if err := tx.NewSelect().Model((*models.Flag)(nil)).Column("user_id").Where("post_id = ?", postID).
			Where("status = ?", models.FlagOpen).Scan(ctx, &flaggers); err != nil {
			return fmt.Errorf("load open flags: %w", err)
		}
		upd, err := tx.NewUpdate().Model((*models.Flag)(nil)).Set("status = ?", status).Set("outcome = ?", r.Action).
			Set("resolved_by = ?", mod.ID).Set("resolved_at = ?", now).
			Where("post_id = ?", postID).Where("status = ?", models.FlagOpen).Exec(ctx)
		if err != nil {
			return fmt.Errorf("close flags: %w", err)
		}
		n, _ := upd.RowsAffected()
		if n == 0 {
			return s.alreadyResolved(ctx, tx, postID)
		}
		res.FlagsClosed = int(n)
		// The members first, then the post and topic: models.LockUsers.
		if err := models.LockUsers(ctx, tx, append(flaggers, post.UserID)...); err != nil {
			return err
		}
		if err := models.CountFlagOutcome(ctx, tx, flaggers, agreed); err != nil {
			return err
		}
		switch r.Action {
		case ActionDismiss:
			if err := s.unhide(ctx, tx, post, now); err != nil {
				return err
			}
			if _, err := Record(ctx, tx, Entry{ModeratorID: &mod.ID, Action: ActDismissFlags, TargetType: TargetPost, TargetID: post.ID,
				TargetUserID: &post.UserID, Details: map[string]any{"flags": n}}.because(reason), now); err != nil {
				return err
			}
		case ActionEdit:
			if err := s.editInTx(ctx, tx, mod, post, topic, r.Body, reason, r.Notify, now); err != nil {
				return err
			}
			if err := s.unhide(ctx, tx, post, now); err != nil {
				return err
			}
		case ActionRemove:
			if err := s.removeInTx(ctx, tx, mod, post, topic, reason, r.Notify, now); err != nil {
				return err
			}
		case ActionSuspend:
			if r.KeepPost {
				// The post stays up: its review is over, so it is no longer hidden pending one.
				if err := s.unhide(ctx, tx, post, now); err != nil {
					return err
				}
			} else if err := s.removeInTx(ctx, tx, mod, post, topic, reason, false, now); err != nil {
				return err
			}
			if err := s.suspendInTx(ctx, tx, mod, author, r.SuspendDays, time.Time{}, reason, r.Notify, now); err != nil {
				return err
			}
		}
		for _, f := range flaggers {
			msg := "Thanks for your report in " + topic.Title + ": a moderator reviewed it and took action."
			if !agreed {
				msg = "A moderator reviewed your report in " + topic.Title + " and found no violation of the guidelines."
			}
			if err := models.CreateNotification(ctx, tx, &models.Notification{UserID: f, Kind: models.NotifyFlagOutcome, TopicID: &topic.ID,
				PostID: &post.ID, Message: msg, CreatedAt: now}); err != nil {
				return err
			}
		}
		return models.React(ctx, s.Events, tx, models.Event{Kind: models.EventFlagResolved, Users: append(flaggers, post.UserID)})
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// alreadyResolved builds the 409 that tells the second moderator what the first did.
// It reads the closed flags rather than the log: the log entry of a resolution
// may target the topic (first post removed) or the member (suspension), or be
// absent from the post's entries altogether (suspension keeping the post).
func (s *Service) alreadyResolved(ctx context.Context, tx bun.IDB, postID int64) error {
	var last models.Flag
	err := tx.NewSelect().Model(&last).Where("post_id = ?", postID).
		Where("status IN (?)", bun.List([]string{models.FlagAgreed, models.FlagDisagreed})).
		OrderExpr("resolved_at DESC, id DESC").Limit(1).Scan(ctx)
	msg := "there are no open flags on this post"
	if err == nil && last.ResolvedBy != nil && last.ResolvedAt != nil {
		who := "another moderator"
		if u, err := models.UserByID(ctx, tx, *last.ResolvedBy); err == nil {
			who = u.Username
		}
		msg = fmt.Sprintf("already resolved: %s chose %q at %s", who, last.Outcome, last.ResolvedAt.UTC().Format(time.RFC3339))
	}
	return &models.ConflictError{Message: msg}
}

func (s *Service) unhide(ctx context.Context, tx bun.IDB, post *models.Post, now time.Time) error {
	if post.HiddenAt == nil {
		return nil
	}
	if _, err := tx.NewUpdate().Model((*models.Post)(nil)).Set("hidden_at = NULL").Where("id = ?", post.ID).Exec(ctx); err != nil {
		return fmt.Errorf("unhide post: %w", err)
	}
	return models.Reindex(ctx, tx, models.OutboxPost, post.ID, now)
}

func (s *Service) editInTx(ctx context.Context, tx bun.Tx, mod *models.User, post *models.Post, topic *models.Topic, body string, reason Reason, notify bool, now time.Time) error {
	if err := models.ApplyPostEdit(ctx, tx, post, mod.ID, body, markup.Render(body), markup.Version, reason.Text(), now); err != nil {
		return err
	}
	if _, err := Record(ctx, tx, Entry{ModeratorID: &mod.ID, Action: ActEditPost, TargetType: TargetPost, TargetID: post.ID,
		TargetUserID: &post.UserID, Details: map[string]any{"before": post.Body, "after": body}}.because(reason), now); err != nil {
		return err
	}
	if !notify || mod.ID == post.UserID {
		return nil
	}
	return models.CreateNotification(ctx, tx, &models.Notification{UserID: post.UserID, Kind: models.NotifyPostEdited, ActorID: &mod.ID,
		TopicID: &topic.ID, PostID: &post.ID, CreatedAt: now,
		Message: "A moderator edited your post in " + topic.Title + ": " + reason.Text()})
}

// removeInTx soft-deletes a post (and its topic when it is the first post);
// the content stays for staff, appeals and, for genuine threats, the authorities.
func (s *Service) removeInTx(ctx context.Context, tx bun.Tx, mod *models.User, post *models.Post, topic *models.Topic, reason Reason, notify bool, now time.Time) error {
	if post.RemovedAt != nil {
		return nil
	}
	if _, err := tx.NewUpdate().Model((*models.Post)(nil)).Set("removed_at = ?", now).Set("removed_by = ?", mod.ID).
		Set("removed_reason = ?", reason.Public()).Set("hidden_at = NULL").Where("id = ?", post.ID).Exec(ctx); err != nil {
		return fmt.Errorf("remove post: %w", err)
	}
	action, target, targetID := ActRemovePost, TargetPost, post.ID
	if post.PostNumber == 1 {
		action, target, targetID = ActRemoveTopic, TargetTopic, topic.ID
		if _, err := tx.NewUpdate().Model((*models.Topic)(nil)).Set("removed_at = ?", now).Where("id = ?", topic.ID).Exec(ctx); err != nil {
			return fmt.Errorf("remove topic: %w", err)
		}
		// A category counts its visible topics and their visible posts (what a move carries).
		if err := models.CountTopicInCategory(ctx, tx, topic.ID, topic.CategoryID, -1); err != nil {
			return err
		}
		if err := models.Reindex(ctx, tx, models.OutboxTopic, topic.ID, now); err != nil {
			return err
		}
	} else if err := countReply(ctx, tx, topic, -1); err != nil {
		return err
	}
	if _, err := Record(ctx, tx, Entry{ModeratorID: &mod.ID, Action: action, TargetType: target, TargetID: targetID,
		TargetUserID: &post.UserID, Details: map[string]any{"post_id": post.ID}}.because(reason), now); err != nil {
		return err
	}
	if err := models.Reindex(ctx, tx, models.OutboxPost, post.ID, now); err != nil {
		return err
	}
	if err := models.React(ctx, s.Events, tx, models.Event{Kind: models.EventPenalty, Users: []int64{post.UserID}}); err != nil {
		return err
	}
	if !notify {
		return nil
	}
	return models.CreateNotification(ctx, tx, &models.Notification{UserID: post.UserID, Kind: models.NotifyPostRemoved, ActorID: &mod.ID,
		TopicID: &topic.ID, PostID: &post.ID, CreatedAt: now,
		Message: "A moderator removed your post in " + topic.Title + " for violating the community guidelines (" + reason.Text() + ")."})
}

// countReply counts a reply in (delta 1) or out of (delta -1) its topic and,
// while the topic itself is visible, its category.
func countReply(ctx context.Context, tx bun.IDB, topic *models.Topic, delta int) error {
	if err := models.CountReplies(ctx, tx, topic.ID, delta); err != nil {
		return err
	}
	if topic.RemovedAt != nil {
		return nil
	}
	return models.CountCategory(ctx, tx, topic.CategoryID, 0, delta)
}
