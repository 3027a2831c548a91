package mailer

import (
	"context"

	"github.com/uptrace/bun"

	"agora/forum"
	"agora/models"
	"agora/policy"
)

// outboxBatch is how many notifications one pass turns into mail.
const outboxBatch = 200

// queueNotifications turns the notifications in the mail outbox into
// queued mail for the members who want that kind, in one transaction: the
// outbox rows go exactly when their mail is queued.
func (s *Service) queueNotifications(ctx context.Context) error {
	for {
		n := 0
		err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			ns, err := models.TakeMailOutbox(ctx, tx, outboxBatch)
			if err != nil || len(ns) == 0 {
				return err
			}
			n = len(ns)
			ms, err := s.notificationMail(ctx, tx, ns)
			if err != nil {
				return err
			}
			return models.QueueMail(ctx, tx, ms, s.now())
		})
		if err != nil || n < outboxBatch {
			return err
		}
	}
}

// notificationMail renders the mail for ns: a fixed number of queries.
func (s *Service) notificationMail(ctx context.Context, db bun.IDB, ns []*models.Notification) ([]*models.Mail, error) {
	var userIDs, topicIDs, postIDs []int64
	for _, n := range ns {
		userIDs = append(userIDs, n.UserID)
		if n.TopicID != nil {
			topicIDs = append(topicIDs, *n.TopicID)
		}
		if n.PostID != nil {
			postIDs = append(postIDs, *n.PostID)
		}
	}
	users, err := models.UsersByIDs(ctx, db, userIDs)
	if err != nil {
		return nil, err
	}
	prefs, err := models.EmailPreferencesByIDs(ctx, db, userIDs)
	if err != nil {
		return nil, err
	}
	topics, err := models.TopicsByIDs(ctx, db, topicIDs)
	if err != nil {
		return nil, err
	}
	posts, err := models.PostsByIDs(ctx, db, postIDs)
	if err != nil {
		return nil, err
	}
	var ms []*models.Mail
	for _, n := range ns {
		u, p, kind := users[n.UserID], prefs[n.UserID], models.MailKind(n.Kind)
		if u == nil || p == nil || u.Email == "" || u.EmailVerifiedAt == nil || p.BouncingAt != nil || !p.Wants(kind) {
			continue
		}
		body := []block{{Text: n.Message + "."}}
		link := s.cfg.BaseURL + "/notifications"
		if n.TopicID != nil {
			t := topics[*n.TopicID]
			if t == nil || policy.SeeTopic(u, t) != nil {
				continue
			}
			link = s.cfg.BaseURL + forum.TopicPath(t)
			if n.PostID != nil {
				if post := posts[*n.PostID]; post != nil {
					link = s.cfg.BaseURL + forum.PostPath(t, post.PostNumber)
					if quotable(n.Kind) && post.RemovedAt == nil && post.HiddenAt == nil {
						body = append(body, block{Post: post.HTML})
					}
				}
			}
		}
		body = append(body, block{Text: "Open it:"}, block{Link: link})
		m, err := s.compose(ctx, u, kind, n.Message, body)
		if err != nil {
			return nil, err
		}
		ms = append(ms, m)
	}
	return ms, nil
}

// quotable reports whether a notification's mail quotes the post: replies,
// mentions and best answers do; moderation notices and staff alerts link only.
func quotable(kind string) bool {
	return kind == models.NotifyReply || kind == models.NotifyWatching || kind == models.NotifyMention ||
		kind == models.NotifySolution
}
