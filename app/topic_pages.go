package app

import (
	"context"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"agora/forum"
	"agora/markup"
	"agora/models"
	"agora/moderation"
	"agora/pagecache"
)

// The server-rendered topic pages: topic lists (filters and paging), a
// topic with its replies, the reply, new-topic and edit forms, revisions,
// likes and best answers. Every page works with plain forms and 303
// redirects; app.js only improves them (live preview, similar topics, likes
// without a reload).

// trustedPostHTML marks a post's stored HTML as safe for the templates. It
// takes only HTML that markup.Render produced: the forum service renders and
// sanitizes every post body when it is written (CreateTopic, Reply,
// EditPost) and stores the result in posts.html, and the preview handlers
// pass markup.Render's output straight in. Nothing typed by a user reaches
// this function without going through the sanitizer first, which is why it
// is not a template function that any field could be passed to.
func trustedPostHTML(sanitized string) template.HTML {
	return template.HTML(sanitized) //nolint:gosec // sanitized by markup.Render at write time
}

// --- topic lists (home.html) -------------------------------------------

// listFilters are the tabs above a topic list, in order.
var listFilters = []struct{ Key, Label string }{
	{models.FilterLatest, "Latest"},
	{models.FilterUnanswered, "Unanswered"},
	{models.FilterSolved, "Solved"},
	{models.FilterTop, "Top"},
}

// filterTab is one tab of a topic list.
type filterTab struct {
	Label   string
	URL     string
	Current bool
}

// Tabs returns the filter tabs of the list, linking to the first page of each.
func (p *topicListPage) Tabs() []filterTab {
	tabs := make([]filterTab, len(listFilters))
	for i, f := range listFilters {
		tabs[i] = filterTab{Label: f.Label, URL: p.listURL(f.Key, 1), Current: p.Filter == f.Key}
	}
	return tabs
}

// listURL links to page n of the list with filter f; the defaults are left out.
func (p *topicListPage) listURL(f string, n int) string {
	base := p.BaseURL
	if base == "" {
		base = "/"
	}
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

// PrevURL links to the previous page, or is empty on the first.
func (p *topicListPage) PrevURL() string {
	if p.Page <= 1 {
		return ""
	}
	return p.listURL(p.Filter, p.Page-1)
}

// NextURL links to the next page, or is empty on the last.
func (p *topicListPage) NextURL() string {
	if p.Page >= p.Pages {
		return ""
	}
	return p.listURL(p.Filter, p.Page+1)
}

// NewTopicURL starts a topic, in the list's category when there is one.
func (p *topicListPage) NewTopicURL() string {
	if p.Category != nil {
		return "/new-topic?category=" + strconv.FormatInt(p.Category.ID, 10)
	}
	return "/new-topic"
}

// Heading names the list.
func (p *topicListPage) Heading() string {
	if p.Category != nil {
		return p.Category.Name
	}
	switch p.Filter {
	case models.FilterUnanswered:
		return "Unanswered topics"
	case models.FilterSolved:
		return "Solved topics"
	case models.FilterTop:
		return "Top topics"
	}
	return "Latest topics"
}

// EmptyTitle and EmptyText are what an empty list says, per filter.
func (p *topicListPage) EmptyTitle() string {
	switch p.Filter {
	case models.FilterUnanswered:
		return "No unanswered topics"
	case models.FilterSolved:
		return "No solved topics yet"
	case models.FilterTop:
		return "No liked topics yet"
	}
	if p.Category != nil {
		return "No topics in this category yet"
	}
	return "No topics yet"
}

// EmptyText explains the empty state.
func (p *topicListPage) EmptyText() string {
	switch p.Filter {
	case models.FilterUnanswered:
		return "Every question has at least one reply. Nice work, everyone!"
	case models.FilterSolved:
		return "When someone marks a reply as the best answer, the topic shows up here."
	case models.FilterTop:
		return "Topics with the most likes will show up here."
	}
	return "Questions and answers will show up here. Why not start the first topic?"
}

// --- the topic page ----------------------------------------------------

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
	CanSeeRevisions bool        // the viewer is the author or staff
	Posted          when
	LikeCount       int
	OneLike         bool // LikeCount is 1 ("like", not "likes")
	Liked           bool // the viewer likes it
	Own             bool // the viewer wrote it
	// The actions under the post; none apply while a notice replaces it.
	CanAct        bool          // content is shown: likes, quotes and replies apply
	LikeForm      bool          // a member likes with a form; a guest gets a sign-in link
	CanSolve      bool          // the viewer may mark it as (or unmark it from) the best answer
	CanEdit       bool          // the viewer may edit it
	CanQuote      bool          // the reply form is open: quote and reply links
	SignInToReply bool          // a guest: the reply link signs in first
	CanFlag       bool          // a member other than the author, not suspended, without an open flag on it
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
	StaffRole string // the role badge: set for moderators and admins only
	// Level and Badges fill the flair "Level N · Badge +M"; the template
	// holds the text around them (html/template would escape a "+" in a value).
	Level  string
	Badges string
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
	// form with a notice) or "suspended".
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

// topicPageData is everything topic.html shows.
type topicPageData struct {
	Topic     *models.Topic // for the handlers; the template reads Info
	Info      topicInfo
	Category  *categoryTag
	URL       string      // canonical URL of page 1
	PageURL   string      // URL of this page
	LoginURL  string      // sign in and come back here (for guests)
	Posts     []*postItem // this page's posts in order (the question first on page 1)
	Solution  *postItem
	Page      int
	Pages     int
	PrevURL   string
	NextURL   string
	PageLinks []pagerLink
	CanSolve  bool
	Reply     replyBox
	// MyFlags holds the viewer's open flags on this page's posts, by post id (mod_pages.go).
	MyFlags map[int64]*models.Flag
}

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

// loginURL sends a guest to sign in and back to next.
func loginURL(next string) string { return "/login?next=" + url.QueryEscape(next) }

// loadTopicPage builds page n of a topic for the current viewer.
func (s *server) loadTopicPage(c *fiber.Ctx, id int64, n int) (*topicPageData, error) {
	viewer := currentUser(c)
	v, err := s.forum.TopicPage(c.UserContext(), viewer, id, n)
	if err != nil {
		return nil, err
	}
	now := s.Now()
	t := v.Topic
	d := &topicPageData{Topic: t, Category: newCategoryTag(v.Category), URL: topicURL(t), PageURL: topicPageURL(t, v.Page),
		Page: v.Page, Pages: v.Pages}
	d.Info = topicInfo{ID: t.ID, Title: t.Title, Solved: t.SolvedPostID != nil, Locked: t.Locked, Pinned: t.Pinned,
		ReplyCount: t.ReplyCount, ViewCount: t.ViewCount, LikeCount: t.LikeCount,
		Replies: plural(t.ReplyCount, "reply", "replies"), Views: plural(t.ViewCount, "view", "views"),
		Likes: plural(t.LikeCount, "like", "likes"), Asked: at(now, t.CreatedAt), LastReply: at(now, t.LastPostedAt)}
	d.LoginURL = loginURL(d.PageURL)
	d.CanSolve = viewer != nil && (viewer.ID == t.UserID || viewer.IsStaff())
	if v.Page > 1 {
		d.PrevURL = topicPageURL(t, v.Page-1)
	}
	if v.Page < v.Pages {
		d.NextURL = topicPageURL(t, v.Page+1)
	}
	if v.Pages > 1 {
		for i := 1; i <= v.Pages; i++ {
			d.PageLinks = append(d.PageLinks, pagerLink{N: i, URL: topicPageURL(t, i), Current: i == v.Page})
		}
	}

	byID := make(map[int64]*forum.PostView, len(v.Posts))
	for _, pv := range v.Posts {
		byID[pv.ID] = pv
	}
	sep := "?"
	if strings.Contains(d.PageURL, "?") {
		sep = "&"
	}
	authors := make(map[*models.User]*postAuthor, len(v.Posts))
	item := func(pv *forum.PostView) *postItem {
		it := &postItem{ID: pv.ID, Number: pv.PostNumber, URL: postURL(t, pv.PostNumber), IsQuestion: pv.PostNumber == 1,
			IsSolution: pv.IsSolution, Hidden: pv.Hidden, Notice: pv.Notice, SafeHTML: trustedPostHTML(pv.HTML),
			Edited: pv.RevisionCount > 0, Posted: at(now, pv.CreatedAt), LikeCount: pv.LikeCount, OneLike: pv.LikeCount == 1,
			Liked: pv.Liked, CanEdit: pv.CanEdit}
		if u := pv.Author; u != nil {
			a, ok := authors[u]
			if !ok {
				a = &postAuthor{Username: u.Username, Name: u.Name(), Initial: initial(u.Username),
					Level: strconv.Itoa(u.Level), Badges: strconv.Itoa(u.BadgeCount)}
				if u.IsStaff() {
					a.StaffRole = u.Role
				}
				authors[u] = a
			}
			it.Author = a
		}
		it.Own = viewer != nil && viewer.ID == pv.UserID
		it.CanSeeRevisions = it.Own || viewer.IsStaff()
		it.CanAct = pv.Notice == ""
		it.CanSolve = d.CanSolve && pv.PostNumber != 1 && pv.Notice == "" && !pv.Hidden
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
		return it
	}
	d.Posts = make([]*postItem, 0, len(v.Posts))
	for _, pv := range v.Posts {
		d.Posts = append(d.Posts, item(pv))
	}
	if v.Solution != nil {
		d.Solution = item(v.Solution)
	}

	d.Reply = replyBox{form: form{Values: map[string]string{}}, State: "open", Locked: t.Locked,
		LoginURL: d.LoginURL}
	suspended := viewer != nil && viewer.Suspension(now) != nil
	switch {
	case viewer == nil:
		d.Reply.State = "guest"
	case suspended:
		d.Reply.State = "suspended"
		d.Reply.Suspended = viewer.Suspension(now).Error()
	case t.Locked && !viewer.IsStaff():
		d.Reply.State = "locked"
	}
	if err := s.attachViewerFlags(c, d); err != nil {
		return nil, err
	}
	var choices string
	for _, it := range d.Posts {
		if f := d.MyFlags[it.ID]; f != nil {
			it.MyFlag = &flagNote{ID: f.ID, ReasonTitle: reasonTitle(f.Reason)}
		}
		it.LikeForm = viewer != nil
		it.CanQuote, it.SignInToReply = d.Reply.State == "open", d.Reply.State == "guest"
		it.CanFlag = viewer != nil && !it.Own && !suspended && it.MyFlag == nil
		if it.CanFlag {
			if choices == "" {
				if choices, err = s.flagChoices(); err != nil {
					return nil, err
				}
			}
			it.FlagChoices = flagChoicesFor(choices, it.ID)
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
		Reasons []moderation.Reason
	}{0, moderation.Reasons})
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
	n := c.QueryInt("page", 1)
	a := s.pageAudience(c)
	if a == members {
		if personal, err := s.personalOn(c, id, n); err != nil {
			return err
		} else if personal {
			a = nobody
		}
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
		s.views.Record(id, viewerKey(c))
	}
	return err
}

// personalOn reports whether the signed-in member has anything of their own
// on page n of a topic (see models.Versions.Personal).
func (s *server) personalOn(c *fiber.Ctx, topicID int64, n int) (bool, error) {
	from := (max(1, n)-1)*forum.PerPage + 1
	return s.versions.Personal(c.UserContext(), topicID, from, from+forum.PerPage-1, currentUser(c).ID)
}

// prefillReply handles ?quote={post id} (the post's Markdown as a quote) and
// ?reply_to={post id}: both answer that post. Posts of other topics and posts
// the viewer may not read are ignored.
func (s *server) prefillReply(c *fiber.Ctx, d *topicPageData) error {
	quote := c.QueryInt("quote")
	target := int64(quote)
	if target <= 0 {
		target = int64(c.QueryInt("reply_to"))
	}
	if target <= 0 {
		return nil
	}
	ctx := c.UserContext()
	p, err := models.PostByID(ctx, s.DB, target)
	if models.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	viewer := currentUser(c)
	visible := (p.RemovedAt == nil && p.HiddenAt == nil) || viewer.IsStaff() ||
		(p.RemovedAt == nil && viewer != nil && viewer.ID == p.UserID)
	if p.TopicID != d.Topic.ID || !visible {
		return nil
	}
	author, err := models.UserByID(ctx, s.DB, p.UserID)
	if err != nil && !models.IsNotFound(err) {
		return err
	}
	ref := &postRef{Number: p.PostNumber, URL: postURL(d.Topic, p.PostNumber)}
	if author != nil && err == nil {
		ref.Username = author.Username
	}
	d.Reply.ReplyingTo = ref
	d.Reply.Values["reply_to_post_id"] = strconv.FormatInt(p.ID, 10)
	if quote > 0 {
		d.Reply.Values["body"] = quoteMarkdown(ref.Username, p.Body)
	}
	return nil
}

// quoteMarkdown quotes body as Markdown: "@user wrote:" then "> " lines.
func quoteMarkdown(username, body string) string {
	var b strings.Builder
	if username != "" {
		b.WriteString("@" + username + " wrote:\n")
	}
	for _, line := range strings.Split(strings.TrimRight(strings.ReplaceAll(body, "\r\n", "\n"), "\n"), "\n") {
		if line == "" {
			b.WriteString(">\n")
			continue
		}
		b.WriteString("> " + line + "\n")
	}
	b.WriteString("\n")
	return b.String()
}

// optionalID reads an optional positive id form field: empty is nil.
func optionalID(v, field string) (*int64, error) {
	v = strings.TrimSpace(v)
	if v == "" || v == "0" {
		return nil, nil
	}
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id < 0 {
		return nil, &models.ValidationError{Fields: map[string]string{field: "that post is not in this topic"}}
	}
	return &id, nil
}

// inputErrors copies the field errors of a validation or conflict error onto
// f and sets the status; it reports false for any other error.
func inputErrors(c *fiber.Ctx, f *form, err error) bool {
	var ve *models.ValidationError
	var ce *models.ConflictError
	if !errors.As(err, &ve) && !errors.As(err, &ce) {
		return false
	}
	status, body := classify(err)
	f.Errors = body.Fields
	f.Error = "Please fix the highlighted fields."
	if ce != nil && ce.Field == "" {
		f.Error = ce.Message
	}
	c.Status(status)
	return true
}

// replySubmit: POST /t/{id}/reply — add a reply (or, with "preview", show
// it rendered). Success redirects to the page holding the new post.
func (s *server) replySubmit(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	body := c.FormValue("body")
	rawReplyTo := c.FormValue("reply_to_post_id")
	pageNo, _ := strconv.Atoi(c.FormValue("page"))
	replyTo, idErr := optionalID(rawReplyTo, "reply_to_post_id")

	var postErr error
	preview := c.FormValue("preview") != ""
	if !preview {
		if idErr != nil {
			postErr = idErr
		} else {
			p, err := s.forum.Reply(c.UserContext(), currentUser(c), id, body, replyTo)
			if err == nil {
				t, err := models.TopicByID(c.UserContext(), s.DB, id)
				if err != nil {
					return err
				}
				return c.Redirect(postURL(t, p.PostNumber), http.StatusSeeOther)
			}
			if errors.Is(err, forum.ErrLocked) {
				return fiber.NewError(http.StatusForbidden, "this topic is locked, so it takes no new replies")
			}
			postErr = err
		}
	}

	d, err := s.loadTopicPage(c, id, max(1, pageNo))
	if models.IsNotFound(err) && pageNo > 1 {
		d, err = s.loadTopicPage(c, id, 1)
	}
	if err != nil {
		return err
	}
	d.Reply.Values["body"] = body
	d.Reply.Values["reply_to_post_id"] = rawReplyTo
	if replyTo != nil {
		if p, err := models.PostByID(c.UserContext(), s.DB, *replyTo); err == nil && p.TopicID == id {
			ref := &postRef{Number: p.PostNumber, URL: postURL(d.Topic, p.PostNumber)}
			if us, err := models.UsersByIDs(c.UserContext(), s.DB, []int64{p.UserID}); err == nil && us[p.UserID] != nil {
				ref.Username = us[p.UserID].Username
			}
			d.Reply.ReplyingTo = ref
		}
	}
	if preview {
		if len(body) > 4*forum.BodyMax {
			return fiber.ErrRequestEntityTooLarge
		}
		d.Reply.Preview, d.Reply.HasPreview = trustedPostHTML(markup.Render(body)), true
		return s.renderTopic(c, d)
	}
	if !inputErrors(c, &d.Reply.form, postErr) {
		return postErr
	}
	if msg, ok := d.Reply.Errors["reply_to_post_id"]; ok {
		d.Reply.Error = msg
	}
	return s.renderTopic(c, d)
}

// solutionSubmit: POST /t/{id}/solution — mark post_id as the best answer,
// or clear it when post_id is empty or 0.
func (s *server) solutionSubmit(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	postID, err := optionalID(c.FormValue("post_id"), "post_id")
	if err != nil {
		return fiber.NewError(http.StatusUnprocessableEntity, "that post is not a reply in this topic")
	}
	var pid int64
	if postID != nil {
		pid = *postID
	}
	t, err := s.forum.SetSolution(c.UserContext(), currentUser(c), id, pid)
	var ve *models.ValidationError
	if errors.As(err, &ve) {
		return fiber.NewError(http.StatusUnprocessableEntity, ve.Fields["post_id"])
	}
	if err != nil {
		return err
	}
	if pid != 0 {
		if p, err := models.PostByID(c.UserContext(), s.DB, pid); err == nil {
			return c.Redirect(postURL(t, p.PostNumber), http.StatusSeeOther)
		}
	}
	return c.Redirect(topicURL(t), http.StatusSeeOther)
}

// likeSubmit: POST /p/{id}/like — like the post, or take the like back when
// the viewer already likes it; back to the post afterwards.
func (s *server) likeSubmit(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	u := currentUser(c)
	p, err := models.PostByID(ctx, s.DB, id)
	if err != nil {
		return err
	}
	t, err := models.TopicByID(ctx, s.DB, p.TopicID)
	if err != nil {
		return err
	}
	if t.RemovedAt != nil && !u.IsStaff() {
		return models.ErrNotFound
	}
	liked, err := models.LikedPostIDs(ctx, s.DB, u.ID, []int64{id})
	if err != nil {
		return err
	}
	if liked[id] {
		_, err = s.forum.Unlike(ctx, u, id)
	} else {
		_, err = s.forum.Like(ctx, u, id)
	}
	if errors.Is(err, forum.ErrOwnPost) {
		return fiber.NewError(http.StatusForbidden, "you cannot like your own post")
	}
	if err != nil {
		return err
	}
	return c.Redirect(postURL(t, p.PostNumber), http.StatusSeeOther)
}

// --- new topic ---------------------------------------------------------

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
	cats, err := models.ListCategories(c.UserContext(), s.DB, false)
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
	f := form{Values: map[string]string{"category_id": c.Query("category")}}
	d, err := s.newTopicData(c, f)
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
	var err error
	if !preview {
		if rawCat != "" {
			in.CategoryID, err = strconv.ParseInt(rawCat, 10, 64)
			if err != nil || in.CategoryID < 0 {
				in.CategoryID = -1 // unknown: the service says "that category does not exist"
			}
		}
		var t *models.Topic
		t, _, err = s.forum.CreateTopic(c.UserContext(), currentUser(c), in)
		if err == nil {
			return c.Redirect(topicURL(t), http.StatusSeeOther)
		}
		if !inputErrors(c, &f, err) {
			return err
		}
	}
	d, derr := s.newTopicData(c, f)
	if derr != nil {
		return derr
	}
	if preview {
		if len(in.Body) > 4*forum.BodyMax {
			return fiber.ErrRequestEntityTooLarge
		}
		d.Preview, d.HasPreview = trustedPostHTML(markup.Render(in.Body)), true
		topics, err := s.similarTopics(c.UserContext(), in.Title)
		if err != nil {
			return err
		}
		for _, t := range topics {
			d.Similar = append(d.Similar, similarLink{Title: t.Title, URL: topicURL(t), Solved: t.SolvedPostID != nil})
		}
	}
	return s.render(c, "new_topic", "New topic", d)
}

// --- edit and revisions ------------------------------------------------

// editPostPage is what edit_post.html shows.
type editPostPage struct {
	form
	Post       *models.Post
	Topic      *models.Topic
	PostURL    string
	Preview    template.HTML
	HasPreview bool
}

// editablePost loads a post the viewer may edit: its author (not while
// suspended, not once a moderator removed it) or staff. Posts in removed
// topics exist only for staff.
func (s *server) editablePost(c *fiber.Ctx) (*models.Post, *models.Topic, error) {
	id, err := idParam(c, "id")
	if err != nil {
		return nil, nil, err
	}
	ctx := c.UserContext()
	u := currentUser(c)
	p, err := models.PostByID(ctx, s.DB, id)
	if err != nil {
		return nil, nil, err
	}
	t, err := models.TopicByID(ctx, s.DB, p.TopicID)
	if err != nil {
		return nil, nil, err
	}
	if !u.IsStaff() {
		if t.RemovedAt != nil {
			return nil, nil, models.ErrNotFound
		}
		if u.ID != p.UserID || p.RemovedAt != nil {
			return nil, nil, models.ErrForbidden
		}
		if err := u.Suspension(s.Now()); err != nil {
			return nil, nil, err
		}
	}
	return p, t, nil
}

// editPostForm: GET /p/{id}/edit.
func (s *server) editPostForm(c *fiber.Ctx) error {
	p, t, err := s.editablePost(c)
	if err != nil {
		return err
	}
	d := &editPostPage{form: form{Values: map[string]string{"body": p.Body}}, Post: p, Topic: t, PostURL: postURL(t, p.PostNumber)}
	return s.render(c, "edit_post", "Edit post", d)
}

// editPostSubmit: POST /p/{id}/edit — save (keeping a revision) and go back to the post.
func (s *server) editPostSubmit(c *fiber.Ctx) error {
	p, t, err := s.editablePost(c)
	if err != nil {
		return err
	}
	body, reason := c.FormValue("body"), c.FormValue("reason")
	d := &editPostPage{form: form{Values: map[string]string{"body": body, "reason": reason}}, Post: p, Topic: t,
		PostURL: postURL(t, p.PostNumber)}
	if c.FormValue("preview") != "" {
		if len(body) > 4*forum.BodyMax {
			return fiber.ErrRequestEntityTooLarge
		}
		d.Preview, d.HasPreview = trustedPostHTML(markup.Render(body)), true
		return s.render(c, "edit_post", "Edit post", d)
	}
	if _, err := s.forum.EditPost(c.UserContext(), currentUser(c), p.ID, body, reason); err != nil {
		if !inputErrors(c, &d.form, err) {
			return err
		}
		return s.render(c, "edit_post", "Edit post", d)
	}
	return c.Redirect(d.PostURL, http.StatusSeeOther)
}

// revisionItem is one revision with its editor.
type revisionItem struct {
	*models.Revision
	Editor *models.User
}

// revisionsPage is what revisions.html shows.
type revisionsPage struct {
	Post      *models.Post
	Topic     *models.Topic
	PostURL   string
	Revisions []revisionItem // newest first
}

// revisionsList: GET /p/{id}/revisions — the post's history, for its author and staff.
func (s *server) revisionsList(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	p, revs, err := s.forum.Revisions(ctx, currentUser(c), id)
	if err != nil {
		return err
	}
	t, err := models.TopicByID(ctx, s.DB, p.TopicID)
	if err != nil {
		return err
	}
	if t.RemovedAt != nil && !currentUser(c).IsStaff() {
		return models.ErrNotFound
	}
	ids := make([]int64, 0, len(revs))
	for _, r := range revs {
		ids = append(ids, r.UserID)
	}
	users, err := models.UsersByIDs(ctx, s.DB, ids)
	if err != nil {
		return err
	}
	d := &revisionsPage{Post: p, Topic: t, PostURL: postURL(t, p.PostNumber)}
	for i := len(revs) - 1; i >= 0; i-- {
		d.Revisions = append(d.Revisions, revisionItem{Revision: revs[i], Editor: users[revs[i].UserID]})
	}
	return s.render(c, "revisions", "Revisions", d)
}
