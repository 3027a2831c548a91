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

// FlagResult is a new flag and what it did.
type FlagResult struct {
	Flag   *models.Flag `json:"flag"`
	Hidden bool         `json:"post_hidden"`
}

// Flaggable is a post the viewer may flag, with its topic and author (nil
// for a former member): what the flag form shows.
type Flaggable struct {
	Post   *models.Post
	Topic  *models.Topic
	Author *models.User
}

// FlaggablePost loads a post that u may flag (policy.Flag).
// Errors: ErrNotFound, ErrUnauthenticated, ErrForbidden (own post, suspended).
func (s *Service) FlaggablePost(ctx context.Context, u *models.User, postID int64) (*Flaggable, error) {
	p, t, err := s.postAndTopic(ctx, postID)
	if err != nil {
		return nil, err
	}
	if err := policy.Flag(u, t, p, s.now()); err != nil {
		return nil, fmt.Errorf("flag post %d: %w", postID, err)
	}
	author, err := models.UserByID(ctx, s.db, p.UserID)
	if models.IsNotFound(err) {
		author, err = nil, nil
	}
	return &Flaggable{Post: p, Topic: t, Author: author}, err
}

// Flag records flagger's report of a post: a guideline code and a note
// (required for "other"). The post is hidden pending review when the open
// weight reaches the threshold (member flags never hide staff posts).
// Errors: ErrNotFound, ErrForbidden (own post, suspended), *models.ValidationError,
// *models.ConflictError (already flagged). How often a member may flag is
// policy.MemberLimit's, counted by the web layer in the store every node shares.
func (s *Service) Flag(ctx context.Context, flagger *models.User, postID int64, guideline, note string) (*FlagResult, error) {
	fp, err := s.FlaggablePost(ctx, flagger, postID)
	if err != nil {
		return nil, err
	}
	post, topic := fp.Post, fp.Topic
	now := s.now()
	note = strings.TrimSpace(note)
	v := &models.ValidationError{}
	g, ok := GuidelineByCode(guideline)
	switch {
	case !ok:
		v.Add("reason", "choose one of the reasons from the community guidelines")
	case g.NeedsNote && note == "":
		v.Add("note", "tell the moderators what is wrong")
	}
	if utf8.RuneCountInString(note) > 1000 {
		v.Add("note", "keep the note under 1000 characters")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	cat, err := models.CategoryByID(ctx, s.db, topic.CategoryID)
	if err != nil {
		return nil, err
	}
	limit := Threshold(cat)
	w := FlagWeight(flagger, limit)
	f := &models.Flag{PostID: postID, UserID: flagger.ID, PostUserID: post.UserID, Reason: guideline, Note: note, Weight: w.Total,
		LevelPart: w.Level, AccuracyPart: w.Accuracy, Status: models.FlagOpen, CreatedAt: now}
	res := &FlagResult{Flag: f}
	staffPost := fp.Author != nil && fp.Author.IsStaff()
	err = s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewInsert().Model(f).Returning("id").Exec(ctx); err != nil {
			if models.IsUniqueViolation(err) {
				return &models.ConflictError{Field: "reason", Message: "you have already flagged this post; moderators will review it"}
			}
			return fmt.Errorf("insert flag: %w", err)
		}
		if g.Severe {
			if err := notifyStaff(ctx, tx, flagger.ID, models.NotifyStaffFlag, topic, post,
				"New severe flag ("+g.Title+") on a post in "+topic.Title, now); err != nil {
				return err
			}
		}
		if post.HiddenAt != nil || (staffPost && !flagger.IsStaff()) {
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
	n := &models.Notification{UserID: post.UserID, Kind: models.NotifyPostHidden, TopicID: &topic.ID, PostID: &post.ID, CreatedAt: now,
		Message: "Your post in " + topic.Title + " was flagged by the community and is hidden until a moderator reviews it."}
	if err := models.CreateNotification(ctx, tx, n); err != nil {
		return err
	}
	if err := notifyStaff(ctx, tx, post.UserID, models.NotifyStaffHidden, topic, post,
		"Community flags hid a post in "+topic.Title+" pending review", now); err != nil {
		return err
	}
	if _, err := Record(ctx, tx, Entry{Action: ActAutoHide, TargetType: TargetPost, TargetID: post.ID, TargetUserID: &post.UserID,
		Reason:  fmt.Sprintf("open flag weight %d reached the threshold %d", weight, limit),
		Details: map[string]any{"weight": weight, "threshold": limit}}, now); err != nil {
		return err
	}
	return models.Reindex(ctx, tx, models.OutboxPost, post.ID, now)
}

// Retract withdraws one of the caller's own open flags.
func (s *Service) Retract(ctx context.Context, u *models.User, flagID int64) error {
	if err := policy.SignedIn(u); err != nil {
		return err
	}
	f, err := models.FlagByID(ctx, s.db, flagID)
	if err != nil {
		return err
	}
	if f.UserID != u.ID {
		return fmt.Errorf("flag %d belongs to someone else: %w", flagID, models.ErrNotFound)
	}
	res, err := s.db.NewUpdate().Model((*models.Flag)(nil)).Set("status = ?", models.FlagRetracted).
		Set("resolved_at = ?", s.now()).Where("id = ?", flagID).Where("status = ?", models.FlagOpen).Exec(ctx)
	if err != nil {
		return fmt.Errorf("retract flag: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return &models.ConflictError{Message: "this flag was already reviewed"}
	}
	return nil
}

// Report is one flag the member raised, with its post and topic (nil when
// gone): a row of "my reports".
type Report struct {
	*models.Flag
	Post  *models.Post  `json:"-"`
	Topic *models.Topic `json:"-"`
}

// Reports returns a page of the flags u raised, newest first, with their
// outcome, posts and topics (three queries), and the total.
func (s *Service) Reports(ctx context.Context, u *models.User, page, perPage int) ([]*Report, int, error) {
	if err := policy.SignedIn(u); err != nil {
		return nil, 0, err
	}
	flags, total, err := models.FlagsBy(ctx, s.db, u.ID, page, perPage)
	if err != nil {
		return nil, 0, err
	}
	ids := make([]int64, len(flags))
	for i, f := range flags {
		ids[i] = f.PostID
	}
	posts, topics, err := models.PostsWithTopics(ctx, s.db, ids)
	if err != nil {
		return nil, 0, err
	}
	out := make([]*Report, len(flags))
	for i, f := range flags {
		r := &Report{Flag: f, Post: posts[f.PostID]}
		if r.Post != nil {
			r.Topic = topics[r.Post.TopicID]
		}
		out[i] = r
	}
	return out, total, nil
}

// notifyStaff tells every moderator and admin but except about a post.
func notifyStaff(ctx context.Context, tx bun.Tx, except int64, kind string, topic *models.Topic, post *models.Post, message string, now time.Time) error {
	staff, err := models.StaffIDs(ctx, tx)
	if err != nil {
		return err
	}
	var ns []*models.Notification
	for _, id := range staff {
		if id != except {
			ns = append(ns, &models.Notification{UserID: id, Kind: kind, TopicID: &topic.ID, PostID: &post.ID,
				Message: message, CreatedAt: now})
		}
	}
	return models.CreateNotifications(ctx, tx, ns)
}
