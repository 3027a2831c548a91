package forum

import (
	"context"
	"fmt"
	"strconv"

	"github.com/uptrace/bun"

	"agora/models"
	"agora/policy"
)

// Like records u's like of a post and returns its like count; liking twice
// changes nothing. Errors: ErrNotFound, policy.ErrOwnPost, *models.SuspendedError.
func (s *Service) Like(ctx context.Context, u *models.User, postID int64) (int, error) {
	p, t, err := s.likeable(ctx, u, postID)
	if err != nil {
		return 0, err
	}
	return s.setLike(ctx, u, p, t, true)
}

// Unlike takes u's like back and returns the like count.
func (s *Service) Unlike(ctx context.Context, u *models.User, postID int64) (int, error) {
	p, t, err := s.likeable(ctx, u, postID)
	if err != nil {
		return 0, err
	}
	return s.setLike(ctx, u, p, t, false)
}

// Toggled is what ToggleLike did.
type Toggled struct {
	Liked     bool // the member likes the post now
	LikeCount int
	Post      *models.Post
	Topic     *models.Topic
}

// ToggleLike likes the post, or takes the like back when u already likes it.
func (s *Service) ToggleLike(ctx context.Context, u *models.User, postID int64) (*Toggled, error) {
	p, t, err := s.likeable(ctx, u, postID)
	if err != nil {
		return nil, err
	}
	liked, err := models.LikedPostIDs(ctx, s.db, u.ID, []int64{postID})
	if err != nil {
		return nil, err
	}
	n, err := s.setLike(ctx, u, p, t, !liked[postID])
	if err != nil {
		return nil, err
	}
	return &Toggled{Liked: !liked[postID], LikeCount: n, Post: p, Topic: t}, nil
}

// likeable loads a post that u may like (policy.Like) and its topic.
func (s *Service) likeable(ctx context.Context, u *models.User, postID int64) (*models.Post, *models.Topic, error) {
	if err := policy.Write(u, s.now()); err != nil {
		return nil, nil, err
	}
	p, t, err := s.PostInTopic(ctx, u, postID)
	if err != nil {
		return nil, nil, err
	}
	if err := policy.Like(u, t, p, s.now()); err != nil {
		return nil, nil, fmt.Errorf("like post %d: %w", postID, err)
	}
	return p, t, nil
}

func (s *Service) setLike(ctx context.Context, u *models.User, p *models.Post, t *models.Topic, like bool) (int, error) {
	now := s.now()
	var count int
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var res interface{ RowsAffected() (int64, error) }
		var err error
		delta := 1
		if like {
			res, err = tx.NewInsert().Model(&models.Like{PostID: p.ID, UserID: u.ID, CreatedAt: now}).
				On("CONFLICT DO NOTHING").Exec(ctx)
		} else {
			delta = -1
			res, err = tx.NewDelete().Model((*models.Like)(nil)).Where("post_id = ?", p.ID).Where("user_id = ?", u.ID).Exec(ctx)
		}
		if err != nil {
			return fmt.Errorf("write like: %w", err)
		}
		if n, _ := res.RowsAffected(); n > 0 {
			// The two members first, then the post (and topic), the category
			// (locked by the topic's count), the reactions last: models.LockUsers.
			if err := models.LockUsers(ctx, tx, u.ID, p.UserID); err != nil {
				return err
			}
			if err := models.CountUser(ctx, tx, p.UserID, models.UserCounts{LikesReceived: delta}); err != nil {
				return err
			}
			if err := models.CountUser(ctx, tx, u.ID, models.UserCounts{LikesGiven: delta}); err != nil {
				return err
			}
			if err := models.CountPostLike(ctx, tx, p.ID, delta); err != nil {
				return err
			}
			if err := models.CountTopicLike(ctx, tx, t.ID, delta); err != nil {
				return err
			}
			if err := models.React(ctx, s.Events, tx, models.Event{Kind: models.EventLike, Users: []int64{u.ID, p.UserID},
				PostID: p.ID}); err != nil {
				return err
			}
			if like && p.UserID != u.ID {
				if err := models.NotifyLiked(ctx, tx, p.UserID, u.ID, t.ID, p.ID, likedMessage(u, t, p), now); err != nil {
					return err
				}
			}
			if err := models.Reindex(ctx, tx, models.OutboxPost, p.ID, now); err != nil { // order:likes
				return err
			}
		}
		return tx.NewSelect().Model((*models.Post)(nil)).Column("like_count").Where("id = ?", p.ID).Scan(ctx, &count)
	})
	return count, err
}

// likedMessage words the grouped like notification: "Ana liked your reply
// in …", then "Ana and 3 others liked …" as more likes come while unread.
func likedMessage(liker *models.User, t *models.Topic, p *models.Post) func(int) string {
	what := "reply"
	if p.PostNumber == 1 {
		what = "topic"
	}
	return func(count int) string {
		who := liker.Username
		switch {
		case count == 2:
			who += " and 1 other"
		case count > 2:
			who += " and " + strconv.Itoa(count-1) + " others"
		}
		return who + " liked your " + what + " in " + t.Title
	}
}
