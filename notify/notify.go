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
	// PostNumber is the post's number in Topic (Open only; 0: the topic itself).
	PostNumber int `json:"-"`
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

// Open marks notification id of u read and returns it, for following its
// link. Errors: ErrUnauthenticated, ErrNotFound (not u's).
func (s *Service) Open(ctx context.Context, u *models.User, id int64) (*Item, error) {
	if err := policy.SignedIn(u); err != nil {
		return nil, err
	}
	n, err := models.MarkNotificationRead(ctx, s.db, u.ID, id, s.now().UTC())
	if err != nil {
		return nil, err
	}
	it := &Item{Notification: n}
	if n.TopicID != nil {
		if t, err := models.TopicByID(ctx, s.db, *n.TopicID); err == nil && policy.SeeTopic(u, t) == nil {
			it.Topic = t
			if n.PostID != nil {
				if p, err := models.PostByID(ctx, s.db, *n.PostID); err == nil && p.TopicID == t.ID {
					it.PostNumber = p.PostNumber
				}
			}
		} else if err != nil && !models.IsNotFound(err) {
			return nil, err
		}
	}
	return it, nil
}

// Unread counts u's unread notifications, up to 100 (the bell shows "99+").
func (s *Service) Unread(ctx context.Context, u *models.User) (int, error) {
	if err := policy.SignedIn(u); err != nil {
		return 0, err
	}
	return models.UnreadNotificationsCapped(ctx, s.db, u.ID)
}

// Watch sets u's level for topic id (category false) or category id (true).
// Errors: ErrUnauthenticated, ErrNotFound, *models.ValidationError (level).
func (s *Service) Watch(ctx context.Context, u *models.User, id int64, category bool, level string) error {
	if err := policy.SignedIn(u); err != nil {
		return err
	}
	if !models.ValidWatch(level) {
		return &models.ValidationError{Fields: map[string]string{"level": "choose normal, watching or muted"}}
	}
	if err := s.watchable(ctx, u, id, category); err != nil {
		return err
	}
	return models.SetWatch(ctx, s.db, u.ID, id, category, level, s.now().UTC())
}

// WatchLevel returns u's level for a topic or category. Errors as Watch.
func (s *Service) WatchLevel(ctx context.Context, u *models.User, id int64, category bool) (string, error) {
	if err := policy.SignedIn(u); err != nil {
		return "", err
	}
	if err := s.watchable(ctx, u, id, category); err != nil {
		return "", err
	}
	return models.WatchLevel(ctx, s.db, u.ID, id, category)
}

// watchable checks that u may see what they would watch.
func (s *Service) watchable(ctx context.Context, u *models.User, id int64, category bool) error {
	if category {
		_, err := models.CategoryByID(ctx, s.db, id)
		return err
	}
	t, err := models.TopicByID(ctx, s.db, id)
	if err != nil {
		return err
	}
	return policy.SeeTopic(u, t)
}

// Watched is one topic or category a member watches or muted.
type Watched struct {
	*models.Watch
	Topic    *models.Topic
	Category *models.Category
}

// Watches lists what u watches or muted, with the topics and categories.
func (s *Service) Watches(ctx context.Context, u *models.User) ([]*Watched, error) {
	if err := policy.SignedIn(u); err != nil {
		return nil, err
	}
	ws, err := models.WatchesOf(ctx, s.db, u.ID)
	if err != nil {
		return nil, err
	}
	var tids []int64
	for _, w := range ws {
		if w.TopicID != 0 {
			tids = append(tids, w.TopicID)
		}
	}
	topics, err := models.TopicsByIDs(ctx, s.db, tids)
	if err != nil {
		return nil, err
	}
	list, err := models.ListCategories(ctx, s.db, true)
	if err != nil {
		return nil, err
	}
	cats := make(map[int64]*models.Category, len(list))
	for _, c := range list {
		cats[c.ID] = c
	}
	out := make([]*Watched, 0, len(ws))
	for _, w := range ws {
		x := &Watched{Watch: w}
		if w.TopicID != 0 {
			if x.Topic = topics[w.TopicID]; x.Topic == nil || policy.SeeTopic(u, x.Topic) != nil {
				continue
			}
		} else if x.Category = cats[w.CategoryID]; x.Category == nil {
			continue
		}
		out = append(out, x)
	}
	return out, nil
}
