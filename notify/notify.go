// Package notify is what members are told: their notifications, read and
// unread. The events that create them are written by the services that act
// (a reply, a best answer, a moderator's decision) inside their own
// transactions; this package reads and marks them. It knows nothing of HTTP.
package notify

import (
	"context"
	"time"

	"github.com/uptrace/bun"

	"agora/models"
	"agora/policy"
)

// Service reads and marks notifications over one database.
type Service struct {
	db  *bun.DB
	now func() time.Time
}

// New returns a Service; now may be nil for time.Now.
func New(db *bun.DB, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{db: db, now: now}
}

// Item is one notification with the topic it points to (nil: none, or gone).
type Item struct {
	*models.Notification
	Topic *models.Topic `json:"-"`
}

// Page is a page of a member's notifications, newest first.
type Page struct {
	Items  []*Item
	Total  int
	Unread int
}

// List returns page (from 1) of u's notifications with their topics and
// the unread count: three queries.
func (s *Service) List(ctx context.Context, u *models.User, page, perPage int) (*Page, error) {
	if err := policy.SignedIn(u); err != nil {
		return nil, err
	}
	ns, total, err := models.ListNotifications(ctx, s.db, u.ID, page, perPage)
	if err != nil {
		return nil, err
	}
	unread, err := models.UnreadNotifications(ctx, s.db, u.ID)
	if err != nil {
		return nil, err
	}
	ids := make([]int64, 0, len(ns))
	for _, n := range ns {
		if n.TopicID != nil {
			ids = append(ids, *n.TopicID)
		}
	}
	topics, err := models.TopicsByIDs(ctx, s.db, ids)
	if err != nil {
		return nil, err
	}
	p := &Page{Items: make([]*Item, len(ns)), Total: total, Unread: unread}
	for i, n := range ns {
		p.Items[i] = &Item{Notification: n}
		if n.TopicID != nil {
			if t := topics[*n.TopicID]; t != nil && policy.SeeTopic(u, t) == nil {
				p.Items[i].Topic = t
			}
		}
	}
	return p, nil
}

// MarkAllRead marks every notification of u read.
func (s *Service) MarkAllRead(ctx context.Context, u *models.User) error {
	if err := policy.SignedIn(u); err != nil {
		return err
	}
	return models.MarkNotificationsRead(ctx, s.db, u.ID, s.now().UTC())
}
