package app

import (
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"
	"github.com/uptrace/bun"

	"agora/markup"
	"agora/models"
	"agora/moderation"
)

// The server-rendered moderation pages: the community guidelines (and their
// admin editor), the flag menu on posts, a member's own reports, the flag
// queue with its resolve forms, the moderation log, suspended members, the
// staff panel on profiles and the suspension banner. Every form posts with
// the CSRF field and answers 303; errors re-render the page with the
// status of the error and the input kept.

// modFrame fills what every page's header shows about moderation: the
// suspension banner for a suspended member and the queue size for staff.
func (s *server) modFrame(c *fiber.Ctx, p *page) {
	u := p.User
	if u == nil {
		return
	}
	var se *models.SuspendedError
	if err := u.Suspension(s.Now()); errors.As(err, &se) {
		p.Suspension = se
	}
	if u.IsStaff() {
		var n int
		err := s.DB.NewSelect().TableExpr("flags").ColumnExpr("count(DISTINCT post_id)").
			Where("status = ?", models.FlagOpen).Scan(c.UserContext(), &n)
		if err != nil {
			s.Log.Error("count open queue entries", "err", err)
		}
		p.ModOpen = n
	}
}

// FlagReasons lists the flag reasons for the flag menus.
func (p page) FlagReasons() []moderation.Reason { return moderation.Reasons }

// ReasonTitle names a flag reason code (free text stays as it is).
func (p page) ReasonTitle(code string) string { return reasonTitle(code) }

func reasonTitle(code string) string {
	if r, ok := moderation.ReasonByCode(code); ok {
		return r.Title
	}
	return code
}

// viewerOpenFlags returns the viewer's open flags among postIDs, by post, in one query.
func (s *server) viewerOpenFlags(c *fiber.Ctx, postIDs []int64) (map[int64]*models.Flag, error) {
	u := currentUser(c)
	if u == nil || len(postIDs) == 0 {
		return nil, nil
	}
	var flags []*models.Flag
	if err := s.DB.NewSelect().Model(&flags).Where("user_id = ?", u.ID).Where("post_id IN (?)", bun.In(postIDs)).
		Where("status = ?", models.FlagOpen).Scan(c.UserContext()); err != nil {
		return nil, fmt.Errorf("load the viewer's flags: %w", err)
	}
	out := make(map[int64]*models.Flag, len(flags))
	for _, f := range flags {
		out[f.PostID] = f
	}
	return out, nil
}

// attachViewerFlags sets the topic page's MyFlags from its posts.
func (s *server) attachViewerFlags(c *fiber.Ctx, d *topicPageData) error {
	ids := make([]int64, 0, len(d.Posts))
	for _, p := range d.Posts {
		ids = append(ids, p.ID)
	}
	m, err := s.viewerOpenFlags(c, ids)
	if err != nil {
		return err
	}
	d.MyFlags = m
	return nil
}

// --- guidelines --------------------------------------------------------------

type guidelinesPage struct {
	HTML    template.HTML
	Reasons []moderation.Reason
}

// guidelinesPage: GET /guidelines.
func (s *server) guidelinesPage(c *fiber.Ctx) error {
	md, err := models.GetSetting(c.UserContext(), s.DB, models.SettingGuidelines, moderation.DefaultGuidelines)
	if err != nil {
		return err
	}
	return s.render(c, "guidelines", "Community guidelines",
		guidelinesPage{HTML: trustedPostHTML(markup.Render(md)), Reasons: moderation.Reasons})
}

// adminGuidelinesForm: GET /admin/guidelines.
func (s *server) adminGuidelinesForm(c *fiber.Ctx) error {
	md, err := models.GetSetting(c.UserContext(), s.DB, models.SettingGuidelines, moderation.DefaultGuidelines)
	if err != nil {
		return err
	}
	return s.render(c, "admin_guidelines", "Edit the community guidelines",
		form{Values: map[string]string{"body": md, "saved": c.Query("saved")}})
}

// adminGuidelinesSubmit: POST /admin/guidelines.
func (s *server) adminGuidelinesSubmit(c *fiber.Ctx) error {
	body := strings.ReplaceAll(c.FormValue("body"), "\r\n", "\n")
	v := &models.ValidationError{}
	switch {
	case strings.TrimSpace(body) == "":
		v.Add("body", "write the guidelines; they cannot be empty")
	case utf8.RuneCountInString(body) > 50000:
		v.Add("body", "keep the guidelines under 50,000 characters")
	}
	if err := v.Err(); err != nil {
		return s.formError(c, "admin_guidelines", "Edit the community guidelines", form{Values: map[string]string{"body": body}}, err)
	}
	if err := models.PutSetting(c.UserContext(), s.DB, models.SettingGuidelines, body, s.Now()); err != nil {
		return err
	}
	return c.Redirect("/admin/guidelines?saved=1", http.StatusSeeOther)
}

// --- flagging ----------------------------------------------------------------

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

func (s *server) loadFlagPage(c *fiber.Ctx) (*flagPage, error) {
	id, err := idParam(c, "id")
	if err != nil {
		return nil, err
	}
	ctx := c.UserContext()
	p, err := models.PostByID(ctx, s.DB, id)
	if err != nil {
		return nil, err
	}
	if p.RemovedAt != nil {
		return nil, models.ErrNotFound
	}
	t, err := models.TopicByID(ctx, s.DB, p.TopicID)
	if err != nil {
		return nil, err
	}
	if t.RemovedAt != nil && !currentUser(c).IsStaff() {
		return nil, models.ErrNotFound
	}
	author, err := models.UserByID(ctx, s.DB, p.UserID)
	if err != nil && !models.IsNotFound(err) {
		return nil, err
	}
	return &flagPage{form: form{Values: map[string]string{}}, Post: p, Topic: t, Author: author,
		SafeHTML: trustedPostHTML(p.HTML), URL: postURL(t, p.PostNumber)}, nil
}

// flagForm: GET /p/{id}/flag.
func (s *server) flagForm(c *fiber.Ctx) error {
	d, err := s.loadFlagPage(c)
	if err != nil {
		return err
	}
	if u := currentUser(c); u.ID == d.Post.UserID {
		return &models.ForbiddenError{Code: "own_post", Message: "you cannot flag your own post"}
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
	if _, err := s.moderation.Flag(c.UserContext(), currentUser(c), d.Post.ID, reason, note); err != nil {
		d.Values = map[string]string{"reason": reason, "note": note}
		status, body := classify(err)
		var ve *models.ValidationError
		var ce *models.ConflictError
		var rle *models.RateLimitError
		switch {
		case errors.As(err, &ve):
			d.Errors, d.Error = body.Fields, "Please fix the highlighted fields."
		case errors.As(err, &ce), errors.As(err, &rle):
			d.Error = pageMessage(status, body)
		default:
			return err
		}
		c.Status(status)
		return s.render(c, "flag", "Flag a post", d)
	}
	return c.Redirect(d.URL, http.StatusSeeOther)
}

// retractSubmit: POST /flags/{id}/retract → 303 to next (or My reports).
func (s *server) retractSubmit(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	if err := s.moderation.Retract(c.UserContext(), currentUser(c), id); err != nil {
		return err
	}
	next := c.FormValue("next")
	if next == "" {
		next = "/me/reports"
	}
	return c.Redirect(localPath(next), http.StatusSeeOther)
}

// --- my reports --------------------------------------------------------------

type reportRow struct {
	*models.Flag
	ReasonTitle string
	PostURL     string
	TopicTitle  string
	PostGone    bool
}

type myReportsPage struct {
	Rows    []reportRow
	Total   int
	Page    int
	Pages   int
	PrevURL string
	NextURL string
}

// myReports: GET /me/reports — every flag the member raised, newest first.
func (s *server) myReports(c *fiber.Ctx) error {
	ctx := c.UserContext()
	const perPage = 30
	n := max(1, c.QueryInt("page", 1))
	var flags []*models.Flag
	total, err := s.DB.NewSelect().Model(&flags).Where("user_id = ?", currentUser(c).ID).OrderExpr("id DESC").
		Limit(perPage).Offset(int64((n - 1) * perPage)).ScanAndCount(ctx)
	if err != nil {
		return err
	}
	ids := make([]int64, 0, len(flags))
	for _, f := range flags {
		ids = append(ids, f.PostID)
	}
	posts, topics, err := s.postsWithTopics(c, ids)
	if err != nil {
		return err
	}
	d := &myReportsPage{Total: int(total), Page: n, Pages: max(1, (int(total)+perPage-1)/perPage)}
	for _, f := range flags {
		r := reportRow{Flag: f, ReasonTitle: reasonTitle(f.Reason)}
		if p := posts[f.PostID]; p != nil {
			if t := topics[p.TopicID]; t != nil {
				r.PostURL, r.TopicTitle = postURL(t, p.PostNumber), t.Title
			}
			r.PostGone = p.RemovedAt != nil
		}
		d.Rows = append(d.Rows, r)
	}
	if n > 1 {
		d.PrevURL = "/me/reports?page=" + strconv.Itoa(n-1)
	}
	if n < d.Pages {
		d.NextURL = "/me/reports?page=" + strconv.Itoa(n+1)
	}
	return s.render(c, "my_reports", "My reports", d)
}

// postsWithTopics loads posts and their topics by post id: two queries.
func (s *server) postsWithTopics(c *fiber.Ctx, ids []int64) (map[int64]*models.Post, map[int64]*models.Topic, error) {
	topics := map[int64]*models.Topic{}
	if len(ids) == 0 {
		return map[int64]*models.Post{}, topics, nil
	}
	posts, err := models.PostsByIDs(c.UserContext(), s.DB, ids)
	if err != nil {
		return nil, nil, err
	}
	tids := make([]int64, 0, len(posts))
	for _, p := range posts {
		tids = append(tids, p.TopicID)
	}
	if err := s.topicsByIDs(c, tids, topics); err != nil {
		return nil, nil, err
	}
	return posts, topics, nil
}

func (s *server) topicsByIDs(c *fiber.Ctx, ids []int64, into map[int64]*models.Topic) error {
	if len(ids) == 0 {
		return nil
	}
	var ts []*models.Topic
	if err := s.DB.NewSelect().Model(&ts).Where("id IN (?)", bun.In(ids)).Scan(c.UserContext()); err != nil {
		return fmt.Errorf("load topics: %w", err)
	}
	for _, t := range ts {
		into[t.ID] = t
	}
	return nil
}

// --- the flag queue ----------------------------------------------------------

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
	Health     *moderation.Health
	Median     string
	Cards      []*queueCard
	Total      int
	Page       int
	Pages      int
	Status     string // open or resolved
	Reason     string
	CategoryID int64
	Categories []*models.Category
	Reasons    []moderation.Reason
	OpenURL    string
	DoneURL    string
	PrevURL    string
	NextURL    string
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
	ctx := c.UserContext()
	status := q.Get("status")
	if status != "resolved" {
		status = "open"
	}
	n, _ := strconv.Atoi(q.Get("page"))
	n = max(1, n)
	catID, _ := strconv.ParseInt(q.Get("category"), 10, 64)
	d := &modQueuePage{Status: status, Reason: q.Get("reason"), CategoryID: catID, Page: n, Reasons: moderation.Reasons,
		OpenURL: queueURL(q, "open", 1), DoneURL: queueURL(q, "resolved", 1), Back: queueURL(q, status, n)}
	if _, ok := moderation.ReasonByCode(d.Reason); !ok {
		d.Reason = ""
	}
	health, err := s.moderation.QueueHealth(ctx)
	if err != nil {
		return nil, err
	}
	d.Health = health
	if health.MedianFirstAction != nil {
		d.Median = shortDuration(*health.MedianFirstAction)
	}
	if d.Categories, err = models.ListCategories(ctx, s.DB, true); err != nil {
		return nil, err
	}
	entries, total, err := s.moderation.Queue(ctx, currentUser(c), moderation.QueueFilter{Resolved: status == "resolved",
		Reason: d.Reason, CategoryID: catID, Page: n, PerPage: queuePerPage})
	if err != nil {
		return nil, err
	}
	d.Total, d.Pages = total, max(1, (total+queuePerPage-1)/queuePerPage)
	if n > 1 {
		d.PrevURL = queueURL(q, status, n-1)
	}
	if n < d.Pages {
		d.NextURL = queueURL(q, status, n+1)
	}
	// The authors of the context posts, in one query.
	var ctxAuthors []int64
	for _, e := range entries {
		for _, p := range e.Context {
			ctxAuthors = append(ctxAuthors, p.UserID)
		}
	}
	users, err := models.UsersByIDs(ctx, s.DB, ctxAuthors)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		card := &queueCard{QueueEntry: e, SafeHTML: trustedPostHTML(e.Post.HTML), Hidden: e.Post.HiddenAt != nil,
			Removed: e.Post.RemovedAt != nil, ReasonCodes: map[string]bool{}}
		if e.Topic != nil {
			card.TopicURL, card.PostURL = topicURL(e.Topic), postURL(e.Topic, e.Post.PostNumber)
		}
		for _, p := range e.Context {
			card.Context = append(card.Context, contextPost{Number: p.PostNumber, Author: users[p.UserID], Excerpt: excerpt(p.Body, 240)})
		}
		for _, fv := range e.Flags {
			fc := flagCard{FlagView: fv, ReasonTitle: reasonTitle(fv.Reason), Accuracy: "new"}
			if fv.Accuracy >= 0 {
				fc.Accuracy = strconv.Itoa(int(fv.Accuracy*100+0.5)) + "%"
			}
			fc.Staff = fv.Flagger.IsStaff()
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

// excerpt shortens Markdown to about n characters of plain-ish text.
func excerpt(md string, n int) string {
	s := strings.Join(strings.Fields(md), " ")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return strings.TrimSpace(string(r[:n])) + "…"
}

// shortDuration formats a wait like "3h 20m" or "2d 4h".
func shortDuration(d time.Duration) string {
	switch {
	case d < time.Minute:
		return strconv.Itoa(int(d.Seconds())) + "s"
	case d < time.Hour:
		return strconv.Itoa(int(d.Minutes())) + "m"
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh %dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd %dh", int(d.Hours()/24), int(d.Hours())%24)
}

// resolveReason joins the guideline chosen and the moderator's words as
// "code: words" (moderation splits them again), or the bare code: the
// bare code when there are no words (so the log records the guideline).
func resolveReason(code, text string) string {
	text = strings.TrimSpace(text)
	r, ok := moderation.ReasonByCode(code)
	switch {
	case !ok:
		return text
	case text == "":
		return r.Code
	}
	return r.Code + ": " + text // moderation splits the guideline from the explanation
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
	f := form{Values: vals}
	days, derr := strconv.Atoi(strings.TrimSpace(vals["suspend_days"]))
	if derr != nil && vals["action"] == moderation.ActionSuspend {
		return s.queueError(c, back, id, f, &models.ValidationError{Fields: map[string]string{"suspend_days": "give a whole number of days (0 for indefinitely)"}})
	}
	_, err = s.moderation.Resolve(c.UserContext(), currentUser(c), id, moderation.Resolution{Action: vals["action"],
		Reason: resolveReason(vals["reason_code"], vals["reason"]), Body: vals["body"], SuspendDays: days,
		Notify: vals["notify"] != ""})
	if err != nil {
		return s.queueError(c, back, id, f, err)
	}
	sep := "?"
	if strings.Contains(back, "?") {
		sep = "&"
	}
	return c.Redirect(back+sep+"done="+url.QueryEscape(vals["action"]), http.StatusSeeOther)
}

// queueError re-renders the queue with a failed resolve: the conflict
// message on top (409), or the card's errors with its input (422, 403).
func (s *server) queueError(c *fiber.Ctx, back string, postID int64, f form, err error) error {
	status, body := classify(err)
	var ve *models.ValidationError
	var ce *models.ConflictError
	var fe *models.ForbiddenError
	conflict := ""
	switch {
	case errors.As(err, &ce):
		conflict = strings.ToUpper(ce.Message[:1]) + ce.Message[1:] + "."
	case errors.As(err, &ve):
		f.Errors = body.Fields
		f.Error = "Please fix the highlighted fields."
	case errors.As(err, &fe):
		f.Error = strings.ToUpper(fe.Message[:1]) + fe.Message[1:] + "."
	default:
		return err
	}
	q := url.Values{}
	if u, perr := url.Parse(back); perr == nil {
		q = u.Query()
	}
	d, lerr := s.loadQueue(c, q, postID, f)
	if lerr != nil {
		return lerr
	}
	d.Conflict = conflict
	c.Status(status)
	return s.render(c, "mod_queue", "Moderation queue", d)
}

// --- the moderation log ------------------------------------------------------

// logRow is one log entry with its people and target resolved.
type logRow struct {
	*models.ModAction
	Moderator      *models.User
	Member         *models.User
	TargetURL      string
	TargetLabel    string
	GuidelineTitle string
}

type modLogPage struct {
	Rows      []logRow
	Total     int
	Page      int
	Pages     int
	PrevURL   string
	NextURL   string
	Moderator string
	Member    string
	Action    string
	Actions   []string
	CSVURL    string
	JSONURL   string
}

// logActions are the actions the log filter offers.
var logActions = []string{"auto_hide", "dismiss_flags", "edit_post", "remove_post", "remove_topic", "restore_post",
	"restore_topic", "lock_topic", "unlock_topic", "pin_topic", "unpin_topic", "move_topic", "suspend_user", "unsuspend_user"}

// logRows resolves the people and targets of entries: at most four queries.
func (s *server) logRows(c *fiber.Ctx, entries []*models.ModAction) ([]logRow, error) {
	var userIDs, postIDs, topicIDs []int64
	for _, e := range entries {
		if e.ModeratorID != nil {
			userIDs = append(userIDs, *e.ModeratorID)
		}
		if e.TargetUserID != nil {
			userIDs = append(userIDs, *e.TargetUserID)
		}
		switch e.TargetType {
		case "post":
			postIDs = append(postIDs, e.TargetID)
		case "topic":
			topicIDs = append(topicIDs, e.TargetID)
		case "user":
			userIDs = append(userIDs, e.TargetID)
		}
	}
	users, err := models.UsersByIDs(c.UserContext(), s.DB, userIDs)
	if err != nil {
		return nil, err
	}
	posts, topics, err := s.postsWithTopics(c, postIDs)
	if err != nil {
		return nil, err
	}
	if err := s.topicsByIDs(c, topicIDs, topics); err != nil {
		return nil, err
	}
	rows := make([]logRow, 0, len(entries))
	for _, e := range entries {
		r := logRow{ModAction: e}
		if e.ModeratorID != nil {
			r.Moderator = users[*e.ModeratorID]
		}
		if e.TargetUserID != nil {
			r.Member = users[*e.TargetUserID]
		}
		if e.Guideline != "" {
			r.GuidelineTitle = reasonTitle(e.Guideline)
		}
		r.TargetLabel = e.TargetType + " #" + strconv.FormatInt(e.TargetID, 10)
		switch e.TargetType {
		case "post":
			if p := posts[e.TargetID]; p != nil {
				if t := topics[p.TopicID]; t != nil {
					r.TargetURL = postURL(t, p.PostNumber)
					r.TargetLabel = "post #" + strconv.Itoa(p.PostNumber) + " in " + t.Title
				}
			}
		case "topic":
			if t := topics[e.TargetID]; t != nil {
				r.TargetURL, r.TargetLabel = topicURL(t), "topic "+t.Title
			}
		case "user":
			if u := users[e.TargetID]; u != nil {
				r.TargetURL, r.TargetLabel = "/u/"+u.Username, "@"+u.Username
			}
		}
		rows = append(rows, r)
	}
	return rows, nil
}

// modLogPage: GET /mod/log?moderator=&user=&action=&page=.
func (s *server) modLogPage(c *fiber.Ctx) error {
	const perPage = 50
	n := max(1, c.QueryInt("page", 1))
	f := moderation.LogFilter{ModeratorID: int64(c.QueryInt("moderator")), UserID: int64(c.QueryInt("user")),
		Action: c.Query("action"), Page: n, PerPage: perPage}
	entries, total, err := moderation.Log(c.UserContext(), s.DB, f)
	if err != nil {
		return err
	}
	rows, err := s.logRows(c, entries)
	if err != nil {
		return err
	}
	q := url.Values{}
	d := &modLogPage{Rows: rows, Total: total, Page: n, Pages: max(1, (total+perPage-1)/perPage), Action: f.Action, Actions: logActions}
	if f.ModeratorID != 0 {
		d.Moderator = strconv.FormatInt(f.ModeratorID, 10)
		q.Set("moderator", d.Moderator)
	}
	if f.UserID != 0 {
		d.Member = strconv.FormatInt(f.UserID, 10)
		q.Set("user", d.Member)
	}
	if f.Action != "" {
		q.Set("action", f.Action)
	}
	link := func(extra url.Values) string {
		v := url.Values{}
		for k, vs := range q {
			v[k] = vs
		}
		for k, vs := range extra {
			v[k] = vs
		}
		return v.Encode()
	}
	d.CSVURL = "/api/v1/mod/log?" + link(url.Values{"format": {"csv"}})
	d.JSONURL = "/api/v1/mod/log?" + link(url.Values{"per_page": {"100"}})
	if n > 1 {
		d.PrevURL = "/mod/log?" + link(url.Values{"page": {strconv.Itoa(n - 1)}})
	}
	if n < d.Pages {
		d.NextURL = "/mod/log?" + link(url.Values{"page": {strconv.Itoa(n + 1)}})
	}
	return s.render(c, "mod_log", "Moderation log", d)
}

// --- suspended members -------------------------------------------------------

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

func (s *server) loadSuspended(c *fiber.Ctx, formUser int64, f form) (*modSuspendedPage, error) {
	var users []*models.User
	if err := s.DB.NewSelect().Model(&users).Where("suspended_until > ?", s.Now().UTC()).Where("deleted_at IS NULL").
		OrderExpr("suspended_until ASC, id ASC").Limit(500).Scan(c.UserContext()); err != nil {
		return nil, fmt.Errorf("load suspended members: %w", err)
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

// modUnsuspendSubmit: POST /mod/users/{id}/unsuspend {reason, next?}.
func (s *server) modUnsuspendSubmit(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	reason := c.FormValue("reason")
	f := form{Values: map[string]string{"reason": reason}}
	if strings.TrimSpace(reason) == "" {
		err = &models.ValidationError{Fields: map[string]string{"reason": "say why the suspension ends early"}}
	} else {
		err = s.moderation.Unsuspend(c.UserContext(), currentUser(c), id, reason)
	}
	if err != nil {
		status, body := classify(err)
		var ve *models.ValidationError
		var ce *models.ConflictError
		switch {
		case errors.As(err, &ve):
			f.Errors = body.Fields
		case errors.As(err, &ce):
			f.Error = body.Message
		default:
			return err
		}
		d, lerr := s.loadSuspended(c, id, f)
		if lerr != nil {
			return lerr
		}
		c.Status(status)
		return s.render(c, "mod_suspended", "Suspended members", d)
	}
	if next := c.FormValue("next"); strings.HasPrefix(next, "/u/") {
		return c.Redirect(localPath(next), http.StatusSeeOther)
	}
	return c.Redirect("/mod/suspended?done=1", http.StatusSeeOther)
}

// --- the staff panel on profiles ---------------------------------------------

// profilePage is a public profile, with the moderation panel for staff.
type profilePage struct {
	*models.User
	Mod *profileMod
}

type profileMod struct {
	Suspension *models.SuspendedError
	CanSuspend bool
	Log        []logRow
	Form       form
	Dossier    *moderation.Dossier
	Notes      []noteRow
	Posts      []dossierPost
	NoteForm   form
}

// noteRow is a staff note with its author's name.
type noteRow struct {
	*models.UserNote
	Author string
}

// dossierPost is one of the member's recent posts, removed ones included.
type dossierPost struct {
	*models.Post
	URL, Title, Excerpt string
}

// profileData is the profile page's data; staff also get the panel.
func (s *server) profileData(c *fiber.Ctx, u *models.User, f form) (*profilePage, error) {
	d := &profilePage{User: publicUser(u)}
	viewer := currentUser(c)
	if !viewer.IsStaff() {
		return d, nil
	}
	m := &profileMod{Form: f}
	if m.Form.Values == nil {
		m.Form.Values = map[string]string{"days": "7", "notify": "on"}
	}
	var se *models.SuspendedError
	if errors.As(u.Suspension(s.Now()), &se) {
		m.Suspension = se
	}
	m.CanSuspend = viewer.ID != u.ID && !u.IsAdmin() && (!u.IsStaff() || viewer.IsAdmin())
	entries, _, err := moderation.Log(c.UserContext(), s.DB, moderation.LogFilter{UserID: u.ID, Page: 1, PerPage: 10})
	if err != nil {
		return nil, err
	}
	if m.Log, err = s.logRows(c, entries); err != nil {
		return nil, err
	}
	if err := s.fillDossier(c, u, m); err != nil {
		return nil, err
	}
	d.Mod = m
	return d, nil
}

// fillDossier adds the member's notes, recent posts and flag counts, with
// one query for the note authors and one for the posts' topics.
func (s *server) fillDossier(c *fiber.Ctx, u *models.User, m *profileMod) error {
	ctx := c.UserContext()
	dos, err := s.moderation.MemberDossier(ctx, currentUser(c), u.ID)
	if err != nil {
		return err
	}
	m.Dossier = dos
	authorIDs := make([]int64, 0, len(dos.Notes))
	for _, n := range dos.Notes {
		authorIDs = append(authorIDs, n.AuthorID)
	}
	authors, err := models.UsersByIDs(ctx, s.DB, authorIDs)
	if err != nil {
		return err
	}
	for _, n := range dos.Notes {
		r := noteRow{UserNote: n, Author: "former staff"}
		if a := authors[n.AuthorID]; a != nil {
			r.Author = a.Username
		}
		m.Notes = append(m.Notes, r)
	}
	topicIDs := make([]int64, 0, len(dos.RecentPosts))
	for _, p := range dos.RecentPosts {
		topicIDs = append(topicIDs, p.TopicID)
	}
	topics, err := models.TopicsByIDs(ctx, s.DB, topicIDs)
	if err != nil {
		return err
	}
	for _, p := range dos.RecentPosts {
		t := topics[p.TopicID]
		if t == nil {
			continue
		}
		excerpt := []rune(p.Body)
		m.Posts = append(m.Posts, dossierPost{Post: p, URL: postURL(t, p.PostNumber), Title: t.Title,
			Excerpt: string(excerpt[:min(len(excerpt), 160)])})
	}
	return nil
}

// modAddNoteSubmit: POST /mod/users/{id}/notes — a staff-only note on the member's profile.
func (s *server) modAddNoteSubmit(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	u, err := models.UserByID(c.UserContext(), s.DB, id)
	if err != nil {
		return err
	}
	body := c.FormValue("body")
	if _, err := s.moderation.AddNote(c.UserContext(), currentUser(c), id, body); err != nil {
		var ve *models.ValidationError
		if !errors.As(err, &ve) {
			return err
		}
		d, derr := s.profileData(c, u, form{})
		if derr != nil {
			return derr
		}
		d.Mod.NoteForm = form{Values: map[string]string{"body": body}, Errors: ve.Fields}
		c.Status(http.StatusUnprocessableEntity)
		return s.render(c, "profile", u.Name(), d)
	}
	return c.Redirect("/u/"+url.PathEscape(u.Username)+"#notes", http.StatusSeeOther)
}

// modSuspendSubmit: POST /mod/users/{id}/suspend {days, reason_code, reason, notify}.
func (s *server) modSuspendSubmit(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	target, err := models.UserByID(c.UserContext(), s.DB, id)
	if err != nil {
		return err
	}
	vals := map[string]string{"days": c.FormValue("days"), "reason_code": c.FormValue("reason_code"),
		"reason": c.FormValue("reason"), "notify": c.FormValue("notify")}
	days, derr := strconv.Atoi(strings.TrimSpace(vals["days"]))
	if derr != nil {
		err = &models.ValidationError{Fields: map[string]string{"days": "give a whole number of days (0 for indefinitely)"}}
	} else {
		err = s.moderation.Suspend(c.UserContext(), currentUser(c), id, days, time.Time{},
			resolveReason(vals["reason_code"], vals["reason"]), vals["notify"] != "")
	}
	if err != nil {
		f := form{Values: vals}
		status, body := classify(err)
		var ve *models.ValidationError
		var fe *models.ForbiddenError
		switch {
		case errors.As(err, &ve):
			f.Errors, f.Error = body.Fields, "Please fix the highlighted fields."
		case errors.As(err, &fe):
			f.Error = pageMessage(status, body)
		default:
			return err
		}
		d, lerr := s.profileData(c, target, f)
		if lerr != nil {
			return lerr
		}
		c.Status(status)
		return s.render(c, "profile", target.Name(), d)
	}
	return c.Redirect("/u/"+url.PathEscape(target.Username), http.StatusSeeOther)
}

// sortedMods lists actions per moderator, busiest first.
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
