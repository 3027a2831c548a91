package app

import (
	"errors"
	"net/http"

	"github.com/gofiber/fiber/v2"

	"agora/mailer"
	"agora/models"
)

// Mail: links in mail (verify an address, reset a password, unsubscribe)
// work without signing in; the email part of /settings and its API.

// unsubscribePath starts every unsubscribe link; its POST needs no CSRF
// token (checkCSRF): the signed token is the credential.
const unsubscribePath = "/email/unsubscribe/"

// emailDone is the page a mail link ends on.
type emailDone struct {
	Heading, Message string
	OK               bool
}

// linkFailed renders a link that no longer works as a 400 page.
func (s *server) linkFailed(c *fiber.Ctx, heading string) error {
	c.Status(http.StatusBadRequest)
	return s.render(c, "email_done", heading, emailDone{Heading: heading,
		Message: "This link is not valid any more: it may have expired, been used already, or been copied incompletely."})
}

// verifyEmail: GET /email/verify?token= — confirms the member's address.
func (s *server) verifyEmail(c *fiber.Ctx) error {
	u, err := s.Mail.Verify(c.UserContext(), c.Query("token"))
	if errors.Is(err, mailer.ErrBadToken) {
		return s.linkFailed(c, "Address not confirmed")
	}
	if err != nil {
		return err
	}
	return s.render(c, "email_done", "Address confirmed", emailDone{OK: true, Heading: "Address confirmed",
		Message: u.Email + " is confirmed. Choose which mail you want in your settings."})
}

// unsubscribeData is the unsubscribe page: the question, then the answer.
type unsubscribeData struct {
	Token, Label, Email string
	Done, Was           bool
}

// unsubscribePage: GET /email/unsubscribe/{token} — one button to stop that kind of mail.
func (s *server) unsubscribePage(c *fiber.Ctx) error {
	un, err := s.Mail.UnsubscribeTarget(c.UserContext(), c.Params("token"))
	if errors.Is(err, mailer.ErrBadToken) {
		return s.linkFailed(c, "Unsubscribe")
	}
	if err != nil {
		return err
	}
	return s.render(c, "unsubscribe", "Unsubscribe", unsubscribeData{Token: c.Params("token"),
		Label: mailer.Label(un.Kind), Email: un.User.Email})
}

// unsubscribeSubmit: POST /email/unsubscribe/{token} — the page's button,
// and the mail provider's RFC 8058 one-click POST (which gets a 200 too).
func (s *server) unsubscribeSubmit(c *fiber.Ctx) error {
	un, err := s.Mail.Unsubscribe(c.UserContext(), c.Params("token"))
	if errors.Is(err, mailer.ErrBadToken) {
		return s.linkFailed(c, "Unsubscribe")
	}
	if err != nil {
		return err
	}
	return s.render(c, "unsubscribe", "Unsubscribed", unsubscribeData{Done: true, Was: un.Was,
		Label: mailer.Label(un.Kind), Email: un.User.Email})
}

// forgotPage: GET /password/forgot.
func (s *server) forgotPage(c *fiber.Ctx) error {
	return s.render(c, "forgot_password", "Reset your password", form{Values: map[string]string{}})
}

// forgotSubmit: POST /password/forgot — the same answer whether the
// address belongs to a member or not.
func (s *server) forgotSubmit(c *fiber.Ctx) error {
	email := c.FormValue("email")
	f := form{Values: map[string]string{"email": email}}
	if email == "" {
		return s.renderForm(c, "forgot_password", "Reset your password", f,
			&models.ValidationError{Fields: map[string]string{"email": "enter the address you signed up with"}})
	}
	if err := s.Mail.SendReset(c.UserContext(), email); err != nil {
		return err
	}
	f.Values["sent"] = "yes"
	return s.render(c, "forgot_password", "Reset your password", f)
}

// resetPage: GET /password/reset?token= — the new password form.
func (s *server) resetPage(c *fiber.Ctx) error {
	token := c.Query("token")
	if _, err := s.Mail.ResetUser(c.UserContext(), token); errors.Is(err, mailer.ErrBadToken) {
		return s.linkFailed(c, "Reset your password")
	} else if err != nil {
		return err
	}
	return s.render(c, "reset_password", "Choose a new password", form{Values: map[string]string{"token": token}})
}

// resetSubmit: POST /password/reset — sets the password, signs the member
// out everywhere and in here.
func (s *server) resetSubmit(c *fiber.Ctx) error {
	token := c.FormValue("token")
	u, err := s.Mail.ResetUser(c.UserContext(), token)
	if errors.Is(err, mailer.ErrBadToken) {
		return s.linkFailed(c, "Reset your password")
	}
	if err != nil {
		return err
	}
	f := form{Values: map[string]string{"token": token}}
	if c.FormValue("password") != c.FormValue("password_again") {
		return s.renderForm(c, "reset_password", "Choose a new password", f,
			&models.ValidationError{Fields: map[string]string{"password_again": "the two passwords differ"}})
	}
	if err := s.Accounts.ResetPassword(c.UserContext(), u, c.FormValue("password")); err != nil {
		return s.renderForm(c, "reset_password", "Choose a new password", f, err)
	}
	if err := s.startSession(c, u); err != nil {
		return err
	}
	return c.Redirect("/settings?reset=1", http.StatusSeeOther)
}

// settingsEmailSubmit: POST /settings/email — the member's mail preferences.
func (s *server) settingsEmailSubmit(c *fiber.Ctx) error {
	in := mailer.PreferencesInput{Replies: c.FormValue("replies") != "", Mentions: c.FormValue("mentions") != "",
		Solution: c.FormValue("solution") != "", Moderation: c.FormValue("moderation") != "",
		StaffAlerts: c.FormValue("staff_alerts") != "", Digest: c.FormValue("digest")}
	if _, err := s.Mail.SavePreferences(c.UserContext(), currentUser(c), in); err != nil {
		if formFailed(c, &form{}, err) {
			return s.renderSettings(c, "Choose never, daily or weekly for the digest.")
		}
		return err
	}
	return c.Redirect("/settings?saved=email#email", http.StatusSeeOther)
}

// settingsResendSubmit: POST /settings/email/verify — the verification link again.
func (s *server) settingsResendSubmit(c *fiber.Ctx) error {
	if err := s.Mail.SendVerification(c.UserContext(), currentUser(c)); err != nil {
		return err
	}
	return c.Redirect("/settings?saved=verify#email", http.StatusSeeOther)
}

// apiEmailPreferences: GET /api/v1/me/email.
func (s *server) apiEmailPreferences(c *fiber.Ctx) error {
	p, err := s.Mail.PreferencesOf(c.UserContext(), currentUser(c))
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"email": p})
}

// apiSaveEmailPreferences: PUT /api/v1/me/email.
func (s *server) apiSaveEmailPreferences(c *fiber.Ctx) error {
	var in mailer.PreferencesInput
	if err := parseJSON(c, &in); err != nil {
		return err
	}
	p, err := s.Mail.SavePreferences(c.UserContext(), currentUser(c), in)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"email": p})
}

// apiResendVerification: POST /api/v1/me/email/verify → 202, the link queued.
func (s *server) apiResendVerification(c *fiber.Ctx) error {
	u := currentUser(c)
	if u.Email == "" {
		return &models.ValidationError{Fields: map[string]string{"email": "add an address first"}}
	}
	if err := s.Mail.SendVerification(c.UserContext(), u); err != nil {
		return err
	}
	return c.SendStatus(http.StatusAccepted)
}
