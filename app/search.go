package app

import (
	"context"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"agora/models"
	"agora/search"
)

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
	Query            string
	IncludeRemoved   bool
	Items            []searchItem
	Total            int
	Page, Pages      int
	PerPage          int
	PrevURL, NextURL string
	Error            string
	Took             time.Duration
}

// errSearchUnavailable: the index is being (re)built.
var errSearchUnavailable = fiber.NewError(http.StatusServiceUnavailable, "search is being rebuilt; try again in a minute")

// runSearch parses and runs ?q= for the caller and resolves the hits to
// topics, posts, authors and categories with one query each.
func (s *server) runSearch(c *fiber.Ctx) (*searchPage, error) {
	page, perPage := pageParams(c)
	u := currentUser(c)
	out := &searchPage{Query: c.Query("q"), IncludeRemoved: u.IsStaff() && c.Query("include") == "removed", Page: page, PerPage: perPage}
	q, err := search.Parse(out.Query)
	if err != nil {
		return out, err
	}
	if s.Search == nil || !s.Search.Ready() {
		return out, errSearchUnavailable
	}
	// The hits' posts and topics are read once: for the snippets, then for the items.
	var posts map[int64]*models.Post
	var topics map[int64]*models.Topic
	texts := func(ctx context.Context, ids []int64) (map[int64]search.Text, error) {
		var err error
		if posts, topics, err = models.PostsWithTopics(ctx, s.DB, ids); err != nil {
			return nil, err
		}
		return search.TextsOf(posts, topics), nil
	}
	res, err := s.Search.Search(c.UserContext(), q, search.Options{Staff: u.IsStaff(), IncludeRemoved: out.IncludeRemoved,
		Page: page, PerPage: perPage, Texts: texts})
	if err != nil {
		return out, err
	}
	out.Total, out.Took = res.Total, res.Took
	out.Pages = max(1, (res.Total+perPage-1)/perPage)
	link := func(p int) string {
		v := url.Values{"q": {out.Query}, "page": {strconv.Itoa(p)}}
		if out.IncludeRemoved {
			v.Set("include", "removed")
		}
		return "/search?" + v.Encode()
	}
	if page > 1 {
		out.PrevURL = link(page - 1)
	}
	if page < out.Pages {
		out.NextURL = link(page + 1)
	}
	out.Items, err = s.searchItems(c, res.Hits, posts, topics, u.IsStaff())
	return out, err
}

// searchItems resolves hits to result rows with their posts and topics
// (loaded for the snippets) and one query each for authors and categories.
func (s *server) searchItems(c *fiber.Ctx, hits []search.Hit, posts map[int64]*models.Post, topics map[int64]*models.Topic, staff bool) ([]searchItem, error) {
	if len(hits) == 0 {
		return []searchItem{}, nil
	}
	ctx := c.UserContext()
	userIDs := []int64{}
	for _, p := range posts {
		userIDs = append(userIDs, p.UserID)
	}
	users, err := models.AuthorsByIDs(ctx, s.DB, userIDs)
	if err != nil {
		return nil, err
	}
	cats, err := models.ListCategories(ctx, s.DB, true)
	if err != nil {
		return nil, err
	}
	catByID := map[int64]*models.Category{}
	for _, cat := range cats {
		catByID[cat.ID] = cat
	}
	items := make([]searchItem, 0, len(hits))
	for _, h := range hits {
		p := posts[h.PostID]
		var t *models.Topic
		if p != nil {
			t = topics[p.TopicID]
		}
		if p == nil || t == nil {
			continue // deleted since it was indexed; the outbox will drop it
		}
		it := searchItem{TopicID: t.ID, PostID: p.ID, Title: t.Title, TitleHTML: h.Title, Snippet: h.Snippet,
			URL:      topicURL(t) + "?page=" + strconv.Itoa((p.PostNumber-1)/20+1) + "#post-" + strconv.Itoa(p.PostNumber),
			Category: catByID[t.CategoryID], Author: brief(users[p.UserID]), CreatedAt: p.CreatedAt,
			Solved: t.SolvedPostID != nil, IsSolution: t.SolvedPostID != nil && *t.SolvedPostID == p.ID}
		if staff {
			it.State = search.StateVisible
			switch {
			case p.RemovedAt != nil || t.RemovedAt != nil:
				it.State = search.StateRemoved
			case p.HiddenAt != nil:
				it.State = search.StateHidden
			}
		}
		items = append(items, it)
	}
	return items, nil
}

// apiSearch: GET /api/v1/search?q=…[&include=removed].
func (s *server) apiSearch(c *fiber.Ctx) error {
	a := nonStaff
	if currentUser(c).IsStaff() {
		a = nobody
	}
	return s.cached(c, a, s.searchVersion, func() error {
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
	case errors.Is(err, errSearchUnavailable):
		// The form with the reason, not the error page: that one says only
		// "internal error" for a 5xx, and the header's search box cannot
		// render it on /search.
		c.Status(http.StatusServiceUnavailable)
		res.Error = errSearchUnavailable.Message
	case err != nil:
		return err
	}
	return s.render(c, "search", "Search", res)
}
