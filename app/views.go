package app

import (
	"github.com/gofiber/fiber/v2"

	"agora/models"
)

// pageTemplates must exist at start, so a missing file fails fast.
var pageTemplates = []string{"home", "login", "register", "profile", "setup", "error", "search",
	"topic", "new_topic", "edit_post", "revisions", "admin",
	"guidelines", "admin_guidelines", "flag", "my_reports", "mod_queue", "mod_log", "mod_suspended"}

// page is what every template receives: the frame (who is signed in, the
// CSRF token, the community name) and the page's own data.
type page struct {
	Title     string
	Community string
	User      *models.User
	CSRF      string
	Path      string
	Query     string // ?q=, kept in the header's search box
	Data      any
	// Suspension is set while the signed-in member is suspended (the banner).
	Suspension *models.SuspendedError
	// ModOpen is the number of open queue entries, for staff only (header badge).
	ModOpen int
}

// form is a submitted HTML form: the values as typed and the errors by field.
type form struct {
	Values map[string]string
	Errors map[string]string
	Error  string // a message for the whole form
}

// render writes the named page template with the common frame.
func (s *server) render(c *fiber.Ctx, name, title string, data any) error {
	p := page{
		Title:     title,
		Community: s.communityName(c.UserContext()),
		User:      currentUser(c),
		CSRF:      s.csrfToken(c),
		Path:      c.Path(),
		Query:     c.Query("q"),
		Data:      data,
	}
	s.modFrame(c, &p)
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Render(name, p)
}
