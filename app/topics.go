package app

import (
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"agora/forum"
	"agora/markup"
	"agora/models"
)

// Topic lists (the home page, category pages, GET /api/v1/topics) and
// starting a topic (/new-topic, POST /api/v1/topics).

// userBrief is how an author appears beside a post or topic.
type userBrief struct {
	ID          int64  `json:"id"`
	Username    string `json:"username"`
	DisplayName string `json:"display_name"`
	Level       int    `json:"level"`
	BadgeCount  int    `json:"badge_count"`
	AvatarColor string `json:"avatar_color"` // the colour it shows in (models.User.Avatar)
}

func brief(u *models.User) *userBrief {
	if u == nil {
		return nil
	}
	return &userBrief{ID: u.ID, Username: u.Username, DisplayName: u.DisplayName, Level: u.Level, BadgeCount: u.BadgeCount,
		AvatarColor: u.Avatar()}
}

type topicJSON struct {
	*models.Topic
	URL    string     `json:"url"`
	Author *userBrief `json:"author"`
}

// listPerPage is how many topics an HTML list shows.
const listPerPage = 30

// listOptions reads a topic list's filter and paging.
func listOptions(c *fiber.Ctx, categoryID int64) (models.TopicListOptions, error) {
	o := models.TopicListOptions{CategoryID: categoryID, Filter: c.Query("filter", models.FilterLatest)}
	if !models.ValidFilter(o.Filter) {
		return o, &models.ValidationError{Fields: map[string]string{"filter": "use latest, unanswered, solved or top"}}
	}
	o.Page, o.PerPage = pageParams(c)
	return o, nil
}

// apiTopics: GET /api/v1/topics?category=&filter=&page=&per_page=.
func (s *server) apiTopics(c *fiber.Ctx) error {
	o, err := listOptions(c, int64(c.QueryInt("category")))
	if err != nil {
		return err
	}
	return s.cached(c, everyone, s.listsVersion, func() error {
		l, err := s.Forum.Topics(c.UserContext(), o)
		if err != nil {
			return err
		}
		items := make([]topicJSON, len(l.Rows))
		for i, r := range l.Rows {
			items[i] = topicJSON{Topic: r.Topic, URL: topicURL(r.Topic), Author: brief(r.Author)}
		}
		return c.JSON(fiber.Map{"items": items, "page": o.Page, "per_page": o.PerPage, "total": l.Total})
	})
}

// apiCategories: GET /api/v1/categories.
func (s *server) apiCategories(c *fiber.Ctx) error {
	cats, err := s.Forum.Categories(c.UserContext(), currentUser(c))
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"items": cats})
}

// home: GET / — categories and the latest topics, with the list filters.
func (s *server) home(c *fiber.Ctx) error {
	return s.listPage(c, nil, "/")
}

// categoryPage: GET /c/{slug}.
func (s *server) categoryPage(c *fiber.Ctx) error {
	cat, err := s.Forum.CategoryBySlug(c.UserContext(), c.Params("slug"))
	if err != nil {
		return err
	}
	return s.listPage(c, cat, "/c/"+cat.Slug)
}

func (s *server) listPage(c *fiber.Ctx, cat *models.Category, base string) error {
	var catID int64
	title := ""
	if cat != nil {
		catID, title = cat.ID, cat.Name
	}
	o, err := listOptions(c, catID)
	if err != nil {
		return err
	}
	o.PerPage = listPerPage
	a := s.pageAudience(c)
	if a == members && cat != nil {
		// A member with a watch level of this category sees it: their page is theirs alone.
		level, err := s.Notify.WatchLevel(c.UserContext(), currentUser(c), cat.ID, true)
		if err != nil {
			return err
		}
		if level != models.WatchNormal {
			a = nobody
		}
	}
	return s.cached(c, a, s.listsVersion, func() error {
		l, err := s.Forum.Topics(c.UserContext(), o)
		if err != nil {
			return err
		}
		if o.Page > l.Pages {
			return models.ErrNotFound
		}
		v := s.listView(l, o.Filter, base)
		if cat != nil {
			if v.Watch, err = s.watchControlFor(c, cat.ID, true, base); err != nil {
				return err
			}
		}
		return s.render(c, "home", title, v)
	})
}

// categoryTag is a category as a link with its color.
type categoryTag struct {
	ID          int64
	Name        string
	Slug        string
	Color       string
	Description string
	TopicCount  int
	Current     bool // the list being shown is this category's
}

func newCategoryTag(c *models.Category) *categoryTag {
	if c == nil {
		return nil
	}
	return &categoryTag{ID: c.ID, Name: c.Name, Slug: c.Slug, Color: c.Color, Description: c.Description, TopicCount: c.TopicCount}
}

// listFilters are the tabs above a topic list, in order, with what each says.
var listFilters = []struct{ Key, Label, Heading, EmptyTitle, EmptyText string }{
	{models.FilterLatest, "Latest", "Latest topics", "No topics yet",
		"Questions and answers will show up here. Why not start the first topic?"},
	{models.FilterUnanswered, "Unanswered", "Unanswered topics", "No unanswered topics",
		"Every question has at least one reply. Nice work, everyone!"},
	{models.FilterSolved, "Solved", "Solved topics", "No solved topics yet",
		"When someone marks a reply as the best answer, the topic shows up here."},
	{models.FilterTop, "Top", "Top topics", "No liked topics yet", "Topics with the most likes will show up here."},
}

// filterTab is one tab of a topic list.
type filterTab struct {
	Label   string
	URL     string
	Current bool
}

// listView is what home.html shows: plain, preformatted fields for the
// same reason as the topic page's (see postItem).
type listView struct {
	Heading     string
	Category    *categoryTag  // nil: every category
	Watch       *watchControl // a category page for a signed-in member
	NewTopicURL string
	Tabs        []filterTab
	Count       string // "30 topics"
	Topics      []listRow
	pager
	EmptyTitle string
	EmptyText  string
	Categories []*categoryTag // the sidebar
}

// listRow is one line of a topic list.
type listRow struct {
	URL        string
	Title      string
	Solved     bool
	Pinned     bool
	Locked     bool
	Initial    string // the author's avatar letter, "?" for a former member
	Color      string // its colour, empty for a former member
	AuthorName string // empty for a former member
	Level      int    // with BadgeCount, the author's flair
	BadgeCount int
	Category   *categoryTag
	Replies    string // "3 replies"
	NoReplies  bool
	LikeCount  int
	Views      string // "12 views"
	Last       when   // the last activity
	LastPoster string // who replied last; empty without replies
}

// listURL links to page n of the list at base with filter f; the defaults are left out.
func listURL(base, f string, n int) string {
	q := url.Values{}
	if f != "" && f != models.FilterLatest {
		q.Set("filter", f)
	}
	if n > 1 {
		q.Set("page", strconv.Itoa(n))
	}
	if len(q) == 0 {
		return base
	}
	return base + "?" + q.Encode()
}

// listView formats a page of a topic list for home.html.
func (s *server) listView(l *forum.TopicList, filter, base string) *listView {
	now := s.Now()
	v := &listView{Category: newCategoryTag(l.Category), NewTopicURL: "/new-topic", Count: plural(l.Total, "topic", "topics"),
		pager: newPager(l.Page, l.Pages, func(n int) string { return listURL(base, filter, n) })}
	for _, f := range listFilters {
		v.Tabs = append(v.Tabs, filterTab{Label: f.Label, URL: listURL(base, f.Key, 1), Current: filter == f.Key})
		if filter == f.Key {
			v.Heading, v.EmptyTitle, v.EmptyText = f.Heading, f.EmptyTitle, f.EmptyText
		}
	}
	if l.Category != nil {
		v.Heading, v.NewTopicURL = l.Category.Name, "/new-topic?category="+strconv.FormatInt(l.Category.ID, 10)
		if filter == models.FilterLatest {
			v.EmptyTitle = "No topics in this category yet"
		}
	}
	tags := make(map[int64]*categoryTag, len(l.Categories))
	v.Categories = make([]*categoryTag, len(l.Categories))
	for i, cat := range l.Categories {
		tag := newCategoryTag(cat)
		tag.Current = l.Category != nil && l.Category.ID == cat.ID
		tags[cat.ID], v.Categories[i] = tag, tag
	}
	v.Topics = make([]listRow, len(l.Rows))
	for i, r := range l.Rows {
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
			row.Initial, row.Color, row.AuthorName = initial(r.Author.Username), r.Author.Avatar(), r.Author.Username
			row.Level, row.BadgeCount = r.Author.Level, r.Author.BadgeCount
		}
		if r.LastPoster != nil && t.ReplyCount > 0 {
			row.LastPoster = r.LastPoster.Username
		}
		v.Topics[i] = row
	}
	return v
}

// --- starting a topic ----------------------------------------------------

type topicRequest struct {
	CategoryID int64  `json:"category_id"`
	Title      string `json:"title"`
	Body       string `json:"body"`
}

// apiCreateTopic: POST /api/v1/topics → 201 {topic, post}.
func (s *server) apiCreateTopic(c *fiber.Ctx) error {
	var req topicRequest
	if err := parseJSON(c, &req); err != nil {
		return err
	}
	u := currentUser(c)
	t, p, err := s.createTopic(c, forum.TopicInput(req))
	if err != nil {
		return err
	}
	return c.Status(http.StatusCreated).JSON(fiber.Map{
		"topic": topicJSON{Topic: t, URL: topicURL(t), Author: brief(u)}, "post": postOut(&forum.PostForViewer{Post: p, Author: u})})
}

// categoryOption is one entry of a category select.
type categoryOption struct {
	ID       int64
	Name     string
	Selected bool
}

// similarLink is a topic whose title resembles a draft's.
type similarLink struct {
	Title  string
	URL    string
	Solved bool
}

// newTopicPage is what new_topic.html shows.
type newTopicPage struct {
	form
	Categories []categoryOption
	Preview    template.HTML
	HasPreview bool
	Similar    []similarLink
	Suspended  string
	TitleMin   int
	TitleMax   int
}

func (s *server) newTopicData(c *fiber.Ctx, f form) (*newTopicPage, error) {
	cats, err := s.Forum.OpenCategories(c.UserContext())
	if err != nil {
		return nil, err
	}
	d := &newTopicPage{form: f, TitleMin: forum.TitleMin, TitleMax: forum.TitleMax}
	for _, cat := range cats {
		d.Categories = append(d.Categories, categoryOption{ID: cat.ID, Name: cat.Name,
			Selected: strconv.FormatInt(cat.ID, 10) == f.Values["category_id"]})
	}
	if err := currentUser(c).Suspension(s.Now()); err != nil {
		d.Suspended = err.Error()
	}
	return d, nil
}

// newTopicForm: GET /new-topic?category=ID.
func (s *server) newTopicForm(c *fiber.Ctx) error {
	d, err := s.newTopicData(c, form{Values: map[string]string{"category_id": c.Query("category")}})
	if err != nil {
		return err
	}
	return s.render(c, "new_topic", "New topic", d)
}

// newTopicSubmit: POST /new-topic — preview the draft, or post it and go to the new topic.
func (s *server) newTopicSubmit(c *fiber.Ctx) error {
	in := forum.TopicInput{Title: c.FormValue("title"), Body: c.FormValue("body")}
	rawCat := strings.TrimSpace(c.FormValue("category_id"))
	f := form{Values: map[string]string{"category_id": rawCat, "title": in.Title, "body": in.Body}}
	preview := c.FormValue("preview") != ""
	if !preview {
		if rawCat != "" {
			id, err := strconv.ParseInt(rawCat, 10, 64)
			if err != nil || id < 0 {
				id = -1 // unknown: the service says "that category does not exist"
			}
			in.CategoryID = id
		}
		t, _, err := s.createTopic(c, in)
		if err == nil {
			return c.Redirect(topicURL(t), http.StatusSeeOther)
		}
		if !formFailed(c, &f, err) {
			return err
		}
	}
	d, err := s.newTopicData(c, f)
	if err != nil {
		return err
	}
	if preview {
		if d.Preview, err = previewHTML(in.Body); err != nil {
			return err
		}
		d.HasPreview = true
		topics, err := s.Search.SimilarTopics(c.UserContext(), in.Title, 5)
		if err != nil {
			return err
		}
		for _, t := range topics {
			d.Similar = append(d.Similar, similarLink{Title: t.Title, URL: topicURL(t), Solved: t.SolvedPostID != nil})
		}
	}
	return s.render(c, "new_topic", "New topic", d)
}

// previewHTML renders a draft exactly as a post would be; drafts far over
// the size limit are refused before the work (413).
func previewHTML(body string) (template.HTML, error) {
	if len(body) > 4*forum.BodyMax {
		return "", fiber.ErrRequestEntityTooLarge
	}
	return trustedPostHTML(markup.Render(body)), nil
}

// trustedPostHTML marks a post's stored HTML as safe for the templates. It
// takes only HTML that markup.Render produced: the forum service renders and
// sanitizes every post body when it is written (CreateTopic, Reply,
// EditPost) and stores the result in posts.html, and previewHTML passes
// markup.Render's output straight in. Nothing typed by a user reaches this
// function without going through the sanitizer first, which is why it is
// not a template function that any field could be passed to.
func trustedPostHTML(sanitized string) template.HTML {
	return template.HTML(sanitized) //nolint:gosec // sanitized by markup.Render at write time
}
