package app

import (
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"agora/models"
	"agora/policy"
	"agora/search"
)

// Search: /search?q= and GET /api/v1/search?q=, both answered by
// search.Service.Find; and the similar-topic suggestions of the new-topic form.

// searchItem is one result as the API and the page show it.
type searchItem struct {
	TopicID    int64            `json:"topic_id"`
	PostID     int64            `json:"post_id"`
	Title      string           `json:"title"`
	TitleHTML  string           `json:"title_html,omitempty"` // highlighted, when the title matched
	Snippet    string           `json:"snippet"`              // HTML: escaped text with <mark>
	URL        string           `json:"url"`
	Category   *models.Category `json:"category"`
	Author     *userBrief       `json:"author"`
	CreatedAt  time.Time        `json:"created_at"`
	Solved     bool             `json:"solved"`
	IsSolution bool             `json:"is_solution"`
	State      string           `json:"state,omitempty"` // staff only: visible, hidden or removed
}

// SnippetHTML and TitleMarked trust Bleve's HTML fragment formatter, which
// escapes all text and adds only <mark> elements around matched terms.
func (it searchItem) SnippetHTML() template.HTML { return template.HTML(it.Snippet) } //nolint:gosec // see above

// TitleMarked is the highlighted title (see SnippetHTML).
func (it searchItem) TitleMarked() template.HTML { return template.HTML(it.TitleHTML) } //nolint:gosec // see above

type searchPage struct {
	Query          string
	IncludeRemoved bool
	Items          []searchItem
	Total          int
	PerPage        int
	pager
	Error string
	Took  time.Duration
}

// runSearch answers ?q= for the caller (search.Service.Find) and formats
// the results; out holds the query even when err is set.
func (s *server) runSearch(c *fiber.Ctx) (*searchPage, error) {
	page, perPage := pageParams(c)
	u := currentUser(c)
	out := &searchPage{Query: c.Query("q"), IncludeRemoved: policy.SeeRemoved(u) && c.Query("include") == "removed", PerPage: perPage}
	out.pager.Page = page
	res, err := s.Search.Find(c.UserContext(), search.Request{Query: out.Query, Viewer: u, IncludeRemoved: out.IncludeRemoved,
		Page: page, PerPage: perPage})
	if err != nil {
		return out, err
	}
	out.Total, out.Took = res.Total, res.Took
	out.pager = newPager(page, pages(res.Total, perPage), func(p int) string {
		v := url.Values{"q": {out.Query}, "page": {strconv.Itoa(p)}}
		if out.IncludeRemoved {
			v.Set("include", "removed")
		}
		return "/search?" + v.Encode()
	})
	out.Items = make([]searchItem, len(res.Items))
	for i, it := range res.Items {
		p, t := it.Post, it.Topic
		out.Items[i] = searchItem{TopicID: t.ID, PostID: p.ID, Title: t.Title, TitleHTML: it.Title, Snippet: it.Snippet,
			URL: postURL(t, p.PostNumber), Category: it.Category, Author: brief(it.Author), CreatedAt: p.CreatedAt,
			Solved: t.SolvedPostID != nil, IsSolution: t.SolvedPostID != nil && *t.SolvedPostID == p.ID, State: it.State}
	}
	return out, nil
}

// apiSearch: GET /api/v1/search?q=…[&include=removed].
func (s *server) apiSearch(c *fiber.Ctx) error {
	return s.cached(c, searchJSONAudience(c), s.searchVersion, func() error {
		res, err := s.runSearch(c)
		if err != nil {
			return err
		}
		return c.JSON(fiber.Map{"items": res.Items, "total": res.Total, "page": res.Page, "per_page": res.PerPage,
			"took_ms": float64(res.Took.Microseconds()) / 1000})
	})
}

// searchPageHandler: GET /search?q= — results, or the form with the reason a query was refused.
func (s *server) searchPageHandler(c *fiber.Ctx) error {
	return s.cached(c, s.pageAudience(c), s.searchVersion, func() error { return s.searchPage(c) })
}

func (s *server) searchPage(c *fiber.Ctx) error {
	res, err := s.runSearch(c)
	var qe *search.QueryError
	switch {
	case errors.As(err, &qe) && res.Query == "":
		// An empty box is not an error: just show the form and the syntax help.
	case errors.As(err, &qe):
		c.Status(http.StatusUnprocessableEntity)
		res.Error = qe.Reason
	case errors.Is(err, search.ErrUnavailable):
		// The form with the reason, not the error page: the header's search
		// box cannot render it on /search.
		c.Status(http.StatusServiceUnavailable)
		res.Error = err.Error()
	case err != nil:
		return err
	}
	return s.render(c, "search", "Search", res)
}

// apiSimilar: GET /api/v1/topics/similar?title= → topics with similar titles.
func (s *server) apiSimilar(c *fiber.Ctx) error {
	topics, err := s.Search.SimilarTopics(c.UserContext(), c.Query("title"), 5)
	if err != nil {
		return err
	}
	items := make([]topicJSON, len(topics))
	for i, t := range topics {
		items[i] = topicJSON{Topic: t, URL: topicURL(t)}
	}
	return c.JSON(fiber.Map{"items": items})
}
