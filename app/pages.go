package app

import (
	"github.com/gofiber/fiber/v2"

	"agora/models"
)

// topicRow is one line of a topic list, with what the row shows resolved.
type topicRow struct {
	*models.Topic
	Category   *models.Category
	Author     *models.User
	LastPoster *models.User
}

// topicListPage is one page of a topic list with what the page shows around it.
type topicListPage struct {
	Topics     []topicRow
	Total      int
	Page       int
	Pages      int
	Filter     string
	Category   *models.Category   // nil: every category
	Categories []*models.Category // for the sidebar and the rows
	BaseURL    string             // the list's path, for filter and page links
}

// topicList loads a page of topics with their categories and authors: three queries.
func (s *server) topicList(c *fiber.Ctx, o models.TopicListOptions) (*topicListPage, error) {
	ctx := c.UserContext()
	cats, err := models.ListCategories(ctx, s.DB, true)
	if err != nil {
		return nil, err
	}
	topics, total, err := models.ListTopics(ctx, s.DB, o)
	if err != nil {
		return nil, err
	}
	byID := make(map[int64]*models.Category, len(cats))
	visible := cats[:0:0]
	for _, cat := range cats {
		byID[cat.ID] = cat
		if !cat.Archived {
			visible = append(visible, cat)
		}
	}
	ids := make([]int64, 0, len(topics))
	for _, t := range topics {
		ids = append(ids, t.UserID)
		if t.LastPostUserID != nil {
			ids = append(ids, *t.LastPostUserID)
		}
	}
	users, err := models.AuthorsByIDs(ctx, s.DB, ids)
	if err != nil {
		return nil, err
	}
	rows := make([]topicRow, len(topics))
	for i, t := range topics {
		rows[i] = topicRow{Topic: t, Category: byID[t.CategoryID], Author: users[t.UserID]}
		if t.LastPostUserID != nil {
			rows[i].LastPoster = users[*t.LastPostUserID]
		}
	}
	return &topicListPage{Topics: rows, Total: total, Page: o.Page, Pages: max(1, (total+o.PerPage-1)/o.PerPage),
		Filter: o.Filter, Category: byID[o.CategoryID], Categories: visible}, nil
}

// home: GET / — categories and the latest topics, with the list filters.
func (s *server) home(c *fiber.Ctx) error {
	return s.listPage(c, 0, "/", "")
}

// categoryPage: GET /c/{slug}.
func (s *server) categoryPage(c *fiber.Ctx) error {
	cat, err := models.CategoryBySlug(c.UserContext(), s.DB, c.Params("slug"))
	if err != nil {
		return err
	}
	return s.listPage(c, cat.ID, "/c/"+cat.Slug, cat.Name)
}

func (s *server) listPage(c *fiber.Ctx, categoryID int64, base, title string) error {
	o, err := listOptions(c, int(categoryID))
	if err != nil {
		return err
	}
	o.PerPage = 30
	return s.cached(c, s.pageAudience(c), s.listsVersion, func() error {
		page, err := s.topicList(c, o)
		if err != nil {
			return err
		}
		if o.Page > page.Pages {
			return models.ErrNotFound
		}
		page.BaseURL = base
		return s.render(c, "home", title, s.listView(page))
	})
}

// listView is what home.html shows: plain, preformatted fields for the
// same reason as the topic page's (see postItem).
type listView struct {
	Heading     string
	Category    *categoryTag // nil: every category
	NewTopicURL string
	Tabs        []filterTab
	Count       string // "30 topics"
	Topics      []listRow
	Page, Pages int
	PrevURL     string
	NextURL     string
	EmptyTitle  string
	EmptyText   string
	Categories  []*categoryTag // the sidebar
}

// listRow is one line of a topic list.
type listRow struct {
	URL        string
	Title      string
	Solved     bool
	Pinned     bool
	Locked     bool
	Initial    string // the author's avatar letter, "?" for a former member
	AuthorName string // empty for a former member
	Category   *categoryTag
	Replies    string // "3 replies"
	NoReplies  bool
	LikeCount  int
	Views      string // "12 views"
	Last       when   // the last activity
	LastPoster string // who replied last; empty without replies
}

// listView formats a page of a topic list for home.html.
func (s *server) listView(p *topicListPage) *listView {
	now := s.Now()
	v := &listView{Heading: p.Heading(), Category: newCategoryTag(p.Category), NewTopicURL: p.NewTopicURL(), Tabs: p.Tabs(),
		Count: plural(p.Total, "topic", "topics"), Page: p.Page, Pages: p.Pages, PrevURL: p.PrevURL(), NextURL: p.NextURL(),
		EmptyTitle: p.EmptyTitle(), EmptyText: p.EmptyText()}
	tags := make(map[int64]*categoryTag, len(p.Categories))
	v.Categories = make([]*categoryTag, len(p.Categories))
	for i, cat := range p.Categories {
		tag := newCategoryTag(cat)
		tag.Current = p.Category != nil && p.Category.ID == cat.ID
		tags[cat.ID], v.Categories[i] = tag, tag
	}
	v.Topics = make([]listRow, len(p.Topics))
	for i, r := range p.Topics {
		t := r.Topic
		row := listRow{URL: topicURL(t), Title: t.Title, Solved: t.SolvedPostID != nil, Pinned: t.Pinned, Locked: t.Locked,
			Initial: "?", Replies: plural(t.ReplyCount, "reply", "replies"), NoReplies: t.ReplyCount == 0,
			LikeCount: t.LikeCount, Views: plural(t.ViewCount, "view", "views"), Last: at(now, t.LastPostedAt)}
		if r.Category != nil {
			if row.Category = tags[r.Category.ID]; row.Category == nil {
				row.Category = newCategoryTag(r.Category) // an archived category's topic
			}
		}
		if r.Author != nil {
			row.Initial, row.AuthorName = initial(r.Author.Username), r.Author.Username
		}
		if r.LastPoster != nil && t.ReplyCount > 0 {
			row.LastPoster = r.LastPoster.Username
		}
		v.Topics[i] = row
	}
	return v
}

// profile: GET /u/{username}.
func (s *server) profile(c *fiber.Ctx) error {
	u, err := models.UserByUsername(c.UserContext(), s.DB, c.Params("username"))
	if err != nil {
		return err
	}
	if u.DeletedAt != nil {
		return models.ErrNotFound
	}
	d, err := s.profileData(c, u, form{}) // the staff panel: mod_pages.go
	if err != nil {
		return err
	}
	return s.render(c, "profile", u.Name(), d)
}

// apiUser: GET /api/v1/users/{username} → {user} public profile.
func (s *server) apiUser(c *fiber.Ctx) error {
	u, err := models.UserByUsername(c.UserContext(), s.DB, c.Params("username"))
	if err != nil {
		return err
	}
	if u.DeletedAt != nil {
		return models.ErrNotFound
	}
	return c.JSON(fiber.Map{"user": publicUser(u)})
}
