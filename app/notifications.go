package app

import (
	"net/http"

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
