package app

import (
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"agora/models"
	"agora/moderation"
)

// The flag queue: /mod with its resolve forms and GET /api/v1/mod/queue,
// POST …/resolve, GET /api/v1/mod/health. Both resolve through
// moderation.Resolve with the same typed reason.

// resolveRequest is a resolution as the API takes it; reason is a
// moderation.Reason (an object, or the plain string form).
type resolveRequest struct {
	Action      string            `json:"action"`
	Reason      moderation.Reason `json:"reason"`
	Body        string            `json:"body"`
	SuspendDays int               `json:"suspend_days"`
	KeepPost    bool              `json:"keep_post"`
	Notify      *bool             `json:"notify"` // default true
}

// apiQueue: GET /api/v1/mod/queue?status=open|resolved&reason=&category=.
func (s *server) apiQueue(c *fiber.Ctx) error {
	page, perPage := pageParams(c)
	st := c.Query("status", "open")
	if st != "open" && st != "resolved" {
		return &models.ValidationError{Fields: map[string]string{"status": "use open or resolved"}}
	}
	f := moderation.QueueFilter{Resolved: st == "resolved", Reason: c.Query("reason"),
		CategoryID: int64(c.QueryInt("category")), Page: page, PerPage: perPage}
	entries, total, err := s.Moderation.Queue(c.UserContext(), currentUser(c), f)
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
	var req resolveRequest
	if err := parseJSON(c, &req); err != nil {
		return err
	}
	res, err := s.Moderation.Resolve(c.UserContext(), currentUser(c), id, moderation.Resolution{Action: req.Action,
		Reason: req.Reason, Body: req.Body, SuspendDays: req.SuspendDays, KeepPost: req.KeepPost, Notify: req.Notify == nil || *req.Notify})
	if err != nil {
		return err
	}
	return c.JSON(res)
}

// apiQueueHealth: GET /api/v1/mod/health.
func (s *server) apiQueueHealth(c *fiber.Ctx) error {
	h, err := s.Moderation.QueueHealth(c.UserContext(), currentUser(c))
	if err != nil {
		return err
	}
	return c.JSON(h)
}

// flagCard is one flag of a queue entry as the card shows it.
type flagCard struct {
	*moderation.FlagView
	ReasonTitle string
	Accuracy    string // "83%" or "new"
	Staff       bool
}

// contextPost is one of the posts before a flagged one.
type contextPost struct {
	Number  int
	Author  *models.User
	Excerpt string
}

// queueCard is one queue entry with its resolve form.
type queueCard struct {
	*moderation.QueueEntry
	SafeHTML    template.HTML
	PostURL     string
	TopicURL    string
	Hidden      bool
	Removed     bool
	Context     []contextPost
	Flags       []flagCard
	ReasonCodes map[string]bool // reasons flagged, to preselect the guideline
	Form        form
}

type modQueuePage struct {
	Health *moderation.Health
	Median string
	Cards  []*queueCard
	Total  int
	pager
	Status     string // open or resolved
	Reason     string
	CategoryID int64
	Categories []*models.Category
	Reasons    []moderation.Guideline
	OpenURL    string
	DoneURL    string
	Back       string // this page's URL, for the forms to come back to
	Conflict   string // another moderator got there first
	Done       string // what the last resolution did
}

const queuePerPage = 10

// queueURL links to the queue with the filters of q and the given status and page.
func queueURL(q url.Values, status string, n int) string {
	v := url.Values{}
	if status == "resolved" {
		v.Set("status", "resolved")
	}
	if r := q.Get("reason"); r != "" {
		v.Set("reason", r)
	}
	if cat := q.Get("category"); cat != "" && cat != "0" {
		v.Set("category", cat)
	}
	if n > 1 {
		v.Set("page", strconv.Itoa(n))
	}
	if len(v) == 0 {
		return "/mod"
	}
	return "/mod?" + v.Encode()
}

// modQueue: GET /mod — the flag queue.
func (s *server) modQueue(c *fiber.Ctx) error {
	q, err := url.ParseQuery(string(c.Request().URI().QueryString()))
	if err != nil {
		q = url.Values{}
	}
	d, err := s.loadQueue(c, q, 0, form{})
	if err != nil {
		return err
	}
	if done := q.Get("done"); done != "" {
		d.Done = resolutionText(done)
	}
	return s.render(c, "mod_queue", "Moderation queue", d)
}

func resolutionText(action string) string {
	switch action {
	case moderation.ActionDismiss:
		return "Flags dismissed: the post stays up."
	case moderation.ActionEdit:
		return "Post edited and its flags closed."
	case moderation.ActionRemove:
		return "Post removed and its flags closed."
	case moderation.ActionSuspend:
		return "Author suspended and the post removed."
	}
	return "Done."
}

// loadQueue builds the queue page for the filters in q; the card of
// formPost gets f (the input and errors of a failed resolve).
func (s *server) loadQueue(c *fiber.Ctx, q url.Values, formPost int64, f form) (*modQueuePage, error) {
	ctx, mod := c.UserContext(), currentUser(c)
	status := q.Get("status")
	if status != "resolved" {
		status = "open"
	}
	n, _ := strconv.Atoi(q.Get("page"))
	n = max(1, n)
	catID, _ := strconv.ParseInt(q.Get("category"), 10, 64)
	d := &modQueuePage{Status: status, Reason: q.Get("reason"), CategoryID: catID, Reasons: moderation.Guidelines,
		OpenURL: queueURL(q, "open", 1), DoneURL: queueURL(q, "resolved", 1), Back: queueURL(q, status, n)}
	if _, ok := moderation.GuidelineByCode(d.Reason); !ok {
		d.Reason = ""
	}
	health, err := s.Moderation.QueueHealth(ctx, mod)
	if err != nil {
		return nil, err
	}
	d.Health = health
	if health.MedianFirstAction != nil {
		d.Median = shortDuration(*health.MedianFirstAction)
	}
	if d.Categories, err = s.Forum.AllCategories(ctx); err != nil {
		return nil, err
	}
	entries, total, err := s.Moderation.Queue(ctx, mod, moderation.QueueFilter{Resolved: status == "resolved",
		Reason: d.Reason, CategoryID: catID, Page: n, PerPage: queuePerPage})
	if err != nil {
		return nil, err
	}
	d.Total = total
	d.pager = newPager(n, pages(total, queuePerPage), func(i int) string { return queueURL(q, status, i) })
	for _, e := range entries {
		card := &queueCard{QueueEntry: e, SafeHTML: trustedPostHTML(e.Post.HTML), Hidden: e.Post.HiddenAt != nil,
			Removed: e.Post.RemovedAt != nil, ReasonCodes: map[string]bool{}}
		if e.Topic != nil {
			card.TopicURL, card.PostURL = topicURL(e.Topic), postURL(e.Topic, e.Post.PostNumber)
		}
		for _, p := range e.Context {
			card.Context = append(card.Context, contextPost{Number: p.PostNumber, Author: e.ContextAuthors[p.UserID], Excerpt: excerpt(p.Body, 240)})
		}
		for _, fv := range e.Flags {
			fc := flagCard{FlagView: fv, ReasonTitle: guidelineTitle(fv.Reason), Accuracy: "new", Staff: fv.Flagger.IsStaff()}
			if fv.Accuracy >= 0 {
				fc.Accuracy = strconv.Itoa(int(fv.Accuracy*100+0.5)) + "%"
			}
			card.Flags = append(card.Flags, fc)
			card.ReasonCodes[fv.Reason] = true
		}
		if e.Post.ID == formPost {
			card.Form = f
		} else {
			card.Form = form{Values: map[string]string{"body": e.Post.Body, "suspend_days": "7", "notify": "on"}}
			// Preselect the guideline when every flag names the same one.
			if len(card.ReasonCodes) == 1 {
				for code := range card.ReasonCodes {
					card.Form.Values["reason_code"] = code
				}
			}
		}
		d.Cards = append(d.Cards, card)
	}
	return d, nil
}

// ModActions lists actions per moderator, busiest first.
func (d *modQueuePage) ModActions() []struct {
	Name string
	N    int
} {
	out := make([]struct {
		Name string
		N    int
	}, 0, len(d.Health.ActionsByMod))
	for name, n := range d.Health.ActionsByMod {
		out = append(out, struct {
			Name string
			N    int
		}{name, n})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].N > out[j].N || out[i].N == out[j].N && out[i].Name < out[j].Name })
	return out
}

// formReason is the reason of a moderation form: the guideline chosen
// (reason_code) and the moderator's words (reason).
func formReason(c *fiber.Ctx) moderation.Reason {
	return moderation.Reason{Guideline: c.FormValue("reason_code"), Note: c.FormValue("reason")}
}

// formDays reads a whole number of days; field names it in the error.
func formDays(v, field string) (int, error) {
	days, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		return 0, &models.ValidationError{Fields: map[string]string{field: "give a whole number of days (0 for indefinitely)"}}
	}
	return days, nil
}

// modResolveSubmit: POST /mod/queue/{post_id}/resolve.
func (s *server) modResolveSubmit(c *fiber.Ctx) error {
	id, err := idParam(c, "post_id")
	if err != nil {
		return err
	}
	vals := map[string]string{}
	for _, k := range []string{"action", "reason_code", "reason", "body", "suspend_days", "notify"} {
		vals[k] = c.FormValue(k)
	}
	back := localPath(c.FormValue("back"))
	if !strings.HasPrefix(back, "/mod") {
		back = "/mod"
	}
	days, err := formDays(vals["suspend_days"], "suspend_days")
	if err == nil || vals["action"] != moderation.ActionSuspend {
		_, err = s.Moderation.Resolve(c.UserContext(), currentUser(c), id, moderation.Resolution{Action: vals["action"],
			Reason: formReason(c), Body: vals["body"], SuspendDays: days, Notify: vals["notify"] != ""})
	}
	if err != nil {
		return s.queueError(c, back, id, form{Values: vals}, err)
	}
	sep := "?"
	if strings.Contains(back, "?") {
		sep = "&"
	}
	return c.Redirect(back+sep+"done="+url.QueryEscape(vals["action"]), http.StatusSeeOther)
}

// queueError shows the queue again after a failed resolve: a conflict (another
// moderator got there first) on top, anything else on the card with its input.
func (s *server) queueError(c *fiber.Ctx, back string, postID int64, f form, err error) error {
	if !formFailed(c, &f, err) {
		return err
	}
	conflict := ""
	if errors.Is(err, models.ErrConflict) {
		conflict, f.Error = f.Error, ""
	}
	q := url.Values{}
	if u, perr := url.Parse(back); perr == nil {
		q = u.Query()
	}
	status := c.Response().StatusCode()
	d, err := s.loadQueue(c, q, postID, f)
	if err != nil {
		return err
	}
	d.Conflict = conflict
	c.Status(status)
	return s.render(c, "mod_queue", "Moderation queue", d)
}
