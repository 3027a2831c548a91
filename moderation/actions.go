package moderation

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/uptrace/bun"

	"agora/markup"
	"agora/models"
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
	Action string
	// Reason explains the decision: a guideline code ("spam"), a code and an
	// explanation ("spam: the same link five times"), or free text. Readers of
	// a removed post see only the guideline's title.
	Reason      string
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
	if err := requireStaff(mod); err != nil {
		return nil, err
	}
	post, err := models.PostByID(ctx, s.DB, postID)
	if err != nil {
		return nil, err
	}
	r.Reason = strings.TrimSpace(r.Reason)
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
	if r.Action != ActionDismiss && r.Reason == "" {
		v.Add("reason", "say which guideline was broken, or why")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	author, err := models.UserByID(ctx, s.DB, post.UserID)
	if err != nil {
		return nil, err
	}
	if r.Action == ActionSuspend {
		if err := canSuspend(mod, author); err != nil {
			return nil, err
		}
	}
	topic, err := models.TopicByID(ctx, s.DB, post.TopicID)
	if err != nil {
		return nil, err
	}
	now := s.now()
	outcome := r.Action
	status := models.FlagAgreed
	if r.Action == ActionDismiss {
		status = models.FlagDisagreed
	}
	res := &ResolveResult{Action: r.Action}
	err = s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		// Closing the flags first is the guard: a second moderator finds none open.
		var flaggers []int64
		if err := tx.NewSelect().Model((*models.Flag)(nil)).Column("user_id").Where("post_id = ?", postID).
			Where("status = ?", models.FlagOpen).Scan(ctx, &flaggers); err != nil {
			return fmt.Errorf("load open flags: %w", err)
		}
		upd, err := tx.NewUpdate().Model((*models.Flag)(nil)).Set("status = ?", status).Set("outcome = ?", outcome).
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
		col := "flags_agreed"
		if status == models.FlagDisagreed {
			col = "flags_disagreed"
		}
		if _, err := tx.NewUpdate().Model((*models.User)(nil)).Set(col+" = "+col+" + 1").
			Where("id IN (?)", bun.In(flaggers)).Exec(ctx); err != nil {
			return fmt.Errorf("count flag outcomes: %w", err)
		}
		switch r.Action {
		case ActionDismiss:
			if err := s.unhide(ctx, tx, post, now); err != nil {
				return err
			}
			if _, err := appendLog(ctx, tx, Entry{ModeratorID: &mod.ID, Action: "dismiss_flags", TargetType: "post", TargetID: post.ID,
				TargetUserID: &post.UserID, Reason: r.Reason, Details: map[string]any{"flags": n}}, now); err != nil {
				return err
			}
		case ActionEdit:
			if err := s.editInTx(ctx, tx, mod, post, topic, r.Body, r.Reason, r.Notify, now); err != nil {
				return err
			}
			if err := s.unhide(ctx, tx, post, now); err != nil {
				return err
			}
		case ActionRemove:
			if err := s.removeInTx(ctx, tx, mod, post, topic, r.Reason, r.Notify, now); err != nil {
				return err
			}
		case ActionSuspend:
			if r.KeepPost {
				// The post stays up: its review is over, so it is no longer hidden pending one.
				if err := s.unhide(ctx, tx, post, now); err != nil {
					return err
				}
			} else if err := s.removeInTx(ctx, tx, mod, post, topic, r.Reason, false, now); err != nil {
				return err
			}
			if err := s.suspendInTx(ctx, tx, mod, author, r.SuspendDays, time.Time{}, r.Reason, r.Notify, now); err != nil {
				return err
			}
		}
		for _, f := range flaggers {
			msg := "Thanks for your report in " + topic.Title + ": a moderator reviewed it and took action."
			if status == models.FlagDisagreed {
				msg = "A moderator reviewed your report in " + topic.Title + " and found no violation of the guidelines."
			}
			if err := models.CreateNotification(ctx, tx, &models.Notification{UserID: f, Kind: "flag_outcome", TopicID: &topic.ID,
				PostID: &post.ID, Message: msg, CreatedAt: now}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// splitReason reads a moderator's reason: a guideline code ("spam"), a code
// with an explanation ("spam: posted the same link five times"), or free text.
func splitReason(reason string) (guideline, text string) {
	code, rest, _ := strings.Cut(reason, ":")
	if _, ok := ReasonByCode(strings.TrimSpace(code)); ok {
		return strings.TrimSpace(code), strings.TrimSpace(rest)
	}
	return "", reason
}

// guidelineOf returns the guideline code a reason names, or "".
func guidelineOf(reason string) string {
	g, _ := splitReason(reason)
	return g
}

// reasonText is the reason as the member concerned reads it: the
// guideline's title and the explanation.
func reasonText(reason string) string {
	g, text := splitReason(reason)
	r, ok := ReasonByCode(g)
	switch {
	case !ok:
		return text
	case text == "":
		return r.Title
	}
	return r.Title + ": " + text
}

// publicReason is what every reader of a removed post sees: only the
// guideline's title, never the moderator's own words (unless no guideline was named).
func publicReason(reason string) string {
	if r, ok := ReasonByCode(guidelineOf(reason)); ok {
		return r.Title
	}
	return reason
}

// alreadyResolved builds the 409 that tells the second moderator what the first did.
// It reads the closed flags rather than the log: the log entry of a resolution
// may target the topic (first post removed) or the member (suspension), or be
// absent from the post's entries altogether (suspension keeping the post).
func (s *Service) alreadyResolved(ctx context.Context, tx bun.IDB, postID int64) error {
	var last models.Flag
	err := tx.NewSelect().Model(&last).Where("post_id = ?", postID).
		Where("status IN (?)", bun.In([]string{models.FlagAgreed, models.FlagDisagreed})).
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
	return models.Enqueue(ctx, tx, "post", post.ID, "upsert", now)
}

func (s *Service) editInTx(ctx context.Context, tx bun.Tx, mod *models.User, post *models.Post, topic *models.Topic, body, reason string, notify bool, now time.Time) error {
	if err := models.ApplyPostEdit(ctx, tx, post, mod.ID, body, markup.Render(body), markup.Version, reason, now); err != nil {
		return err
	}
	if _, err := appendLog(ctx, tx, Entry{ModeratorID: &mod.ID, Action: "edit_post", TargetType: "post", TargetID: post.ID,
		TargetUserID: &post.UserID, Guideline: guidelineOf(reason), Reason: reason,
		Details: map[string]any{"before": post.Body, "after": body}}, now); err != nil {
		return err
	}
	if !notify || mod.ID == post.UserID {
		return nil
	}
	return models.CreateNotification(ctx, tx, &models.Notification{UserID: post.UserID, Kind: "post_edited", ActorID: &mod.ID,
		TopicID: &topic.ID, PostID: &post.ID, CreatedAt: now,
		Message: "A moderator edited your post in " + topic.Title + ": " + reasonText(reason)})
}

// removeInTx soft-deletes a post (and its topic when it is the first post);
// the content stays for staff, appeals and, for genuine threats, the authorities.
func (s *Service) removeInTx(ctx context.Context, tx bun.Tx, mod *models.User, post *models.Post, topic *models.Topic, reason string, notify bool, now time.Time) error {
	if post.RemovedAt != nil {
		return nil
	}
	text := reasonText(reason)
	if _, err := tx.NewUpdate().Model((*models.Post)(nil)).Set("removed_at = ?", now).Set("removed_by = ?", mod.ID).
		Set("removed_reason = ?", publicReason(reason)).Set("hidden_at = NULL").Where("id = ?", post.ID).Exec(ctx); err != nil {
		return fmt.Errorf("remove post: %w", err)
	}
	target, targetID := "post", post.ID
	if post.PostNumber == 1 {
		target, targetID = "topic", topic.ID
		if _, err := tx.NewUpdate().Model((*models.Topic)(nil)).Set("removed_at = ?", now).Where("id = ?", topic.ID).Exec(ctx); err != nil {
			return fmt.Errorf("remove topic: %w", err)
		}
		// A category counts its visible topics and their visible posts (what a move carries).
		if err := bumpTopicInCategory(ctx, tx, topic, "-"); err != nil {
			return err
		}
		if err := models.Enqueue(ctx, tx, "topic", topic.ID, "upsert", now); err != nil {
			return err
		}
	} else if err := bumpReply(ctx, tx, topic, "-"); err != nil {
		return err
	}
	if _, err := appendLog(ctx, tx, Entry{ModeratorID: &mod.ID, Action: "remove_" + target, TargetType: target, TargetID: targetID,
		TargetUserID: &post.UserID, Guideline: guidelineOf(reason), Reason: reason,
		Details: map[string]any{"post_id": post.ID}}, now); err != nil {
		return err
	}
	if err := models.Enqueue(ctx, tx, "post", post.ID, "upsert", now); err != nil {
		return err
	}
	if !notify {
		return nil
	}
	return models.CreateNotification(ctx, tx, &models.Notification{UserID: post.UserID, Kind: "post_removed", ActorID: &mod.ID,
		TopicID: &topic.ID, PostID: &post.ID, CreatedAt: now,
		Message: "A moderator removed your post in " + topic.Title + " for violating the community guidelines (" + text + ")."})
}

// bumpTopicInCategory adds (sign "+") or takes (sign "-") a topic and its
// visible posts to or from its category's counters.
func bumpTopicInCategory(ctx context.Context, tx bun.IDB, topic *models.Topic, sign string) error {
	if _, err := tx.NewUpdate().Table("categories").Set("topic_count = topic_count "+sign+" 1").
		Set("post_count = post_count "+sign+" (SELECT reply_count + 1 FROM topics WHERE id = ?)", topic.ID).
		Where("id = ?", topic.CategoryID).Exec(ctx); err != nil {
		return fmt.Errorf("update categories counters: %w", err)
	}
	return nil
}

// bumpReply counts a reply in (sign "+") or out of (sign "-") its topic and,
// while the topic itself is visible, its category.
func bumpReply(ctx context.Context, tx bun.IDB, topic *models.Topic, sign string) error {
	if err := models.Bump(ctx, tx, "topics", topic.ID, "reply_count = reply_count "+sign+" 1"); err != nil {
		return err
	}
	if topic.RemovedAt != nil {
		return nil
	}
	return models.Bump(ctx, tx, "categories", topic.CategoryID, "post_count = post_count "+sign+" 1")
}

// canSuspend: nobody suspends an admin; only admins suspend moderators; nobody suspends themself.
func canSuspend(mod, target *models.User) error {
	switch {
	case mod.ID == target.ID:
		return &models.ForbiddenError{Code: "self", Message: "you cannot suspend yourself"}
	case target.IsAdmin(), target.IsStaff() && !mod.IsAdmin():
		return errProtected
	}
	return nil
}

// suspendInTx suspends target for days (0 with a zero until: indefinitely) or until a time.
func (s *Service) suspendInTx(ctx context.Context, tx bun.Tx, mod, target *models.User, days int, until time.Time, reason string, notify bool, now time.Time) error {
	var ends *time.Time
	switch {
	case !until.IsZero():
		ends = &until
	case days > 0:
		t := now.AddDate(0, 0, days)
		ends = &t
	}
	stored := models.IndefiniteSuspension
	if ends != nil {
		stored = *ends
	}
	text := reasonText(reason)
	if _, err := tx.NewUpdate().Model((*models.User)(nil)).Set("suspended_until = ?", stored).
		Set("suspended_reason = ?", text).Set("updated_at = ?", now).Where("id = ?", target.ID).Exec(ctx); err != nil {
		return fmt.Errorf("suspend: %w", err)
	}
	sp := &models.Suspension{UserID: target.ID, ModeratorID: &mod.ID, Reason: text, Notified: notify, StartsAt: now, EndsAt: ends, CreatedAt: now}
	if _, err := tx.NewInsert().Model(sp).Exec(ctx); err != nil {
		return fmt.Errorf("record suspension: %w", err)
	}
	details := map[string]any{"indefinite": ends == nil, "notified": notify}
	if ends != nil {
		details["until"] = ends.Format(time.RFC3339)
	}
	if _, err := appendLog(ctx, tx, Entry{ModeratorID: &mod.ID, Action: "suspend_user", TargetType: "user", TargetID: target.ID,
		TargetUserID: &target.ID, Guideline: guidelineOf(reason), Reason: reason, Details: details}, now); err != nil {
		return err
	}
	if !notify {
		return nil
	}
	msg := "Your account is suspended indefinitely: " + text
	if ends != nil {
		msg = "Your account is suspended until " + ends.Format("Jan 2, 2006 15:04 UTC") + ": " + text
	}
	return models.CreateNotification(ctx, tx, &models.Notification{UserID: target.ID, Kind: "suspended", ActorID: &mod.ID, Message: msg, CreatedAt: now})
}

// Suspend suspends a member for days (0 and a zero until: indefinitely) or until a time.
func (s *Service) Suspend(ctx context.Context, mod *models.User, userID int64, days int, until time.Time, reason string, notify bool) error {
	if err := requireStaff(mod); err != nil {
		return err
	}
	target, err := models.UserByID(ctx, s.DB, userID)
	if err != nil {
		return err
	}
	if err := canSuspend(mod, target); err != nil {
		return err
	}
	now := s.now()
	reason = strings.TrimSpace(reason)
	v := &models.ValidationError{}
	if reason == "" {
		v.Add("reason", "say why")
	}
	if days < 0 || days > 3650 {
		v.Add("days", "use 1 to 3650 days")
	}
	if !until.IsZero() && !until.After(now) {
		v.Add("until", "give a time in the future")
	}
	if err := v.Err(); err != nil {
		return err
	}
	return s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		return s.suspendInTx(ctx, tx, mod, target, days, until, reason, notify, now)
	})
}

// Unsuspend lifts a member's suspension now.
func (s *Service) Unsuspend(ctx context.Context, mod *models.User, userID int64, reason string) error {
	if err := requireStaff(mod); err != nil {
		return err
	}
	target, err := models.UserByID(ctx, s.DB, userID)
	if err != nil {
		return err
	}
	now := s.now()
	if target.Suspension(now) == nil {
		return &models.ConflictError{Message: "this member is not suspended"}
	}
	return s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewUpdate().Model((*models.User)(nil)).Set("suspended_until = NULL").Set("suspended_reason = ''").
			Where("id = ?", userID).Exec(ctx); err != nil {
			return fmt.Errorf("unsuspend: %w", err)
		}
		if _, err := tx.NewUpdate().Model((*models.Suspension)(nil)).Set("lifted_at = ?", now).Set("lifted_by = ?", mod.ID).
			Where("user_id = ?", userID).Where("lifted_at IS NULL").Exec(ctx); err != nil {
			return fmt.Errorf("lift suspension: %w", err)
		}
		_, err := appendLog(ctx, tx, Entry{ModeratorID: &mod.ID, Action: "unsuspend_user", TargetType: "user", TargetID: userID,
			TargetUserID: &userID, Reason: strings.TrimSpace(reason)}, now)
		return err
	})
}

// RemovePost removes a post outside the queue (open flags on it count as agreed).
func (s *Service) RemovePost(ctx context.Context, mod *models.User, postID int64, reason string) error {
	_, err := s.postTool(ctx, mod, postID, reason, func(ctx context.Context, tx bun.Tx, post *models.Post, topic *models.Topic, now time.Time) error {
		if post.RemovedAt != nil {
			return &models.ConflictError{Message: "this post is already removed"}
		}
		return s.removeInTx(ctx, tx, mod, post, topic, reason, true, now)
	})
	return err
}

// RestorePost puts a removed post (and its topic, for a first post) back.
func (s *Service) RestorePost(ctx context.Context, mod *models.User, postID int64, reason string) error {
	_, err := s.postTool(ctx, mod, postID, reason, func(ctx context.Context, tx bun.Tx, post *models.Post, topic *models.Topic, now time.Time) error {
		if post.RemovedAt == nil {
			return &models.ConflictError{Message: "this post is not removed"}
		}
		if _, err := tx.NewUpdate().Model((*models.Post)(nil)).Set("removed_at = NULL").Set("removed_by = NULL").
			Set("removed_reason = ''").Where("id = ?", post.ID).Exec(ctx); err != nil {
			return fmt.Errorf("restore post: %w", err)
		}
		target, targetID := "post", post.ID
		if post.PostNumber == 1 {
			target, targetID = "topic", topic.ID
			if _, err := tx.NewUpdate().Model((*models.Topic)(nil)).Set("removed_at = NULL").Where("id = ?", topic.ID).Exec(ctx); err != nil {
				return fmt.Errorf("restore topic: %w", err)
			}
			if err := bumpTopicInCategory(ctx, tx, topic, "+"); err != nil {
				return err
			}
			if err := models.Enqueue(ctx, tx, "topic", topic.ID, "upsert", now); err != nil {
				return err
			}
		} else if err := bumpReply(ctx, tx, topic, "+"); err != nil {
			return err
		}
		if _, err := appendLog(ctx, tx, Entry{ModeratorID: &mod.ID, Action: "restore_" + target, TargetType: target, TargetID: targetID,
			TargetUserID: &post.UserID, Reason: reason, Details: map[string]any{"post_id": post.ID}}, now); err != nil {
			return err
		}
		return models.Enqueue(ctx, tx, "post", post.ID, "upsert", now)
	})
	return err
}

// EditPost edits any post as a moderator, with a reason, keeping a revision.
func (s *Service) EditPost(ctx context.Context, mod *models.User, postID int64, body, reason string, notify bool) error {
	if strings.TrimSpace(body) == "" || utf8.RuneCountInString(body) > 50000 {
		return &models.ValidationError{Fields: map[string]string{"body": "give 1 to 50000 characters"}}
	}
	_, err := s.postTool(ctx, mod, postID, reason, func(ctx context.Context, tx bun.Tx, post *models.Post, topic *models.Topic, now time.Time) error {
		return s.editInTx(ctx, tx, mod, post, topic, body, reason, notify, now)
	})
	return err
}

// postTool runs a staff action on a post inside one transaction.
func (s *Service) postTool(ctx context.Context, mod *models.User, postID int64, reason string,
	act func(ctx context.Context, tx bun.Tx, post *models.Post, topic *models.Topic, now time.Time) error) (*models.Post, error) {
	if err := requireStaff(mod); err != nil {
		return nil, err
	}
	if strings.TrimSpace(reason) == "" {
		return nil, &models.ValidationError{Fields: map[string]string{"reason": "say why"}}
	}
	post, err := models.PostByID(ctx, s.DB, postID)
	if err != nil {
		return nil, err
	}
	topic, err := models.TopicByID(ctx, s.DB, post.TopicID)
	if err != nil {
		return nil, err
	}
	now := s.now()
	return post, s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		return act(ctx, tx, post, topic, now)
	})
}

// Topic tools.
const (
	TopicLock   = "lock"
	TopicUnlock = "unlock"
	TopicPin    = "pin"
	TopicUnpin  = "unpin"
	TopicMove   = "move"
)

// TopicAction locks, unlocks, pins, unpins or moves a topic, with a reason.
func (s *Service) TopicAction(ctx context.Context, mod *models.User, topicID int64, action, reason string, categoryID int64) (*models.Topic, error) {
	if err := requireStaff(mod); err != nil {
		return nil, err
	}
	reason = strings.TrimSpace(reason)
	v := &models.ValidationError{}
	if reason == "" {
		v.Add("reason", "say why")
	}
	t, err := models.TopicByID(ctx, s.DB, topicID)
	if err != nil {
		return nil, err
	}
	var target *models.Category
	if action == TopicMove {
		if target, err = models.CategoryByID(ctx, s.DB, categoryID); models.IsNotFound(err) {
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
	err = s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		q := tx.NewUpdate().Model((*models.Topic)(nil)).Where("id = ?", topicID).Set("updated_at = ?", now)
		switch action {
		case TopicLock, TopicUnlock:
			q.Set("locked = ?", action == TopicLock)
		case TopicPin, TopicUnpin:
			q.Set("pinned = ?", action == TopicPin)
		case TopicMove:
			q.Set("category_id = ?", target.ID)
			details["from"], details["to"] = t.CategoryID, target.ID
		default:
			return &models.ValidationError{Fields: map[string]string{"action": "use lock, unlock, pin, unpin or move"}}
		}
		if _, err := q.Exec(ctx); err != nil {
			return fmt.Errorf("%s topic: %w", action, err)
		}
		if action == TopicMove && t.RemovedAt == nil && target.ID != t.CategoryID {
			posts := t.ReplyCount + 1
			if err := models.Bump(ctx, tx, "categories", t.CategoryID, fmt.Sprintf("topic_count = topic_count - 1, post_count = post_count - %d", posts)); err != nil {
				return err
			}
			if err := models.Bump(ctx, tx, "categories", target.ID, fmt.Sprintf("topic_count = topic_count + 1, post_count = post_count + %d", posts)); err != nil {
				return err
			}
			if err := models.Enqueue(ctx, tx, "topic", topicID, "upsert", now); err != nil {
				return err
			}
		}
		_, err := appendLog(ctx, tx, Entry{ModeratorID: &mod.ID, Action: action + "_topic", TargetType: "topic", TargetID: topicID,
			TargetUserID: &t.UserID, Reason: reason, Details: details}, now)
		return err
	})
	if err != nil {
		return nil, err
	}
	return models.TopicByID(ctx, s.DB, topicID)
}
