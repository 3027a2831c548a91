package moderation

import (
	"context"
	"math"
	"time"

	"github.com/uptrace/bun"

	"agora/models"
)

// DefaultThreshold is the open flag weight that hides a post pending review.
// A flag weighs 1 + the flagger's level (± accuracy), so three established
// members (level 2, weight 3 each) hide a post and two do not.
const DefaultThreshold = 9

// Service is the moderation logic over one database.
type Service struct {
	db  *bun.DB
	Now func() time.Time
	// Events, when set, hears of upheld flags and penalties in their transaction (levels, badges).
	Events models.Reactor
}

// New returns a Service; now may be nil for time.Now.
func New(db *bun.DB, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{db: db, Now: now}
}

func (s *Service) now() time.Time { return s.Now().UTC().Truncate(time.Microsecond) }

// Threshold is the open flag weight that hides a post in category c: its
// own threshold, or DefaultThreshold.
func Threshold(c *models.Category) int {
	if c != nil && c.FlagThreshold != nil && *c.FlagThreshold > 0 {
		return *c.FlagThreshold
	}
	return DefaultThreshold
}

// Weight explains a flag's weight: 1 + level part + accuracy part (never below 0).
type Weight struct {
	Level    int `json:"level_part"`
	Accuracy int `json:"accuracy_part"`
	Total    int `json:"weight"`
}

// FlagWeight returns the weight of a flag by u. Accuracy counts once more
// than five of u's flags were reviewed: from -2 (always wrong) to +2 (always right).
func FlagWeight(u *models.User, threshold int) Weight {
	if u.IsStaff() {
		return Weight{Total: threshold} // staff flags act at once
	}
	w := Weight{Level: u.Level}
	if reviewed := u.FlagsAgreed + u.FlagsDisagreed; reviewed > 5 {
		acc := float64(u.FlagsAgreed) / float64(reviewed)
		w.Accuracy = int(math.Round((acc - 0.5) * 4))
	}
	w.Total = max(0, 1+w.Level+w.Accuracy)
	return w
}

// Accuracy is the share of a member's reviewed flags that moderators agreed
// with, or -1 when none were reviewed.
func Accuracy(u *models.User) float64 {
	if u.FlagsAgreed+u.FlagsDisagreed == 0 {
		return -1
	}
	return float64(u.FlagsAgreed) / float64(u.FlagsAgreed+u.FlagsDisagreed)
}

// postAndTopic loads a post and its topic.
func (s *Service) postAndTopic(ctx context.Context, postID int64) (*models.Post, *models.Topic, error) {
	p, err := models.PostByID(ctx, s.db, postID)
	if err != nil {
		return nil, nil, err
	}
	t, err := models.TopicByID(ctx, s.db, p.TopicID)
	if err != nil {
		return nil, nil, err
	}
	return p, t, nil
}
