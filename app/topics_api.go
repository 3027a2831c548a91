package app

import (
	"context"
	"net/http"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"agora/forum"
	"agora/markup"
	"agora/models"
	"agora/pagecache"
)

// userBrief is how an author appears beside a post or topic.
type userBrief struct {
	ID          int64  `json:"id"`
	Username    string `json:"username"`
	DisplayName string `json:"display_name"`
	Level       int    `json:"level"`
	BadgeCount  int    `json:"badge_count"`
}

func brief(u *models.User) *userBrief {
	if u == nil {
		return nil
	}
	return &userBrief{ID: u.ID, Username: u.Username, DisplayName: u.DisplayName, Level: u.Level, BadgeCount: u.BadgeCount}
}

type topicJSON struct {
	*models.Topic
	URL    string     `json:"url"`
	Author *userBrief `json:"author"`
}

type postJSON struct {
	*models.Post
	Author     *userBrief `json:"author"`
	Liked      bool       `json:"liked"`
	IsSolution bool       `json:"is_solution"`
	Notice     string     `json:"notice,omitempty"`
	Hidden     bool       `json:"hidden,omitempty"`
}

func postOut(pv *forum.PostView) postJSON {
	return postJSON{Post: pv.Post, Author: brief(pv.Author), Liked: pv.Liked, IsSolution: pv.IsSolution, Notice: pv.Notice, Hidden: pv.Hidden}
}

func topicURL(t *models.Topic) string { return "/t/" + strconv.FormatInt(t.ID, 10) + "/" + t.Slug }

// pageParams reads ?page and ?per_page: page from 1, per_page 1..100 (default 20).
func pageParams(c *fiber.Ctx) (page, perPage int) {
	page = max(1, c.QueryInt("page", 1))
	perPage = min(100, max(1, c.QueryInt("per_page", 20)))
	return page, perPage
}

// idParam reads a positive integer route parameter; anything else is a 404.
func idParam(c *fiber.Ctx, name string) (int64, error) {
	id, err := strconv.ParseInt(c.Params(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, models.ErrNotFound
	}
	return id, nil
}

// apiCategories: GET /api/v1/categories.
func (s *server) apiCategories(c *fiber.Ctx) error {
	cats, err := models.ListCategories(c.UserContext(), s.DB, currentUser(c).IsAdmin())
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"items": cats})
}

// apiTopics: GET /api/v1/topics?category=&filter=&page=&per_page=.
func (s *server) apiTopics(c *fiber.Ctx) error {
	o, err := listOptions(c, c.QueryInt("category"))
	if err != nil {
		return err
	}
	return s.cached(c, everyone, s.listsVersion, func() error {
		page, err := s.topicList(c, o)
		if err != nil {
			return err
		}
		items := make([]topicJSON, len(page.Topics))
		for i, r := range page.Topics {
			items[i] = topicJSON{Topic: r.Topic, URL: topicURL(r.Topic), Author: brief(r.Author)}
		}
		return c.JSON(fiber.Map{"items": items, "page": o.Page, "per_page": o.PerPage, "total": page.Total})
	})
}

// listOptions reads a topic list's filter and paging.
func listOptions(c *fiber.Ctx, categoryID int) (models.TopicListOptions, error) {
	o := models.TopicListOptions{CategoryID: int64(categoryID), Filter: c.Query("filter", models.FilterLatest)}
	if !models.ValidFilter(o.Filter) {
		return o, &models.ValidationError{Fields: map[string]string{"filter": "use latest, unanswered, solved or top"}}
	}
	o.Page, o.PerPage = pageParams(c)
	return o, nil
}

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
	t, p, err := s.forum.CreateTopic(c.UserContext(), u, forum.TopicInput(req))
	if err != nil {
		return err
	}
	pv := &forum.PostView{Post: p, Author: u, CanEdit: true}
	return c.Status(http.StatusCreated).JSON(fiber.Map{
		"topic": topicJSON{Topic: t, URL: topicURL(t), Author: brief(u)}, "post": postOut(pv)})
}

// apiTopic: GET /api/v1/topics/{id}?page= → {topic, posts}.
func (s *server) apiTopic(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	page, _ := pageParams(c)
	a := guests
	if u := currentUser(c); u != nil {
		// A member with nothing of their own on the page sees what guests see.
		a = nobody
		if !u.IsStaff() {
			personal, err := s.personalOn(c, id, page)
			if err != nil {
				return err
			}
			if !personal {
				a = guests
			}
		}
	}
	version := func(ctx context.Context) (pagecache.Version, error) { return s.topicVersion(ctx, id, "") }
	err = s.cached(c, a, version, func() error {
		v, err := s.forum.TopicPage(c.UserContext(), currentUser(c), id, page)
		if err != nil {
			return err
		}
		items := make([]postJSON, len(v.Posts))
		for i, pv := range v.Posts {
			items[i] = postOut(pv)
		}
		var author *userBrief
		if len(v.Posts) > 0 && v.Posts[0].PostNumber == 1 {
			author = brief(v.Posts[0].Author)
		}
		out := fiber.Map{
			"topic":    topicJSON{Topic: v.Topic, URL: topicURL(v.Topic), Author: author},
			"category": categoryRef{ID: v.Category.ID, Name: v.Category.Name, Slug: v.Category.Slug, Color: v.Category.Color},
			"posts":    fiber.Map{"items": items, "page": v.Page, "per_page": forum.PerPage, "total": v.Topic.ReplyCount + 1, "pages": v.Pages},
		}
		if v.Solution != nil {
			out["solution"] = postOut(v.Solution)
		}
		return c.JSON(out)
	})
	if err == nil {
		s.views.Record(id, viewerKey(c))
	}
	return err
}

// categoryRef is a topic's category as the topic's JSON names it. Its
// counters live in GET /api/v1/categories: they change with every reply
// anywhere in the category, which would otherwise change every topic's answer.
type categoryRef struct {
	ID    int64  `json:"id"`
	Name  string `json:"name"`
	Slug  string `json:"slug"`
	Color string `json:"color"`
}

type replyRequest struct {
	Body          string `json:"body"`
	ReplyToPostID *int64 `json:"reply_to_post_id"`
}

// apiReply: POST /api/v1/topics/{id}/posts → 201 {post}.
func (s *server) apiReply(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	var req replyRequest
	if err := parseJSON(c, &req); err != nil {
		return err
	}
	u := currentUser(c)
	p, err := s.forum.Reply(c.UserContext(), u, id, req.Body, req.ReplyToPostID)
	if err != nil {
		return err
	}
	return c.Status(http.StatusCreated).JSON(fiber.Map{"post": postOut(&forum.PostView{Post: p, Author: u, CanEdit: true})})
}

type editRequest struct {
	Body   string `json:"body"`
	Reason string `json:"reason"`
}

// apiEditPost: PATCH /api/v1/posts/{id} → {post}.
func (s *server) apiEditPost(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	var req editRequest
	if err := parseJSON(c, &req); err != nil {
		return err
	}
	p, err := s.forum.EditPost(c.UserContext(), currentUser(c), id, req.Body, req.Reason)
	if err != nil {
		return err
	}
	authors, err := models.UsersByIDs(c.UserContext(), s.DB, []int64{p.UserID})
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"post": postOut(&forum.PostView{Post: p, Author: authors[p.UserID]})})
}

// apiRevisions: GET /api/v1/posts/{id}/revisions.
func (s *server) apiRevisions(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	_, revs, err := s.forum.Revisions(c.UserContext(), currentUser(c), id)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"items": revs, "page": 1, "per_page": len(revs), "total": len(revs)})
}

// apiLike: POST and DELETE /api/v1/posts/{id}/like → {like_count}.
func (s *server) apiLike(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	var n int
	if c.Method() == fiber.MethodDelete {
		n, err = s.forum.Unlike(c.UserContext(), currentUser(c), id)
	} else {
		n, err = s.forum.Like(c.UserContext(), currentUser(c), id)
	}
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"like_count": n, "liked": c.Method() != fiber.MethodDelete})
}

// apiSolution: POST /api/v1/topics/{id}/solution {post_id} → {topic}; post_id null or 0 unmarks.
func (s *server) apiSolution(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	var req struct {
		PostID *int64 `json:"post_id"`
	}
	if err := parseJSON(c, &req); err != nil {
		return err
	}
	var postID int64
	if req.PostID != nil {
		postID = *req.PostID
	}
	t, err := s.forum.SetSolution(c.UserContext(), currentUser(c), id, postID)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"topic": topicJSON{Topic: t, URL: topicURL(t)}})
}

// apiSimilar: GET /api/v1/topics/similar?title= → topics with similar titles.
func (s *server) apiSimilar(c *fiber.Ctx) error {
	topics, err := s.similarTopics(c.UserContext(), c.Query("title"))
	if err != nil {
		return err
	}
	items := make([]topicJSON, len(topics))
	for i, t := range topics {
		items[i] = topicJSON{Topic: t, URL: topicURL(t)}
	}
	return c.JSON(fiber.Map{"items": items})
}

// apiPreview: POST /api/v1/preview {body} → {html}, rendered exactly as a post would be.
func (s *server) apiPreview(c *fiber.Ctx) error {
	var req struct {
		Body string `json:"body"`
	}
	if err := parseJSON(c, &req); err != nil {
		return err
	}
	if len(req.Body) > 4*forum.BodyMax {
		return fiber.ErrRequestEntityTooLarge
	}
	return c.JSON(fiber.Map{"html": markup.Render(req.Body)})
}

type categoryRequest struct {
	Name        *string `json:"name"`
	Slug        *string `json:"slug"`
	Description *string `json:"description"`
	Color       *string `json:"color"`
	Position    *int    `json:"position"`
	Archived    *bool   `json:"archived"`
	// FlagThreshold: the open flag weight that hides a post; 0 restores the default.
	FlagThreshold *int `json:"flag_threshold"`
}

// apiCreateCategory: POST /api/v1/admin/categories → 201 {category}.
func (s *server) apiCreateCategory(c *fiber.Ctx) error {
	var req categoryRequest
	if err := parseJSON(c, &req); err != nil {
		return err
	}
	if req.Name == nil {
		req.Name = new(string)
	}
	cat, err := s.forum.CreateCategory(c.UserContext(), currentUser(c), forum.CategoryInput(req))
	if err != nil {
		return err
	}
	return c.Status(http.StatusCreated).JSON(fiber.Map{"category": cat})
}

// apiUpdateCategory: PATCH /api/v1/admin/categories/{id} → {category}.
func (s *server) apiUpdateCategory(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	var req categoryRequest
	if err := parseJSON(c, &req); err != nil {
		return err
	}
	cat, err := s.forum.UpdateCategory(c.UserContext(), currentUser(c), id, forum.CategoryInput(req))
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"category": cat})
}

// apiSetRole: POST /api/v1/admin/users/{id}/role {role} → {user}.
func (s *server) apiSetRole(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	var req struct {
		Role string `json:"role"`
	}
	if err := parseJSON(c, &req); err != nil {
		return err
	}
	if !models.ValidRole(req.Role) {
		return &models.ValidationError{Fields: map[string]string{"role": "use member, moderator or admin"}}
	}
	if err := models.SetUserRole(c.UserContext(), s.DB, id, req.Role, s.Now().UTC()); err != nil {
		return err
	}
	u, err := models.UserByID(c.UserContext(), s.DB, id)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"user": publicUser(u)})
}
