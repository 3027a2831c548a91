package app

import (
	"context"
	"crypto/subtle"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"
	"github.com/uptrace/bun"

	"agora/accounts"
	"agora/models"
)

// setupOpen reports whether /setup may be used with token: only while no admin
// exists and only with the token printed at start.
func (s *server) setupOpen(c *fiber.Ctx, token string) (bool, error) {
	if s.SetupToken == "" || subtle.ConstantTimeCompare([]byte(token), []byte(s.SetupToken)) != 1 {
		return false, nil
	}
	exists, err := models.AdminExists(c.UserContext(), s.DB)
	return !exists, err
}

// setupPage: GET /setup?token=… — create the first admin and name the community.
func (s *server) setupPage(c *fiber.Ctx) error {
	token := c.Query("token")
	ok, err := s.setupOpen(c, token)
	if err != nil {
		return err
	}
	if !ok {
		return models.ErrNotFound
	}
	return s.render(c, "setup", "Set up your community", form{Values: map[string]string{"token": token}})
}

// setupSubmit: POST /setup — the admin account and community name in one transaction.
func (s *server) setupSubmit(c *fiber.Ctx) error {
	token := c.FormValue("token")
	ok, err := s.setupOpen(c, token)
	if err != nil {
		return err
	}
	if !ok {
		return models.ErrNotFound
	}
	name := strings.TrimSpace(c.FormValue("community"))
	in := accounts.RegisterInput{Username: c.FormValue("username"), Email: c.FormValue("email"),
		Password: c.FormValue("password"), AgeConfirmed: true, Role: models.RoleAdmin}
	f := form{Values: map[string]string{"token": token, "community": name, "username": in.Username, "email": in.Email}}
	v := &models.ValidationError{}
	if n := utf8.RuneCountInString(name); n < 2 || n > 80 {
		v.Add("community", "give the community a name of 2 to 80 characters")
	}
	if err := in.Validate(); err != nil {
		for k, why := range err.(*models.ValidationError).Fields {
			v.Add(k, why)
		}
	}
	if err := v.Err(); err != nil {
		return s.formError(c, "setup", "Set up your community", f, err)
	}
	u, err := s.accounts.RegisterWith(c.UserContext(), in, func(ctx context.Context, tx bun.Tx, _ *models.User) error {
		return models.PutSetting(ctx, tx, models.SettingCommunityName, name, s.Now().UTC())
	})
	if err != nil {
		return s.formError(c, "setup", "Set up your community", f, err)
	}
	s.forgetCommunityName()
	s.Log.Info("setup complete: first admin created", "username", u.Username)
	sessionToken, _, err := s.accounts.StartSession(c.UserContext(), u.ID, c.IP(), c.Get(fiber.HeaderUserAgent))
	if err != nil {
		return err
	}
	s.setSessionCookie(c, sessionToken)
	return c.Redirect("/", http.StatusSeeOther)
}
