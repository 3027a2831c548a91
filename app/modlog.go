package app

import (
	"encoding/csv"
	"net/url"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"agora/models"
	"agora/moderation"
)

// The moderation log: /mod/log and GET /api/v1/mod/log (JSON or CSV), the
// same filtered, newest-first entries.

// logFilter reads the log's filters and paging.
func logFilter(c *fiber.Ctx, perPage int) moderation.LogFilter {
	page, pp := pageParams(c)
	if perPage == 0 {
		perPage = pp
	}
	return moderation.LogFilter{ModeratorID: int64(c.QueryInt("moderator")), UserID: int64(c.QueryInt("user")),
		Action: c.Query("action"), Page: page, PerPage: perPage}
}

// apiModLog: GET /api/v1/mod/log?moderator=&user=&action=&format=csv → newest first.
func (s *server) apiModLog(c *fiber.Ctx) error {
	f := logFilter(c, 0)
	csvOut := c.Query("format") == "csv"
	if csvOut {
		f.Page, f.PerPage = 1, 100000
	}
	entries, total, err := s.Moderation.Log(c.UserContext(), currentUser(c), f)
	if err != nil {
		return err
	}
	if !csvOut {
		return c.JSON(fiber.Map{"items": entries, "page": f.Page, "per_page": f.PerPage, "total": total})
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

// logRow is one log entry as the pages show it.
type logRow struct {
	*models.ModAction
	Moderator      *models.User
	Member         *models.User
	TargetURL      string
	TargetLabel    string
	GuidelineTitle string
}

// logRows formats entries with what they name (moderation.Service.Rows).
func (s *server) logRows(c *fiber.Ctx, entries []*models.ModAction) ([]logRow, error) {
	rows, err := s.Moderation.Rows(c.UserContext(), entries)
	if err != nil {
		return nil, err
	}
	out := make([]logRow, len(rows))
	for i, r := range rows {
		row := logRow{ModAction: r.ModAction, Moderator: r.Moderator, Member: r.Member,
			TargetLabel: r.TargetType + " #" + strconv.FormatInt(r.TargetID, 10)}
		if r.Guideline != "" {
			row.GuidelineTitle = guidelineTitle(r.Guideline)
		}
		switch {
		case r.Post != nil && r.Topic != nil:
			row.TargetURL = postURL(r.Topic, r.Post.PostNumber)
			row.TargetLabel = "post #" + strconv.Itoa(r.Post.PostNumber) + " in " + r.Topic.Title
		case r.Topic != nil:
			row.TargetURL, row.TargetLabel = topicURL(r.Topic), "topic "+r.Topic.Title
		case r.User != nil:
			row.TargetURL, row.TargetLabel = profileURL(r.User), "@"+r.User.Username
		case r.TargetType == moderation.TargetSite:
			row.TargetLabel = "the community"
		}
		out[i] = row
	}
	return out, nil
}

type modLogPage struct {
	Rows  []logRow
	Total int
	pager
	Moderator string
	Member    string
	Action    string
	Actions   []string
	CSVURL    string
	JSONURL   string
}

// logPerPage is how many entries /mod/log shows.
const logPerPage = 50

// modLogPage: GET /mod/log?moderator=&user=&action=&page=.
func (s *server) modLogPage(c *fiber.Ctx) error {
	f := logFilter(c, logPerPage)
	entries, total, err := s.Moderation.Log(c.UserContext(), currentUser(c), f)
	if err != nil {
		return err
	}
	rows, err := s.logRows(c, entries)
	if err != nil {
		return err
	}
	q := url.Values{}
	d := &modLogPage{Rows: rows, Total: total, Action: f.Action, Actions: moderation.LogActions}
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
	link := func(k, v string) string {
		l := url.Values{}
		for name, vs := range q {
			l[name] = vs
		}
		l.Set(k, v)
		return l.Encode()
	}
	d.CSVURL = "/api/v1/mod/log?" + link("format", "csv")
	d.JSONURL = "/api/v1/mod/log?" + link("per_page", "100")
	d.pager = newPager(f.Page, pages(total, logPerPage), func(n int) string { return "/mod/log?" + link("page", strconv.Itoa(n)) })
	return s.render(c, "mod_log", "Moderation log", d)
}
