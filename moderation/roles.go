package moderation

import (
	"context"

	"github.com/uptrace/bun"

	"agora/models"
	"agora/policy"
)

// SetRole makes a member a member, moderator or admin (admins only) and
// logs it, in one transaction, and returns the member as they now are. The
// last admin cannot be demoted (policy.ChangeRole), even by two admins at once.
// Errors: ErrForbidden, ErrNotFound, *models.ValidationError, *models.ConflictError.
func (s *Service) SetRole(ctx context.Context, admin *models.User, userID int64, role string) (*models.User, error) {
	if err := policy.Admin(admin); err != nil {
		return nil, err
	}
	now := s.now()
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		admins, err := models.LockAdmins(ctx, tx)
		if err != nil {
			return err
		}
		target, err := models.UserByID(ctx, tx, userID)
		if err != nil {
			return err
		}
		if err := policy.ChangeRole(admin, target, role, admins); err != nil {
			return err
		}
		if target.Role == role {
			return nil
		}
		if err := models.SetUserRole(ctx, tx, userID, role, now); err != nil {
			return err
		}
		_, err = Record(ctx, tx, Entry{ModeratorID: &admin.ID, Action: ActChangeRole, TargetType: TargetUser, TargetID: userID,
			TargetUserID: &userID, Details: map[string]any{"from": target.Role, "to": role}}, now)
		return err
	})
	if err != nil {
		return nil, err
	}
	return models.UserByID(ctx, s.db, userID)
}
