package app

import (
	"context"
	"errors"
	"html/template"
	"net/http"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"agora/forum"
	"agora/models"
	"agora/moderation"
	"agora/pagecache"
	"agora/policy"
)

// Reading one topic: the page /t/{id}/{slug} and GET /api/v1/topics/{id},
// both built from forum.TopicPage, so the two show the same posts with the
// same visibility.

type postJSON struct {
	*models.Post
	Author     *userBrief `json:"author"`
	Liked      bool       `json:"liked"`
	IsSolution bool       `json:"is_solution"`
	Notice     string     `json:"notice,omitempty"`
	Hidden     bool       `json:"hidden,omitempty"`
}

func postOut(pv *forum.PostForViewer) postJSON {
	return postJSON{Post: pv.Post, Author: brief(pv.Author), Liked: pv.Liked, IsSolution: pv.IsSolution, Notice: pv.Notice, Hidden: pv.Hidden}
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

// apiTopic: GET /api/v1/topics/{id}?page=&per_page= → {topic, posts}.
// per_page is at most forum.PerPage (the topic page's size), and pages
// count in it, as on every list: page 2 goes on where page 1 stopped.
func (s *server) apiTopic(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	page, perPage := pageParams(c)
	if c.Query("per_page") == "" {
		perPage = forum.PerPage
	}
	perPage = forum.TopicPageSize(perPage)
	a, err := s.topicJSONAudience(c, id, page, perPage)
	if err != nil {
		return err
	}
	version := func(ctx context.Context) (pagecache.Version, error) { return s.topicVersion(ctx, id, "") }
	err = s.cached(c, a, version, func() error {
		v, err := s.Forum.TopicPageOf(c.UserContext(), currentUser(c), id, page, perPage)
		if err != nil {
			return err
		}
		items := make([]postJSON, 0, len(v.Posts))
		for _, pv := range v.Posts {
			items = append(items, postOut(pv))
		}
		var author *userBrief
		if len(v.Posts) > 0 && v.Posts[0].PostNumber == 1 {
			author = brief(v.Posts[0].Author)
		}
		out := fiber.Map{
			"topic":    topicJSON{Topic: v.Topic, URL: topicURL(v.Topic), Author: author},
			"category": categoryRef{ID: v.Category.ID, Name: v.Category.Name, Slug: v.Category.Slug, Color: v.Category.Color},
			"posts": fiber.Map{"items": items, "page": v.Page, "per_page": perPage, "total": v.Topic.ReplyCount + 1,
				"pages": v.Pages},
		}
		if v.Solution != nil {
			out["solution"] = postOut(v.Solution)
		}
		return c.JSON(out)
	})
	if err == nil {
		s.countView(c, id, page, perPage)
	}
	return err
}

// countView counts a view of a topic's page and, for a member, that they
// read it up to the page's last post (capped at the topic's end when flushed).
func (s *server) countView(c *fiber.Ctx, topicID int64, page, perPage int) {
	s.Views.Record(topicID, viewerKey(c))
	if u := currentUser(c); u != nil {
		s.Views.Read(u.ID, topicID, max(page, 1)*perPage)
	}
}

// topic.html gets plain structs with every value already formatted:
// html/template resolves each field by name through reflect on every use,
// which is slow through embedded pointers, and method and func calls per
// post cost a reflect call each.

// postItem is a post as the topic page shows it to one viewer.
type postItem struct {
	ID         int64
	Number     int
	URL        string // the post's anchor, on the page that holds it
	IsQuestion bool
	IsSolution bool
	Hidden     bool   // hidden from others; this viewer is its author or staff
	Notice     string // replaces the content when the viewer may not see it
	// SafeHTML is the stored, sanitized rendering (see trustedPostHTML).
	SafeHTML        template.HTML
	Author          *postAuthor // nil: a former member
	ReplyTo         *postRef    // the post it answers, when that is on the same page
	Edited          bool        // it has revisions
	CanSeeRevisions bool        // policy.SeeRevisions
	Posted          when
	LikeCount       int
	OneLike         bool // LikeCount is 1 ("like", not "likes")
	Liked           bool // the viewer likes it
	Own             bool // the viewer wrote it
	// The actions under the post; none apply while a notice replaces it.
	CanAct        bool          // content is shown: likes, quotes and replies apply
	LikeForm      bool          // a member likes with a form; a guest gets a sign-in link
	CanSolve      bool          // policy.Solve and policy.Solution
	CanEdit       bool          // policy.Edit
	CanQuote      bool          // policy.Quote
	SignInToReply bool          // a guest: the reply link signs in first
	CanFlag       bool          // policy.Flag, and no open flag of the viewer's on it
	FlagChoices   template.HTML // the flag menu's reasons (see flagChoices)
	MyFlag        *flagNote     // the viewer's open flag on it
	QuoteURL      string
	ReplyURL      string
}

// postAuthor is who wrote a post.
type postAuthor struct {
	Username  string
	Name      string // the display name, or the username
	Initial   string // the avatar letter
	Color     string // its colour (models.User.Avatar)
	StaffRole string // the role badge: set for moderators and admins only
	// Level and BadgeCount fill partials/flair, formatted once per author.
	Level      string
	BadgeCount string
}

// flagNote is the viewer's open flag on a post.
type flagNote struct {
	ID          int64
	ReasonTitle string
}

// postRef names another post of the topic.
type postRef struct {
	Number   int
	Username string
	URL      string
}

// replyBox is the reply form at the bottom of a topic page.
type replyBox struct {
	form
	// State is "open", "guest", "locked" (for members; staff still get the
	// form with a notice) or "suspended": what policy.Reply answers.
	State      string
	Locked     bool   // the topic is locked (staff see the form and this notice)
	Suspended  string // why a suspended member cannot reply
	ReplyingTo *postRef
	Preview    template.HTML
	HasPreview bool
	LoginURL   string
}

// pagerLink is one numbered page link.
type pagerLink struct {
	N       int
	URL     string
	Current bool
}

// topicInfo is what the topic's header and side card show.
type topicInfo struct {
	ID                     int64
	Title                  string
	Solved, Locked, Pinned bool
	ReplyCount             int
	ViewCount              int
	LikeCount              int
	Replies, Views, Likes  string // "3 replies", "1 view", "0 likes"
	Asked, LastReply       when
}

// topicPageData is everything topic.html shows.
type topicPageData struct {
	Topic    *models.Topic // for the handlers; the template reads Info
	Info     topicInfo
	Category *categoryTag
	URL      string      // canonical URL of page 1
	PageURL  string      // URL of this page
	LoginURL string      // sign in and come back here (for guests)
	Posts    []*postItem // this page's posts in order (the question first on page 1)
	Solution *postItem
	pager
	PageLinks []pagerLink
	CanSolve  bool
	Reply     replyBox
	Watch     *watchControl // nil for guests
}

// replyState is what policy.Reply answers, for the reply form.
func replyState(err error) string {
	var se *models.SuspendedError
	switch {
	case err == nil:
		return "open"
	case errors.Is(err, models.ErrUnauthenticated):
		return "guest"
	case errors.As(err, &se):
		return "suspended"
	}
	return "locked"
}

// loadTopicPage builds page n of a topic for the current viewer. What the
// viewer may do to each post is policy's answer, the same the services give.
func (s *server) loadTopicPage(c *fiber.Ctx, id int64, n int) (*topicPageData, error) {
	viewer := currentUser(c)
	v, err := s.Forum.TopicPage(c.UserContext(), viewer, id, n)
	if err != nil {
		return nil, err
	}
	now := s.Now()
	t := v.Topic
	d := &topicPageData{Topic: t, Category: newCategoryTag(v.Category), URL: topicURL(t), PageURL: topicPageURL(t, v.Page),
		pager: newPager(v.Page, v.Pages, func(i int) string { return topicPageURL(t, i) })}
	d.Info = topicInfo{ID: t.ID, Title: t.Title, Solved: t.SolvedPostID != nil, Locked: t.Locked, Pinned: t.Pinned,
		ReplyCount: t.ReplyCount, ViewCount: t.ViewCount, LikeCount: t.LikeCount,
		Replies: plural(t.ReplyCount, "reply", "replies"), Views: plural(t.ViewCount, "view", "views"),
		Likes: plural(t.LikeCount, "like", "likes"), Asked: at(now, t.CreatedAt), LastReply: at(now, t.LastPostedAt)}
	d.LoginURL = loginURL(d.PageURL)
	if d.Watch, err = s.watchControlFor(c, t.ID, false, d.PageURL); err != nil {
		return nil, err
	}
	d.CanSolve = policy.Solve(viewer, t, now) == nil
	if v.Pages > 1 {
		for i := 1; i <= v.Pages; i++ {
			d.PageLinks = append(d.PageLinks, pagerLink{N: i, URL: topicPageURL(t, i), Current: i == v.Page})
		}
	}
	replyErr := policy.Reply(viewer, t, now)
	d.Reply = replyBox{form: form{Values: map[string]string{}}, State: replyState(replyErr), Locked: t.Locked, LoginURL: d.LoginURL}
	if d.Reply.State == "suspended" {
		d.Reply.Suspended = replyErr.Error()
	}

	byID := make(map[int64]*forum.PostForViewer, len(v.Posts))
	for _, pv := range v.Posts {
		byID[pv.ID] = pv
	}
	sep := "?"
	if strings.Contains(d.PageURL, "?") {
		sep = "&"
	}
	var choices string
	authors := make(map[*models.User]*postAuthor, len(v.Posts))
	item := func(pv *forum.PostForViewer) (*postItem, error) {
		it := &postItem{ID: pv.ID, Number: pv.PostNumber, URL: postURL(t, pv.PostNumber), IsQuestion: pv.PostNumber == 1,
			IsSolution: pv.IsSolution, Hidden: pv.Hidden, Notice: pv.Notice, SafeHTML: trustedPostHTML(pv.HTML),
			Edited: pv.RevisionCount > 0, Posted: at(now, pv.CreatedAt), LikeCount: pv.LikeCount, OneLike: pv.LikeCount == 1,
			Liked: pv.Liked, CanEdit: pv.CanEdit, LikeForm: viewer != nil, SignInToReply: viewer == nil}
		if u := pv.Author; u != nil {
			a, ok := authors[u]
			if !ok {
				a = &postAuthor{Username: u.Username, Name: u.Name(), Initial: initial(u.Username),
					Color: u.Avatar(), Level: strconv.Itoa(u.Level), BadgeCount: strconv.Itoa(u.BadgeCount)}
				if u.IsStaff() {
					a.StaffRole = u.Role
				}
				authors[u] = a
			}
			it.Author = a
		}
		it.Own = viewer != nil && viewer.ID == pv.UserID
		it.CanSeeRevisions = policy.SeeRevisions(viewer, t, pv.Post) == nil
		it.CanAct = pv.Notice == ""
		it.CanSolve = d.CanSolve && policy.Solution(t, pv.Post) == ""
		it.CanQuote = policy.Quote(viewer, t, pv.Post, now)
		id := strconv.FormatInt(pv.ID, 10)
		it.QuoteURL = d.PageURL + sep + "quote=" + id + "#reply"
		it.ReplyURL = d.PageURL + sep + "reply_to=" + id + "#reply"
		if pv.ReplyToPostID != nil {
			if parent, ok := byID[*pv.ReplyToPostID]; ok && parent.PostNumber != 1 {
				ref := &postRef{Number: parent.PostNumber, URL: "#post-" + strconv.Itoa(parent.PostNumber)}
				if parent.Author != nil {
					ref.Username = parent.Author.Username
				}
				it.ReplyTo = ref
			}
		}
		if f := pv.OpenFlag; f != nil {
			it.MyFlag = &flagNote{ID: f.ID, ReasonTitle: guidelineTitle(f.Reason)}
		}
		it.CanFlag = it.MyFlag == nil && policy.Flag(viewer, t, pv.Post, now) == nil
		if it.CanFlag {
			if choices == "" {
				var err error
				if choices, err = s.flagChoices(); err != nil {
					return nil, err
				}
			}
			it.FlagChoices = flagChoicesFor(choices, pv.ID)
		}
		return it, nil
	}
	d.Posts = make([]*postItem, 0, len(v.Posts))
	for _, pv := range v.Posts {
		it, err := item(pv)
		if err != nil {
			return nil, err
		}
		d.Posts = append(d.Posts, it)
	}
	if v.Solution != nil {
		if d.Solution, err = item(v.Solution); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// flagChoices renders the reasons of the flag menu (partials/flag_reasons)
// for post 0. Every post of a page has the same menu but for the post id in
// the inputs' ids, and twelve reasons on each of twenty posts cost more in
// html/template than the rest of the page, so a page renders them once and
// flagChoicesFor puts each post's id in.
func (s *server) flagChoices() (string, error) {
	var b strings.Builder
	err := s.flagReasons.Execute(&b, struct {
		PostID  int64
		Reasons []moderation.Guideline
	}{0, moderation.Guidelines})
	return b.String(), err
}

// flagChoicesFor is the flag menu's reasons for one post. A `"flag-0-` in
// html/template's output can only be the start of the partial's own id and
// for attributes (it writes a quote inside any value as &#34;), and the
// post id adds only digits.
func flagChoicesFor(choices string, postID int64) template.HTML {
	return template.HTML(strings.ReplaceAll(choices, `"flag-0-`, `"flag-`+strconv.FormatInt(postID, 10)+"-")) //nolint:gosec // see above
}

// renderTopic writes the topic page.
func (s *server) renderTopic(c *fiber.Ctx, d *topicPageData) error {
	title := d.Topic.Title
	if d.Page > 1 {
		title += " (page " + strconv.Itoa(d.Page) + ")"
	}
	return s.render(c, "topic", title, d)
}

// topicPage: GET /t/{id}/{slug}?page=N — one page of a topic. A missing or
// wrong slug redirects (301) to the canonical URL, keeping the query.
func (s *server) topicPage(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	slug := c.Params("slug")
	if slug == "" {
		slug = "/" // never a slug: no version, so the redirect is not cached
	}
	n := pageParam(c)
	a, err := s.topicPageAudience(c, id, n)
	if err != nil {
		return err
	}
	version := func(ctx context.Context) (pagecache.Version, error) { return s.topicVersion(ctx, id, slug) }
	err = s.cached(c, a, version, func() error {
		d, err := s.loadTopicPage(c, id, n)
		if err != nil {
			return err
		}
		if c.Params("slug") != d.Topic.Slug {
			target := topicURL(d.Topic)
			if q := string(c.Request().URI().QueryString()); q != "" {
				target += "?" + q
			}
			return c.Redirect(target, http.StatusMovedPermanently)
		}
		if d.Reply.State == "open" {
			if err := s.prefillReply(c, d); err != nil {
				return err
			}
		}
		return s.renderTopic(c, d)
	})
	if err == nil && c.Response().StatusCode() == http.StatusOK {
		s.countView(c, id, n, forum.PerPage)
	}
	return err
}
