package mailer

import (
	"context"

	"agora/models"
	"agora/policy"
)

// Preferences is a member's email settings as /settings shows them.
type Preferences struct {
	*models.EmailPreferences
	Email    string `json:"email"`
	Verified bool   `json:"verified"`
}

// PreferencesOf returns u's email settings. Errors: ErrUnauthenticated.
func (s *Service) PreferencesOf(ctx context.Context, u *models.User) (*Preferences, error) {
	if err := policy.SignedIn(u); err != nil {
		return nil, err
	}
	p, err := models.EmailPreferencesOf(ctx, s.db, u.ID)
	if err != nil {
		return nil, err
	}
	return &Preferences{EmailPreferences: p, Email: u.Email, Verified: u.EmailVerifiedAt != nil}, nil
}

// PreferencesInput is what a member chose; StaffAlerts counts for staff only.
type PreferencesInput struct {
	Replies     bool   `json:"replies"`
	Mentions    bool   `json:"mentions"`
	Solution    bool   `json:"solution"`
	Moderation  bool   `json:"moderation"`
	StaffAlerts bool   `json:"staff_alerts"`
	Digest      string `json:"digest"`
}

// SavePreferences stores u's choices. Errors: ErrUnauthenticated, *ValidationError (digest).
func (s *Service) SavePreferences(ctx context.Context, u *models.User, in PreferencesInput) (*Preferences, error) {
	p, err := s.PreferencesOf(ctx, u)
	if err != nil {
		return nil, err
	}
	var v models.ValidationError
	switch in.Digest {
	case "":
		in.Digest = models.DigestNever
	case models.DigestNever, models.DigestDaily, models.DigestWeekly:
	default:
		v.Add("digest", "choose never, daily or weekly")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	p.NotifyReplies, p.NotifyMentions, p.NotifySolution, p.NotifyModeration = in.Replies, in.Mentions, in.Solution, in.Moderation
	p.NotifyStaff, p.Digest = in.StaffAlerts && u.IsStaff(), in.Digest
	if err := models.SaveEmailPreferences(ctx, s.db, p.EmailPreferences, s.now()); err != nil {
		return nil, err
	}
	return p, nil
}
