package app

import (
	"fmt"
	"html/template"

	"github.com/gofiber/fiber/v2"

	"agora/models"
)

// pageTemplates must exist at start, so a missing file fails fast.
var pageTemplates = []string{"home", "login", "register", "profile", "setup", "error", "search", "notifications",
	"forgot_password", "reset_password", "email_done", "unsubscribe", "privacy", "admin_document",
	"topic", "new_topic", "edit_post", "revisions", "admin",
	"guidelines", "flag", "my_reports", "mod_queue", "mod_log", "mod_suspended",
	"badges", "badge", "admin_levels", "admin_badges", "signup", "settings"}

// page is what every template receives: the frame (who is signed in, the
// CSRF token, the community name) and the page's own data. What of it may
// differ between members sharing a cached page is decided in cache.go
// (frame and the markers), and so is which pages guests get without a CSRF
// token (guestFormless).
type page struct {
	Title     string
	Community string
	User      *models.User
	Avatar    template.HTML // the header's avatar of User (avatarHTML), or its marker
	Staff     bool          // User is a moderator or an admin
	Admin     bool
	CSRF      string // empty for a guest on a guestFormless page without a token yet
	Path      string
	Query     string // ?q=, kept in the header's search box
	Assets    assetLinks
	Data      any
	// Suspension is set while the signed-in member is suspended (the banner).
	Suspension *models.SuspendedError
	// ModOpen is the number of open queue entries, for staff only (header badge).
	ModOpen int
	// Bell is the unread count on the header's bell (bellBadge), or its marker.
	Bell template.HTML
}

// assetLinks are the content-hashed URLs the header links to.
type assetLinks struct{ CSS, JS, Icon string }

// form is a submitted HTML form: the values as typed and the errors by field.
type form struct {
	Values map[string]string
	Errors map[string]string
	Error  string // a message for the whole form
}

// render writes the named page template with the common frame.
func (s *server) render(c *fiber.Ctx, name, title string, data any) error {
	p := page{Title: title, Path: c.Path(), Query: c.Query("q"), Assets: s.assetURLs, Data: data}
	var err error
	if p.Community, err = s.Site.Name(c.UserContext()); err != nil {
		s.Log.Error("load community name", "err", err)
	}
	if err := s.frame(c, &p, guestFormless[name]); err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	t := s.pages[name]
	if t == nil {
		return fmt.Errorf("render: no page template %q", name)
	}
	// Straight into the response's pooled body buffer; a failed page leaves
	// nothing behind for the error page.
	res := c.Response()
	res.ResetBody()
	if err := t.Execute(res.BodyWriter(), p); err != nil {
		res.ResetBody()
		return fmt.Errorf("render %s: %w", name, err)
	}
	res.Header.SetContentType(fiber.MIMETextHTMLCharsetUTF8)
	return nil
}

// renderForm renders a page whose data is just the form f, again with what
// was typed and err's messages (formFailed); other errors go to the error handler.
func (s *server) renderForm(c *fiber.Ctx, name, title string, f form, err error) error {
	if !formFailed(c, &f, err) {
		return err
	}
	return s.render(c, name, title, f)
}
