package app

import (
	"net/http"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"agora/models"
	"agora/moderation"
)

// The moderators' tools outside the queue: removing, restoring and editing
// posts, locking, pinning and moving topics, suspending members (from
// their profile and /mod/suspended) and staff notes. Each form and its
// JSON route call the same moderation operation with the same typed reason.

// toolRequest is the body of the post and topic tools.
type toolRequest struct {
	Reason     moderation.Reason `json:"reason"`
	CategoryID int64             `json:"category_id"`
	Body       string            `json:"body"`
	Notify     *bool             `json:"notify"` // default true
}

// apiModPost: POST /api/v1/mod/posts/{id}/{remove|restore|edit} → {post}.
func (s *server) apiModPost(c *fiber.Ctx) error {
	id, req, err := idAndJSON[toolRequest](c)
	if err != nil {
		return err
	}
	u, ctx := currentUser(c), c.UserContext()
	var p *models.Post
	switch c.Params("action") {
	case "remove":
		p, err = s.Moderation.RemovePost(ctx, u, id, req.Reason)
	case "restore":
		p, err = s.Moderation.RestorePost(ctx, u, id, req.Reason)
	case "edit":
		p, err = s.Moderation.EditPost(ctx, u, id, req.Body, req.Reason, req.Notify == nil || *req.Notify)
	default:
		return models.ErrNotFound
	}
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"post": p})
}

// apiModTopic: POST /api/v1/mod/topics/{id}/{lock|unlock|pin|unpin|move} → {topic}.
func (s *server) apiModTopic(c *fiber.Ctx) error {
	id, req, err := idAndJSON[toolRequest](c)
	if err != nil {
		return err
	}
	switch a := c.Params("action"); a {
	case moderation.TopicLock, moderation.TopicUnlock, moderation.TopicPin, moderation.TopicUnpin, moderation.TopicMove:
		t, err := s.Moderation.TopicAction(c.UserContext(), currentUser(c), id, a, req.Reason, req.CategoryID)
		if err != nil {
			return err
		}
		return c.JSON(fiber.Map{"topic": topicJSON{Topic: t, URL: topicURL(t)}})
	}
	return models.ErrNotFound
}

// suspendRequest is the body of the suspension routes.
type modUserRequest struct {
	Days   int               `json:"days"`
	Until  *time.Time        `json:"until"`
	Reason moderation.Reason `json:"reason"`
	Notify *bool             `json:"notify"` // default true
	Level  int               `json:"level"`  // lock-level
}

// apiModUser: POST /api/v1/mod/users/{id}/{suspend|unsuspend|lock-level|unlock-level} → {user}.
func (s *server) apiModUser(c *fiber.Ctx) error {
	id, req, err := idAndJSON[modUserRequest](c)
	if err != nil {
		return err
	}
	u, ctx := currentUser(c), c.UserContext()
	var target *models.User
	switch c.Params("action") {
	case "suspend":
		var until time.Time
		if req.Until != nil {
			until = req.Until.UTC()
		}
		target, err = s.Moderation.Suspend(ctx, u, id, req.Days, until, req.Reason, req.Notify == nil || *req.Notify)
	case "unsuspend":
		target, err = s.Moderation.Unsuspend(ctx, u, id, req.Reason)
	case "lock-level", "unlock-level":
		target, err = s.lockLevel(c, id, c.Params("action"), req.Level, req.Reason.Text())
	default:
		return models.ErrNotFound
	}
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"user": publicUser(target)})
}

// modSuspendSubmit: POST /mod/users/{id}/suspend {days, reason_code, reason, notify} from the profile.
func (s *server) modSuspendSubmit(c *fiber.Ctx) error {
	target, err := s.userParam(c)
	if err != nil {
		return err
	}
	vals := map[string]string{"days": c.FormValue("days"), "reason_code": c.FormValue("reason_code"),
		"reason": c.FormValue("reason"), "notify": c.FormValue("notify")}
	days, err := formDays(vals["days"], "days")
	if err == nil {
		_, err = s.Moderation.Suspend(c.UserContext(), currentUser(c), target.ID, days, time.Time{}, formReason(c), vals["notify"] != "")
	}
	if err != nil {
		return s.profileError(c, target, form{Values: vals}, err)
	}
	return c.Redirect(profileURL(target), http.StatusSeeOther)
}

// suspendedRow is one suspended member with the form that lifts it.
type suspendedRow struct {
	*models.User
	Until  *time.Time // nil: indefinitely
	Reason string
	Form   form
}

type modSuspendedPage struct {
	Rows []suspendedRow
	Done string
}

// modSuspendedPage: GET /mod/suspended.
func (s *server) modSuspendedPage(c *fiber.Ctx) error {
	d, err := s.loadSuspended(c, 0, form{})
	if err != nil {
		return err
	}
	if c.Query("done") != "" {
		d.Done = "Suspension lifted."
	}
	return s.render(c, "mod_suspended", "Suspended members", d)
}

// loadSuspended lists the suspended members; the row of formUser gets f.
func (s *server) loadSuspended(c *fiber.Ctx, formUser int64, f form) (*modSuspendedPage, error) {
	users, err := s.Moderation.Suspended(c.UserContext(), currentUser(c))
	if err != nil {
		return nil, err
	}
	d := &modSuspendedPage{}
	for _, u := range users {
		r := suspendedRow{User: u, Reason: u.SuspendedReason}
		if u.SuspendedUntil != nil && u.SuspendedUntil.Before(models.IndefiniteSuspension) {
			r.Until = u.SuspendedUntil
		}
		if u.ID == formUser {
			r.Form = f
		}
		d.Rows = append(d.Rows, r)
	}
	return d, nil
}

// modUnsuspendSubmit: POST /mod/users/{id}/unsuspend {reason, next?}: from
// /mod/suspended, or from the profile when next says so.
func (s *server) modUnsuspendSubmit(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	reason := c.FormValue("reason")
	next := c.FormValue("next")
	if _, err := s.Moderation.Unsuspend(c.UserContext(), currentUser(c), id, moderation.Reason{Note: reason}); err != nil {
		f := form{Values: map[string]string{"reason": reason}}
		if !formFailed(c, &f, err) {
			return err
		}
		status := c.Response().StatusCode()
		d, err := s.loadSuspended(c, id, f)
		if err != nil {
			return err
		}
		c.Status(status)
		return s.render(c, "mod_suspended", "Suspended members", d)
	}
	if strings.HasPrefix(next, "/u/") {
		return c.Redirect(localPath(next), http.StatusSeeOther)
	}
	return c.Redirect("/mod/suspended?done=1", http.StatusSeeOther)
}

// apiAddNote: POST /api/v1/mod/users/{id}/notes {body} → 201 {note}.
func (s *server) apiAddNote(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	var req struct {
		Body string `json:"body"`
	}
	if err := parseJSON(c, &req); err != nil {
		return err
	}
	n, err := s.Moderation.AddNote(c.UserContext(), currentUser(c), id, req.Body)
	if err != nil {
		return err
	}
	return c.Status(http.StatusCreated).JSON(fiber.Map{"note": n})
}

// modAddNoteSubmit: POST /mod/users/{id}/notes — a staff-only note on the member's profile.
func (s *server) modAddNoteSubmit(c *fiber.Ctx) error {
	u, err := s.userParam(c)
	if err != nil {
		return err
	}
	body := c.FormValue("body")
	if _, err := s.Moderation.AddNote(c.UserContext(), currentUser(c), u.ID, body); err != nil {
		f := form{Values: map[string]string{"body": body}}
		if !formFailed(c, &f, err) {
			return err
		}
		status := c.Response().StatusCode()
		d, err := s.profileData(c, u, form{})
		if err != nil {
			return err
		}
		d.Mod.NoteForm = f
		c.Status(status)
		return s.render(c, "profile", u.Name(), d)
	}
	return c.Redirect(profileURL(u)+"#notes", http.StatusSeeOther)
}
