package app

import (
	"fmt"
	"html"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"agora/forum"
	"agora/models"
)

// How pages write times, counts and links, and how requests name pages and ids.

// when is a moment as pages show it: <time datetime="ISO" title="Date">Ago</time>.
type when struct{ ISO, Date, Ago string }

// at formats t for pages, relative to now.
func at(now, t time.Time) when { return when{ISO: isoTime(t), Date: dateText(t), Ago: ago(now, t)} }

func dateText(t time.Time) string { return t.UTC().Format("Jan 2, 2006") }

func isoTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// plural is "1 reply", "2 replies".
func plural(n int, one, many string) string {
	if n == 1 {
		return strconv.Itoa(n) + " " + one
	}
	return strconv.Itoa(n) + " " + many
}

// avatarHTML is the header's avatar of u: its letter in u's colour.
func avatarHTML(u *models.User) string {
	return `<span class="avatar av-` + u.Avatar() + `" aria-hidden="true">` + html.EscapeString(initial(u.Username)) + `</span>`
}

// initial is the avatar letter of a name.
func initial(name string) string {
	for _, r := range name {
		return string(r)
	}
	return "?"
}

// ago formats the time since t the way forum lists do: "5m", "3h", "2d", then the date.
func ago(now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return strconv.Itoa(int(d.Minutes())) + "m ago"
	case d < 24*time.Hour:
		return strconv.Itoa(int(d.Hours())) + "h ago"
	case d < 30*24*time.Hour:
		return strconv.Itoa(int(d.Hours()/24)) + "d ago"
	}
	return dateText(t)
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

// excerpt is the first n characters of Markdown on one line, with "…" when cut.
func excerpt(md string, n int) string {
	s := strings.Join(strings.Fields(md), " ")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return strings.TrimSpace(string(r[:n])) + "…"
}

// sentence makes a message a sentence: capitalised, one full stop.
func sentence(msg string) string {
	if msg == "" {
		return ""
	}
	return strings.ToUpper(msg[:1]) + strings.TrimSuffix(msg[1:], ".") + "."
}

func topicURL(t *models.Topic) string { return forum.TopicPath(t) }

// topicPageURL is page n of a topic (page 1 without a query).
func topicPageURL(t *models.Topic, n int) string {
	if n <= 1 {
		return topicURL(t)
	}
	return topicURL(t) + "?page=" + strconv.Itoa(n)
}

// postPage is the topic page that holds post number n.
func postPage(n int) int { return max(1, (n-1)/forum.PerPage+1) }

// postURL links to a post's anchor on the page that holds it.
func postURL(t *models.Topic, number int) string {
	return topicPageURL(t, postPage(number)) + "#post-" + strconv.Itoa(number)
}

// profileURL links to a member's profile.
func profileURL(u *models.User) string { return "/u/" + url.PathEscape(u.Username) }

// loginURL sends a guest to sign in and back to next.
func loginURL(next string) string { return "/login?next=" + url.QueryEscape(next) }

// localPath keeps redirects on this site: only a path, never another host,
// and no control characters or backslashes that browsers or headers could reinterpret.
func localPath(p string) string {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") ||
		strings.ContainsFunc(p, func(r rune) bool { return r < 0x20 || r == 0x7f || r == '\\' }) {
		return "/"
	}
	return p
}

// maxPerPage caps ?per_page on every list.
const maxPerPage = 100

// maxPage caps ?page so that (page-1)*perPage, the offset every list and
// the search index compute, cannot overflow (a page near 2^63 crashed the
// search index and turned SQL offsets negative). It is past the last page
// of any list.
const maxPage = 1<<31 - 1

// pageParam reads ?page: 1 to maxPage, 1 when absent or not a number.
func pageParam(c *fiber.Ctx) int { return min(maxPage, max(1, c.QueryInt("page", 1))) }

// pageParams reads ?page and ?per_page: page 1..maxPage, per_page 1..100 (default 20).
func pageParams(c *fiber.Ctx) (page, perPage int) {
	return pageParam(c), min(maxPerPage, max(1, c.QueryInt("per_page", 20)))
}

// pages is how many pages of perPage total items fill (at least one).
func pages(total, perPage int) int { return max(1, (total+perPage-1)/perPage) }

// idParam reads a positive integer route parameter; anything else is a 404.
func idParam(c *fiber.Ctx, name string) (int64, error) {
	id, err := strconv.ParseInt(c.Params(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, models.ErrNotFound
	}
	return id, nil
}

// userParam loads the member named by the route's :id.
func (s *server) userParam(c *fiber.Ctx) (*models.User, error) {
	id, err := idParam(c, "id")
	if err != nil {
		return nil, err
	}
	return s.Accounts.User(c.UserContext(), id)
}

// optionalID reads an optional positive id form field: empty or 0 is nil.
func optionalID(v, field, why string) (*int64, error) {
	v = strings.TrimSpace(v)
	if v == "" || v == "0" {
		return nil, nil
	}
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id < 0 {
		return nil, &models.ValidationError{Fields: map[string]string{field: why}}
	}
	return &id, nil
}

// pager is the previous and next links of a paged list.
type pager struct {
	Page, Pages      int
	PrevURL, NextURL string
}

// newPager links pages n-1 and n+1 of pages with link.
func newPager(n, total int, link func(int) string) pager {
	p := pager{Page: n, Pages: total}
	if n > 1 {
		p.PrevURL = link(n - 1)
	}
	if n < total {
		p.NextURL = link(n + 1)
	}
	return p
}
