package moderation

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/uptrace/bun"

	"agora/models"
)

// DefaultThreshold is the open flag weight that hides a post pending review.
// A flag weighs 1 + the flagger's level (± accuracy), so three established
// members (level 2, weight 3 each) hide a post and two do not.
const DefaultThreshold = 9

// flagsPerHour limits how many flags one member may raise.
const flagsPerHour = 20

// Service is the moderation logic over one database.
type Service struct {
	DB  *bun.DB
	Now func() time.Time
}

// New returns a Service; now may be nil for time.Now.
func New(db *bun.DB, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{DB: db, Now: now}
}

func (s *Service) now() time.Time { return s.Now().UTC().Truncate(time.Microsecond) }

var (
	errOwnFlag   error = &models.ForbiddenError{Code: "own_post", Message: "you cannot flag your own post"}
	errNotStaff  error = &models.ForbiddenError{Code: "staff_only", Message: "only moderators and admins may do this"}
	errProtected error = &models.ForbiddenError{Code: "protected_user", Message: "moderators cannot suspend admins or other moderators"}
)

func requireStaff(u *models.User) error {
	if u == nil {
		return models.ErrUnauthenticated
	}
	if !u.IsStaff() {
		return errNotStaff
	}
	return nil
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

// threshold returns the category's flag threshold or the default.
func threshold(ctx context.Context, db bun.IDB, topic *models.Topic) (int, error) {
	c, err := models.CategoryByID(ctx, db, topic.CategoryID)
	if err != nil {
		return 0, err
	}
	if c.FlagThreshold != nil && *c.FlagThreshold > 0 {
		return *c.FlagThreshold, nil
	}
	return DefaultThreshold, nil
}

// FlagResult is a new flag and what it did.
type FlagResult struct {
	Flag   *models.Flag `json:"flag"`
	Hidden bool         `json:"post_hidden"`
}

// Flag records flagger's report of a post. The post is hidden pending review
// when the open weight reaches the threshold (member flags never hide staff posts).
// Errors: ErrNotFound, ErrForbidden (own post, suspended), *models.ValidationError,
// *models.ConflictError (already flagged), *models.RateLimitError.
func (s *Service) Flag(ctx context.Context, flagger *models.User, postID int64, reason, note string) (*FlagResult, error) {
	if flagger == nil {
		return nil, models.ErrUnauthenticated
	}
	now := s.now()
	if err := flagger.Suspension(now); err != nil {
		return nil, err
	}
	post, err := models.PostByID(ctx, s.DB, postID)
	if err != nil {
		return nil, err
	}
	if post.RemovedAt != nil {
		return nil, fmt.Errorf("post %d removed: %w", postID, models.ErrNotFound)
	}
	if post.UserID == flagger.ID {
		return nil, errOwnFlag
	}
	note = strings.TrimSpace(note)
	v := &models.ValidationError{}
	r, ok := ReasonByCode(reason)
	switch {
	case !ok:
		v.Add("reason", "choose one of the reasons from the community guidelines")
	case r.NeedsNote && note == "":
		v.Add("note", "tell the moderators what is wrong")
	}
	if utf8.RuneCountInString(note) > 1000 {
		v.Add("note", "keep the note under 1000 characters")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	recent, err := s.DB.NewSelect().Model((*models.Flag)(nil)).Where("user_id = ?", flagger.ID).
		Where("created_at > ?", now.Add(-time.Hour)).Count(ctx)
	if err != nil {
		return nil, err
	}
	if recent >= flagsPerHour && !flagger.IsStaff() {
		return nil, &models.RateLimitError{RetryAfter: time.Hour, Message: fmt.Sprintf("you can raise at most %d flags an hour", flagsPerHour)}
	}
	topic, err := models.TopicByID(ctx, s.DB, post.TopicID)
	if err != nil {
		return nil, err
	}
	limit, err := threshold(ctx, s.DB, topic)
	if err != nil {
		return nil, err
	}
	author, err := models.UserByID(ctx, s.DB, post.UserID)
	if err != nil {
		return nil, err
	}
	w := FlagWeight(flagger, limit)
	f := &models.Flag{PostID: postID, UserID: flagger.ID, PostUserID: post.UserID, Reason: reason, Note: note, Weight: w.Total,
		LevelPart: w.Level, AccuracyPart: w.Accuracy, Status: models.FlagOpen, CreatedAt: now}
	res := &FlagResult{Flag: f}
	err = s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewInsert().Model(f).Returning("id").Exec(ctx); err != nil {
			if models.IsUniqueViolation(err) {
				return &models.ConflictError{Field: "reason", Message: "you have already flagged this post; moderators will review it"}
			}
			return fmt.Errorf("insert flag: %w", err)
		}
		if post.HiddenAt != nil || (author.IsStaff() && !flagger.IsStaff()) {
			return nil
		}
		total, err := models.OpenFlagWeight(ctx, tx, postID)
		if err != nil || total < limit {
			return err
		}
		res.Hidden = true
		return s.hide(ctx, tx, post, topic, total, limit, now)
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// hide marks a post hidden pending review, tells its author and logs it.
func (s *Service) hide(ctx context.Context, tx bun.Tx, post *models.Post, topic *models.Topic, weight, limit int, now time.Time) error {
	if _, err := tx.NewUpdate().Model((*models.Post)(nil)).Set("hidden_at = ?", now).Where("id = ?", post.ID).Exec(ctx); err != nil {
		return fmt.Errorf("hide post: %w", err)
	}
	n := &models.Notification{UserID: post.UserID, Kind: "post_hidden", TopicID: &topic.ID, PostID: &post.ID, CreatedAt: now,
		Message: "Your post in " + topic.Title + " was flagged by the community and is hidden until a moderator reviews it."}
	if err := models.CreateNotification(ctx, tx, n); err != nil {
		return err
	}
	if _, err := appendLog(ctx, tx, Entry{Action: "auto_hide", TargetType: "post", TargetID: post.ID, TargetUserID: &post.UserID,
		Reason:  fmt.Sprintf("open flag weight %d reached the threshold %d", weight, limit),
		Details: map[string]any{"weight": weight, "threshold": limit}}, now); err != nil {
		return err
	}
	return models.Enqueue(ctx, tx, "post", post.ID, "upsert", now)
}

// Retract withdraws one of the caller's own open flags.
func (s *Service) Retract(ctx context.Context, u *models.User, flagID int64) error {
	if u == nil {
		return models.ErrUnauthenticated
	}
	f, err := models.FlagByID(ctx, s.DB, flagID)
	if err != nil {
		return err
	}
	if f.UserID != u.ID {
		return fmt.Errorf("flag %d belongs to someone else: %w", flagID, models.ErrNotFound)
	}
	res, err := s.DB.NewUpdate().Model((*models.Flag)(nil)).Set("status = ?", models.FlagRetracted).
		Set("resolved_at = ?", s.now()).Where("id = ?", flagID).Where("status = ?", models.FlagOpen).Exec(ctx)
	if err != nil {
		return fmt.Errorf("retract flag: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return &models.ConflictError{Message: "this flag was already reviewed"}
	}
	return nil
}
