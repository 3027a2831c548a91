package app

import (
	"net/http"

	"github.com/gofiber/fiber/v2"

	"agora/accounts"
	"agora/models"
	"agora/site"
)

// The first admin's setup: /setup?token=… names the community and creates
// the admin, only while no admin exists and only with the token printed at start.

// setupOpen is a 404 unless /setup may be used with token (site.SetupOpen).
func (s *server) setupOpen(c *fiber.Ctx, token string) error {
	ok, err := s.Site.SetupOpen(c.UserContext(), s.SetupToken, token)
	if err == nil && !ok {
		err = models.ErrNotFound
	}
	return err
}

// setupPage: GET /setup?token=….
func (s *server) setupPage(c *fiber.Ctx) error {
	token := c.Query("token")
	if err := s.setupOpen(c, token); err != nil {
		return err
	}
	return s.render(c, "setup", "Set up your community", form{Values: map[string]string{"token": token}})
}

// setupSubmit: POST /setup — the admin account and community name in one
// transaction; of two submissions at once, one wins and the other is told (409).
func (s *server) setupSubmit(c *fiber.Ctx) error {
	token := c.FormValue("token")
	if err := s.setupOpen(c, token); err != nil {
		return err
	}
	in := site.SetupInput{Community: c.FormValue("community"), Admin: accounts.RegisterInput{Username: c.FormValue("username"),
		Email: c.FormValue("email"), Password: c.FormValue("password")}}
	f := form{Values: map[string]string{"token": token, "community": in.Community, "username": in.Admin.Username, "email": in.Admin.Email}}
	u, err := s.Site.Setup(c.UserContext(), in)
	if err != nil {
		return s.renderForm(c, "setup", "Set up your community", f, err)
	}
	s.Log.Info("setup complete: first admin created", "username", u.Username)
	sessionToken, _, err := s.Accounts.StartSession(c.UserContext(), u.ID, c.IP(), c.Get(fiber.HeaderUserAgent))
	if err != nil {
		return err
	}
	s.setSessionCookie(c, sessionToken)
	return c.Redirect("/", http.StatusSeeOther)
}
