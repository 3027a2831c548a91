package app

import (
	"net/http"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"agora/models"
)

// apiBadges: GET /api/v1/badges.
func (s *server) apiBadges(c *fiber.Ctx) error {
	bs, err := models.ListBadges(c.UserContext(), s.DB)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"items": bs})
}

// apiNotifications: GET /api/v1/notifications → the caller's notifications, newest first.
func (s *server) apiNotifications(c *fiber.Ctx) error {
	page, perPage := pageParams(c)
	ns, total, err := models.ListNotifications(c.UserContext(), s.DB, currentUser(c).ID, page, perPage)
	if err != nil {
		return err
	}
	unread, err := models.UnreadNotifications(c.UserContext(), s.DB, currentUser(c).ID)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"items": ns, "page": page, "per_page": perPage, "total": total, "unread": unread})
}

// apiNotificationsRead: POST /api/v1/notifications/read → 204, all marked read.
func (s *server) apiNotificationsRead(c *fiber.Ctx) error {
	if err := models.MarkNotificationsRead(c.UserContext(), s.DB, currentUser(c).ID, s.Now().UTC()); err != nil {
		return err
	}
	return c.SendStatus(http.StatusNoContent)
}

type notificationRow struct {
	*models.Notification
	URL string
}

type notificationsPage struct {
	Items            []notificationRow
	Unread           int
	Page, Pages      int
	PrevURL, NextURL string
}

// notificationsHTML: GET /notifications — the member's notifications, newest first.
func (s *server) notificationsHTML(c *fiber.Ctx) error {
	ctx, u := c.UserContext(), currentUser(c)
	page, _ := pageParams(c)
	const perPage = 30
	ns, total, err := models.ListNotifications(ctx, s.DB, u.ID, page, perPage)
	if err != nil {
		return err
	}
	unread, err := models.UnreadNotifications(ctx, s.DB, u.ID)
	if err != nil {
		return err
	}
	topicIDs := make([]int64, 0, len(ns))
	for _, n := range ns {
		if n.TopicID != nil {
			topicIDs = append(topicIDs, *n.TopicID)
		}
	}
	topics, err := models.TopicsByIDs(ctx, s.DB, topicIDs)
	if err != nil {
		return err
	}
	d := &notificationsPage{Unread: unread, Page: page, Pages: max(1, (total+perPage-1)/perPage)}
	for _, n := range ns {
		r := notificationRow{Notification: n}
		if n.TopicID != nil && topics[*n.TopicID] != nil {
			r.URL = topicURL(topics[*n.TopicID])
		}
		d.Items = append(d.Items, r)
	}
	if page > 1 {
		d.PrevURL = "/notifications?page=" + strconv.Itoa(page-1)
	}
	if page < d.Pages {
		d.NextURL = "/notifications?page=" + strconv.Itoa(page+1)
	}
	return s.render(c, "notifications", "Notifications", d)
}

// notificationsReadHTML: POST /notifications/read.
func (s *server) notificationsReadHTML(c *fiber.Ctx) error {
	if err := models.MarkNotificationsRead(c.UserContext(), s.DB, currentUser(c).ID, s.Now().UTC()); err != nil {
		return err
	}
	return c.Redirect("/notifications", http.StatusSeeOther)
}
