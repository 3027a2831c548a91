package mailer

import (
	"context"
	"strconv"
	"time"

	"github.com/uptrace/bun"

	"agora/forum"
	"agora/models"
	"agora/policy"
)

// digestSize is how many topics a digest lists.
const digestSize = 8

// DigestPass queues the daily and weekly digests that are due: a member's
// daily digest goes out at most once a day, the weekly once a week, each
// listing the most active topics of its period (nothing when there were none).
func (s *Service) DigestPass(ctx context.Context) error {
	for _, d := range []struct {
		kind   string
		period time.Duration
		title  string
	}{{models.DigestDaily, 24 * time.Hour, "Popular today"}, {models.DigestWeekly, 7 * 24 * time.Hour, "Popular this week"}} {
		now := s.now()
		// An hour's slack, so the hourly schedule keeps the same time of day.
		due, err := models.DigestDue(ctx, s.db, d.kind, now.Add(-d.period+time.Hour), 1000)
		if err != nil || len(due) == 0 {
			if err != nil {
				return err
			}
			continue
		}
		topics, err := models.PopularTopics(ctx, s.db, now.Add(-d.period), digestSize)
		if err != nil {
			return err
		}
		if err := s.queueDigests(ctx, due, topics, d.title, now); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) queueDigests(ctx context.Context, due []*models.EmailPreferences, topics []*models.Topic, title string, now time.Time) error {
	ids := make([]int64, len(due))
	for i, p := range due {
		ids[i] = p.UserID
	}
	users, err := models.UsersByIDs(ctx, s.db, ids)
	if err != nil {
		return err
	}
	for _, p := range due {
		u := users[p.UserID]
		var ms []*models.Mail
		if u != nil && u.Email != "" && u.EmailVerifiedAt != nil {
			body := []block{{Text: title + " in the community:"}}
			for _, t := range topics {
				if policy.SeeTopic(u, t) != nil {
					continue
				}
				body = append(body, block{Text: t.Title + " (" + strconv.Itoa(t.ReplyCount) + " replies, " +
					strconv.Itoa(t.LikeCount) + " likes)"}, block{Link: s.cfg.BaseURL + forum.TopicPath(t)})
			}
			if len(body) > 1 {
				m, err := s.compose(ctx, u, models.MailDigest, title, body)
				if err != nil {
					return err
				}
				ms = append(ms, m)
			}
		}
		// Queued and recorded together: a restart neither skips nor repeats it.
		if err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			if err := models.QueueMail(ctx, tx, ms, now); err != nil {
				return err
			}
			return models.DigestSent(ctx, tx, p.UserID, now)
		}); err != nil {
			return err
		}
	}
	return nil
}
