package app

import (
	"encoding/csv"
	"net/http"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"agora/models"
	"agora/moderation"
)

// requireStaff lets only moderators and admins through.
func requireStaff(c *fiber.Ctx) error {
	if u := currentUser(c); u == nil {
		return requireUser(c)
	} else if !u.IsStaff() {
		return models.ErrForbidden
	}
	return c.Next()
}

// apiFlagReasons: GET /api/v1/flag-reasons.
func (s *server) apiFlagReasons(c *fiber.Ctx) error {
	return c.JSON(fiber.Map{"items": moderation.Reasons})
}

// apiFlag: POST /api/v1/posts/{id}/flags {reason, note?} → 201 {flag}.
func (s *server) apiFlag(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	var req struct {
		Reason string `json:"reason"`
		Note   string `json:"note"`
	}
	if err := parseJSON(c, &req); err != nil {
		return err
	}
	res, err := s.moderation.Flag(c.UserContext(), currentUser(c), id, req.Reason, req.Note)
	if err != nil {
		return err
	}
	return c.Status(http.StatusCreated).JSON(fiber.Map{"flag": res.Flag, "post_hidden": res.Hidden})
}

// apiRetractFlag: DELETE /api/v1/flags/{id} → 204.
func (s *server) apiRetractFlag(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	if err := s.moderation.Retract(c.UserContext(), currentUser(c), id); err != nil {
		return err
	}
	return c.SendStatus(http.StatusNoContent)
}

// apiMyFlags: GET /api/v1/me/flags → every flag the caller raised, newest first, with its outcome.
func (s *server) apiMyFlags(c *fiber.Ctx) error {
	page, perPage := pageParams(c)
	var flags []*models.Flag
	n, err := s.DB.NewSelect().Model(&flags).Where("user_id = ?", currentUser(c).ID).OrderExpr("id DESC").
		Limit(int64(perPage)).Offset(int64((page - 1) * perPage)).ScanAndCount(c.UserContext())
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"items": flags, "page": page, "per_page": perPage, "total": n})
}

// apiQueue: GET /api/v1/mod/queue?status=open|resolved&reason=&category=.
func (s *server) apiQueue(c *fiber.Ctx) error {
	page, perPage := pageParams(c)
	f := moderation.QueueFilter{Resolved: c.Query("status") == "resolved", Reason: c.Query("reason"),
		CategoryID: int64(c.QueryInt("category")), Page: page, PerPage: perPage}
	if st := c.Query("status", "open"); st != "open" && st != "resolved" {
		return &models.ValidationError{Fields: map[string]string{"status": "use open or resolved"}}
	}
	entries, total, err := s.moderation.Queue(c.UserContext(), currentUser(c), f)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"items": entries, "page": page, "per_page": perPage, "total": total})
}

// apiResolve: POST /api/v1/mod/queue/{post_id}/resolve.
func (s *server) apiResolve(c *fiber.Ctx) error {
	id, err := idParam(c, "post_id")
	if err != nil {
		return err
	}
	var req struct {
		Action      string `json:"action"`
		Reason      string `json:"reason"`
		Body        string `json:"body"`
		SuspendDays int    `json:"suspend_days"`
		KeepPost    bool   `json:"keep_post"`
		Notify      *bool  `json:"notify"`
	}
	if err := parseJSON(c, &req); err != nil {
		return err
	}
	notify := req.Notify == nil || *req.Notify
	res, err := s.moderation.Resolve(c.UserContext(), currentUser(c), id, moderation.Resolution{Action: req.Action,
		Reason: req.Reason, Body: req.Body, SuspendDays: req.SuspendDays, KeepPost: req.KeepPost, Notify: notify})
	if err != nil {
		return err
	}
	return c.JSON(res)
}

type reasonRequest struct {
	Reason     string `json:"reason"`
	CategoryID int64  `json:"category_id"`
	Body       string `json:"body"`
	Notify     *bool  `json:"notify"`
}

// apiModPost: POST /api/v1/mod/posts/{id}/{remove|restore|edit}.
func (s *server) apiModPost(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	var req reasonRequest
	if err := parseJSON(c, &req); err != nil {
		return err
	}
	u, ctx := currentUser(c), c.UserContext()
	switch c.Params("action") {
	case "remove":
		err = s.moderation.RemovePost(ctx, u, id, req.Reason)
	case "restore":
		err = s.moderation.RestorePost(ctx, u, id, req.Reason)
	case "edit":
		err = s.moderation.EditPost(ctx, u, id, req.Body, req.Reason, req.Notify == nil || *req.Notify)
	default:
		return models.ErrNotFound
	}
	if err != nil {
		return err
	}
	p, err := models.PostByID(ctx, s.DB, id)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"post": p})
}

// apiModTopic: POST /api/v1/mod/topics/{id}/{lock|unlock|pin|unpin|move}.
func (s *server) apiModTopic(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	var req reasonRequest
	if err := parseJSON(c, &req); err != nil {
		return err
	}
	switch a := c.Params("action"); a {
	case moderation.TopicLock, moderation.TopicUnlock, moderation.TopicPin, moderation.TopicUnpin, moderation.TopicMove:
		t, err := s.moderation.TopicAction(c.UserContext(), currentUser(c), id, a, req.Reason, req.CategoryID)
		if err != nil {
			return err
		}
		return c.JSON(fiber.Map{"topic": topicJSON{Topic: t, URL: topicURL(t)}})
	}
	return models.ErrNotFound
}

// apiModUser: POST /api/v1/mod/users/{id}/{suspend|unsuspend}.
func (s *server) apiModUser(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	var req struct {
		Days   int        `json:"days"`
		Until  *time.Time `json:"until"`
		Reason string     `json:"reason"`
		Notify *bool      `json:"notify"`
	}
	if err := parseJSON(c, &req); err != nil {
		return err
	}
	u, ctx := currentUser(c), c.UserContext()
	switch c.Params("action") {
	case "suspend":
		var until time.Time
		if req.Until != nil {
			until = req.Until.UTC()
		}
		err = s.moderation.Suspend(ctx, u, id, req.Days, until, req.Reason, req.Notify == nil || *req.Notify)
	case "unsuspend":
		err = s.moderation.Unsuspend(ctx, u, id, req.Reason)
	default:
		return models.ErrNotFound
	}
	if err != nil {
		return err
	}
	target, err := models.UserByID(ctx, s.DB, id)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"user": publicUser(target)})
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
	n, err := s.moderation.AddNote(c.UserContext(), currentUser(c), id, req.Body)
	if err != nil {
		return err
	}
	return c.Status(http.StatusCreated).JSON(fiber.Map{"note": n})
}

// apiMember: GET /api/v1/mod/users/{id} → the member, staff notes, recent posts
// (removed ones too), flags given and received, and their moderation history.
func (s *server) apiMember(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	u, err := models.UserByID(c.UserContext(), s.DB, id)
	if err != nil {
		return err
	}
	d, err := s.moderation.MemberDossier(c.UserContext(), currentUser(c), id)
	if err != nil {
		return err
	}
	log, _, err := moderation.Log(c.UserContext(), s.DB, moderation.LogFilter{UserID: id, Page: 1, PerPage: 50})
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"user": publicUser(u), "dossier": d, "log": log})
}

// apiModLog: GET /api/v1/mod/log?moderator=&user=&action=&format=csv → newest first.
func (s *server) apiModLog(c *fiber.Ctx) error {
	page, perPage := pageParams(c)
	f := moderation.LogFilter{ModeratorID: int64(c.QueryInt("moderator")), UserID: int64(c.QueryInt("user")),
		Action: c.Query("action"), Page: page, PerPage: perPage}
	if c.Query("format") == "csv" {
		f.Page, f.PerPage = 1, 100000
	}
	entries, total, err := moderation.Log(c.UserContext(), s.DB, f)
	if err != nil {
		return err
	}
	if c.Query("format") != "csv" {
		return c.JSON(fiber.Map{"items": entries, "page": page, "per_page": perPage, "total": total})
	}
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="moderation-log.csv"`)
	w := csv.NewWriter(c.Response().BodyWriter())
	w.Write([]string{"id", "created_at", "moderator_id", "action", "target_type", "target_id", "target_user_id", "guideline", "reason", "details", "hash"})
	opt := func(p *int64) string {
		if p == nil {
			return ""
		}
		return strconv.FormatInt(*p, 10)
	}
	for _, e := range entries {
		w.Write([]string{strconv.FormatInt(e.ID, 10), e.CreatedAt.UTC().Format(time.RFC3339), opt(e.ModeratorID), e.Action,
			e.TargetType, strconv.FormatInt(e.TargetID, 10), opt(e.TargetUserID), e.Guideline, e.Reason, e.Details, e.Hash})
	}
	w.Flush()
	return w.Error()
}

// apiQueueHealth: GET /api/v1/mod/health.
func (s *server) apiQueueHealth(c *fiber.Ctx) error {
	h, err := s.moderation.QueueHealth(c.UserContext())
	if err != nil {
		return err
	}
	return c.JSON(h)
}

// apiDryRun: GET /api/v1/admin/flag-threshold/dry-run?threshold=N → posts that would have been hidden.
func (s *server) apiDryRun(c *fiber.Ctx) error {
	th := c.QueryInt("threshold", 0)
	if th < 1 {
		return &models.ValidationError{Fields: map[string]string{"threshold": "give a positive whole number"}}
	}
	ids, err := s.moderation.DryRun(c.UserContext(), currentUser(c), th)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"threshold": th, "post_ids": ids, "total": len(ids)})
}
