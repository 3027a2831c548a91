package moderation

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"agora/models"
	"agora/policy"
)

// suspendInTx suspends target for days (0 with a zero until: indefinitely) or until a time.
func (s *Service) suspendInTx(ctx context.Context, tx bun.Tx, mod, target *models.User, days int, until time.Time, reason Reason, notify bool, now time.Time) error {
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
	text := reason.Text()
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
	if _, err := Record(ctx, tx, Entry{ModeratorID: &mod.ID, Action: ActSuspendUser, TargetType: TargetUser, TargetID: target.ID,
		TargetUserID: &target.ID, Details: details}.because(reason), now); err != nil {
		return err
	}
	if err := models.React(ctx, s.Events, tx, models.Event{Kind: models.EventPenalty, Users: []int64{target.ID}}); err != nil {
		return err
	}
	if !notify {
		return nil
	}
	msg := "Your account is suspended indefinitely: " + text
	if ends != nil {
		msg = "Your account is suspended until " + ends.Format("Jan 2, 2006 15:04 UTC") + ": " + text
	}
	return models.CreateNotification(ctx, tx, &models.Notification{UserID: target.ID, Kind: models.NotifySuspended, ActorID: &mod.ID, Message: msg, CreatedAt: now})
}

// Suspend suspends a member for days (0 and a zero until: indefinitely) or
// until a time, and returns the member as they now are.
// Errors: ErrForbidden (policy.Suspend), ErrNotFound, *models.ValidationError.
func (s *Service) Suspend(ctx context.Context, mod *models.User, userID int64, days int, until time.Time, reason Reason, notify bool) (*models.User, error) {
	if err := policy.Staff(mod); err != nil {
		return nil, err
	}
	target, err := models.UserByID(ctx, s.db, userID)
	if err != nil {
		return nil, err
	}
	if err := policy.Suspend(mod, target); err != nil {
		return nil, err
	}
	now := s.now()
	v := &models.ValidationError{}
	r, err := reason.clean("reason", whyBroken)
	if ve, ok := err.(*models.ValidationError); ok {
		v = ve
	}
	if days < 0 || days > 3650 {
		v.Add("days", "use 1 to 3650 days")
	}
	if !until.IsZero() && !until.After(now) {
		v.Add("until", "give a time in the future")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		return s.suspendInTx(ctx, tx, mod, target, days, until, r, notify, now)
	}); err != nil {
		return nil, err
	}
	return models.UserByID(ctx, s.db, userID)
}

// Unsuspend lifts a member's suspension now, for a reason, and returns the
// member as they now are. Errors: ErrForbidden, ErrNotFound,
// *models.ValidationError (no reason), *models.ConflictError (not suspended).
func (s *Service) Unsuspend(ctx context.Context, mod *models.User, userID int64, reason Reason) (*models.User, error) {
	if err := policy.Staff(mod); err != nil {
		return nil, err
	}
	r, err := reason.clean("reason", "say why the suspension ends early")
	if err != nil {
		return nil, err
	}
	target, err := models.UserByID(ctx, s.db, userID)
	if err != nil {
		return nil, err
	}
	now := s.now()
	if target.Suspension(now) == nil {
		return nil, &models.ConflictError{Message: "this member is not suspended"}
	}
	err = s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewUpdate().Model((*models.User)(nil)).Set("suspended_until = NULL").Set("suspended_reason = ''").
			Where("id = ?", userID).Exec(ctx); err != nil {
			return fmt.Errorf("unsuspend: %w", err)
		}
		if _, err := tx.NewUpdate().Model((*models.Suspension)(nil)).Set("lifted_at = ?", now).Set("lifted_by = ?", mod.ID).
			Where("user_id = ?", userID).Where("lifted_at IS NULL").Exec(ctx); err != nil {
			return fmt.Errorf("lift suspension: %w", err)
		}
		_, err := Record(ctx, tx, Entry{ModeratorID: &mod.ID, Action: ActUnsuspendUser, TargetType: TargetUser, TargetID: userID,
			TargetUserID: &userID}.because(r), now)
		return err
	})
	if err != nil {
		return nil, err
	}
	return models.UserByID(ctx, s.db, userID)
}

// Suspended lists the members suspended now (up to 500), whose suspension
// ends first first.
func (s *Service) Suspended(ctx context.Context, mod *models.User) ([]*models.User, error) {
	if err := policy.Staff(mod); err != nil {
		return nil, err
	}
	return models.SuspendedUsers(ctx, s.db, s.now(), 500)
}
