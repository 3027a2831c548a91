package app

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"agora/forum"
	"agora/models"
	"agora/notify"
)

// Notifications: /notifications and GET /api/v1/notifications, marking
// them read by form and by POST /api/v1/notifications/read.

// apiNotifications: GET /api/v1/notifications → the caller's notifications, newest first.
func (s *server) apiNotifications(c *fiber.Ctx) error {
	page, perPage := pageParams(c)
	p, err := s.Notify.List(c.UserContext(), currentUser(c), page, perPage)
	if err != nil {
		return err
	}
	items := make([]any, len(p.Items))
	for i, it := range p.Items {
		items[i] = it.Notification
	}
	return c.JSON(fiber.Map{"items": items, "page": page, "per_page": perPage, "total": p.Total, "unread": p.Unread})
}

// apiNotificationsRead: POST /api/v1/notifications/read → 204, all marked read.
func (s *server) apiNotificationsRead(c *fiber.Ctx) error {
	if err := s.Notify.MarkAllRead(c.UserContext(), currentUser(c)); err != nil {
		return err
	}
	return c.SendStatus(http.StatusNoContent)
}

type notificationRow struct {
	*notify.Item
	URL string // opens it (and marks it read): /notifications/{id}
}

type notificationsPage struct {
	Items  []notificationRow
	Unread int
	pager
}

// notificationsPerPage is how many notifications the page shows.
const notificationsPerPage = 30

// notificationsHTML: GET /notifications — the member's notifications, newest first.
func (s *server) notificationsHTML(c *fiber.Ctx) error {
	page, _ := pageParams(c)
	p, err := s.Notify.List(c.UserContext(), currentUser(c), page, notificationsPerPage)
	if err != nil {
		return err
	}
	d := &notificationsPage{Unread: p.Unread, pager: newPager(page, pages(p.Total, notificationsPerPage),
		func(n int) string { return "/notifications?page=" + strconv.Itoa(n) })}
	for _, it := range p.Items {
		d.Items = append(d.Items, notificationRow{Item: it, URL: "/notifications/" + strconv.FormatInt(it.ID, 10)})
	}
	return s.render(c, "notifications", "Notifications", d)
}

// notificationsReadHTML: POST /notifications/read.
func (s *server) notificationsReadHTML(c *fiber.Ctx) error {
	if err := s.Notify.MarkAllRead(c.UserContext(), currentUser(c)); err != nil {
		return err
	}
	return c.Redirect("/notifications", http.StatusSeeOther)
}

// notificationTarget is where a notification leads: its post, its topic,
// or the list when what it was about is gone.
func notificationTarget(it *notify.Item, viewer *models.User) string {
	switch {
	case it.Topic != nil && it.PostNumber > 0:
		return forum.PostPath(it.Topic, it.PostNumber)
	case it.Topic != nil:
		return topicURL(it.Topic)
	case it.Kind == models.NotifyBadge || it.Kind == models.NotifyLevel:
		return "/u/" + url.PathEscape(viewer.Username)
	}
	return "/notifications"
}

// openNotification marks the notification in the route's :id read.
func (s *server) openNotification(c *fiber.Ctx) (*notify.Item, error) {
	id, err := idParam(c, "id")
	if err != nil {
		return nil, err
	}
	return s.Notify.Open(c.UserContext(), currentUser(c), id)
}

// notificationOpen: GET /notifications/{id} — marks it read and follows its link.
func (s *server) notificationOpen(c *fiber.Ctx) error {
	it, err := s.openNotification(c)
	if err != nil {
		return err
	}
	return c.Redirect(notificationTarget(it, currentUser(c)), http.StatusSeeOther)
}

// apiNotificationRead: POST /api/v1/notifications/{id}/read → the notification, read.
func (s *server) apiNotificationRead(c *fiber.Ctx) error {
	it, err := s.openNotification(c)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"notification": it.Notification, "url": notificationTarget(it, currentUser(c))})
}
