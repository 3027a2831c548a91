package app

import (
	"html/template"
	"net/http"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"agora/models"
	"agora/moderation"
)

// The community guidelines and what members do with them: the /guidelines
// page, flagging a post (the menu's fallback form, POST /api/v1/posts/{id}/flags),
// retracting a flag and "my reports", each page beside its JSON route.

// guidelineTitle names a guideline code (free text stays as it is).
func guidelineTitle(code string) string {
	if g, ok := moderation.GuidelineByCode(code); ok {
		return g.Title
	}
	return code
}

// FlagReasons lists the guidelines for the flag and resolve menus.
func (p page) FlagReasons() []moderation.Guideline { return moderation.Guidelines }

// ReasonTitle names a guideline code for the templates.
func (p page) ReasonTitle(code string) string { return guidelineTitle(code) }

type guidelinesPage struct {
	HTML    template.HTML
	Reasons []moderation.Guideline
}

// documentPage is a page an admin writes: its HTML and where to edit it.
type documentPage struct {
	HTML template.HTML
	Edit string
}

// guidelinesPage: GET /guidelines — rendered when the guidelines were saved.
func (s *server) guidelinesPage(c *fiber.Ctx) error {
	html, err := s.Moderation.HTML(c.UserContext(), moderation.GuidelinesDoc)
	if err != nil {
		return err
	}
	if err := s.Moderation.ReadGuidelines(c.UserContext(), currentUser(c)); err != nil {
		return err
	}
	return s.render(c, "guidelines", "Community guidelines", guidelinesPage{HTML: trustedPostHTML(html), Reasons: moderation.Guidelines})
}

// privacyPage: GET /privacy — the privacy policy, as an admin last wrote it.
func (s *server) privacyPage(c *fiber.Ctx) error {
	html, err := s.Moderation.HTML(c.UserContext(), moderation.PrivacyDoc)
	if err != nil {
		return err
	}
	return s.render(c, "privacy", "Privacy", documentPage{HTML: trustedPostHTML(html), Edit: "/admin/privacy"})
}

// apiFlagReasons: GET /api/v1/flag-reasons.
func (s *server) apiFlagReasons(c *fiber.Ctx) error {
	return c.JSON(fiber.Map{"items": moderation.Guidelines})
}

// --- flagging ----------------------------------------------------------------

type flagRequest struct {
	Reason string `json:"reason"` // a guideline code
	Note   string `json:"note"`
}

// apiFlag: POST /api/v1/posts/{id}/flags {reason, note?} → 201 {flag, post_hidden}.
func (s *server) apiFlag(c *fiber.Ctx) error {
	id, req, err := idAndJSON[flagRequest](c)
	if err != nil {
		return err
	}
	res, err := s.flag(c, id, req.Reason, req.Note)
	if err != nil {
		return err
	}
	return c.Status(http.StatusCreated).JSON(res)
}

// flagPage is the stand-alone flag form: the fallback of the flag menu and
// where its errors are shown.
type flagPage struct {
	form
	Post     *models.Post
	Topic    *models.Topic
	Author   *models.User
	SafeHTML template.HTML
	URL      string
}

// loadFlagPage loads the post to flag; posts the viewer may not flag are
// answered by the error handler (policy.Flag).
func (s *server) loadFlagPage(c *fiber.Ctx) (*flagPage, error) {
	id, err := idParam(c, "id")
	if err != nil {
		return nil, err
	}
	fp, err := s.Moderation.FlaggablePost(c.UserContext(), currentUser(c), id)
	if err != nil {
		return nil, err
	}
	return &flagPage{form: form{Values: map[string]string{}}, Post: fp.Post, Topic: fp.Topic, Author: fp.Author,
		SafeHTML: trustedPostHTML(fp.Post.HTML), URL: postURL(fp.Topic, fp.Post.PostNumber)}, nil
}

// flagForm: GET /p/{id}/flag.
func (s *server) flagForm(c *fiber.Ctx) error {
	d, err := s.loadFlagPage(c)
	if err != nil {
		return err
	}
	return s.render(c, "flag", "Flag a post", d)
}

// flagSubmit: POST /p/{id}/flag {reason, note} → 303 back to the post.
func (s *server) flagSubmit(c *fiber.Ctx) error {
	d, err := s.loadFlagPage(c)
	if err != nil {
		return err
	}
	reason, note := c.FormValue("reason"), c.FormValue("note")
	if _, err := s.flag(c, d.Post.ID, reason, note); err != nil {
		d.Values = map[string]string{"reason": reason, "note": note}
		if !formFailed(c, &d.form, err) {
			return err
		}
		return s.render(c, "flag", "Flag a post", d)
	}
	return c.Redirect(d.URL, http.StatusSeeOther)
}

// apiRetractFlag: DELETE /api/v1/flags/{id} → 204.
func (s *server) apiRetractFlag(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	if err := s.Moderation.Retract(c.UserContext(), currentUser(c), id); err != nil {
		return err
	}
	return c.SendStatus(http.StatusNoContent)
}

// retractSubmit: POST /flags/{id}/retract → 303 to next (or My reports).
func (s *server) retractSubmit(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	if err := s.Moderation.Retract(c.UserContext(), currentUser(c), id); err != nil {
		return err
	}
	next := c.FormValue("next")
	if next == "" {
		next = "/me/reports"
	}
	return c.Redirect(localPath(next), http.StatusSeeOther)
}

// --- my reports --------------------------------------------------------------

// apiMyFlags: GET /api/v1/me/flags → every flag the caller raised, newest first, with its outcome.
func (s *server) apiMyFlags(c *fiber.Ctx) error {
	page, perPage := pageParams(c)
	reports, total, err := s.Moderation.Reports(c.UserContext(), currentUser(c), page, perPage)
	if err != nil {
		return err
	}
	items := make([]*models.Flag, len(reports))
	for i, r := range reports {
		items[i] = r.Flag
	}
	return c.JSON(fiber.Map{"items": items, "page": page, "per_page": perPage, "total": total})
}

type reportRow struct {
	*models.Flag
	ReasonTitle string
	PostURL     string
	TopicTitle  string
	PostGone    bool
}

type myReportsPage struct {
	Rows  []reportRow
	Total int
	pager
}

// reportsPerPage is how many reports /me/reports shows.
const reportsPerPage = 30

// myReports: GET /me/reports — every flag the member raised, newest first.
func (s *server) myReports(c *fiber.Ctx) error {
	n := pageParam(c)
	reports, total, err := s.Moderation.Reports(c.UserContext(), currentUser(c), n, reportsPerPage)
	if err != nil {
		return err
	}
	d := &myReportsPage{Total: total, pager: newPager(n, pages(total, reportsPerPage),
		func(i int) string { return "/me/reports?page=" + strconv.Itoa(i) })}
	for _, r := range reports {
		row := reportRow{Flag: r.Flag, ReasonTitle: guidelineTitle(r.Reason)}
		if r.Post != nil && r.Topic != nil {
			row.PostURL, row.TopicTitle = postURL(r.Topic, r.Post.PostNumber), r.Topic.Title
		}
		row.PostGone = r.Post != nil && r.Post.RemovedAt != nil
		d.Rows = append(d.Rows, row)
	}
	return s.render(c, "my_reports", "My reports", d)
}
