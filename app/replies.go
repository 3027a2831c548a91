package app

import (
	"errors"
	"html/template"
	"net/http"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"agora/forum"
	"agora/markup"
	"agora/models"
)

// Writing in a topic: replies (with quotes), edits and their revisions,
// likes and best answers, each as a form on the topic page and as a JSON
// route, both calling the same forum operation.

// --- replies ---------------------------------------------------------------

type replyRequest struct {
	Body          string `json:"body"`
	ReplyToPostID *int64 `json:"reply_to_post_id"`
}

// apiReply: POST /api/v1/topics/{id}/posts → 201 {post}.
func (s *server) apiReply(c *fiber.Ctx) error {
	id, req, err := idAndJSON[replyRequest](c)
	if err != nil {
		return err
	}
	u := currentUser(c)
	p, err := s.reply(c, id, req.Body, req.ReplyToPostID)
	if err != nil {
		return err
	}
	return c.Status(http.StatusCreated).JSON(fiber.Map{"post": postOut(&forum.PostForViewer{Post: p, Author: u})})
}

// prefillReply handles ?quote={post id} (the post's Markdown as a quote) and
// ?reply_to={post id}: both answer that post. Posts the reply may not
// answer (forum.QuoteTarget) are ignored.
func (s *server) prefillReply(c *fiber.Ctx, d *topicPageData) error {
	quote := c.QueryInt("quote")
	target := int64(quote)
	if target <= 0 {
		target = int64(c.QueryInt("reply_to"))
	}
	if target <= 0 {
		return nil
	}
	a, err := s.Forum.QuoteTarget(c.UserContext(), currentUser(c), d.Topic, target)
	if err != nil || a == nil {
		return err
	}
	d.Reply.ReplyingTo = &postRef{Number: a.Post.PostNumber, URL: postURL(d.Topic, a.Post.PostNumber), Username: a.Username}
	d.Reply.Values["reply_to_post_id"] = strconv.FormatInt(a.Post.ID, 10)
	if quote > 0 {
		d.Reply.Values["body"] = quoteMarkdown(a.Username, a.Post.Body)
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

// replySubmit: POST /t/{id}/reply — add a reply (or, with "preview", show
// it rendered). Success redirects to the page holding the new post; an
// error shows the topic page again with the reply as typed.
func (s *server) replySubmit(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	ctx, u := c.UserContext(), currentUser(c)
	body := c.FormValue("body")
	rawReplyTo := c.FormValue("reply_to_post_id")
	pageNo, _ := strconv.Atoi(c.FormValue("page"))
	replyTo, postErr := optionalID(rawReplyTo, "reply_to_post_id", "that post is not in this topic")
	preview := c.FormValue("preview") != ""
	if !preview && postErr == nil {
		p, err := s.reply(c, id, body, replyTo)
		if err == nil {
			t, err := s.Forum.Topic(ctx, u, id)
			if err != nil {
				return err
			}
			return c.Redirect(postURL(t, p.PostNumber), http.StatusSeeOther)
		}
		postErr = err
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
		a, err := s.Forum.QuoteTarget(ctx, u, d.Topic, *replyTo)
		if err != nil {
			return err
		}
		if a != nil {
			d.Reply.ReplyingTo = &postRef{Number: a.Post.PostNumber, URL: postURL(d.Topic, a.Post.PostNumber), Username: a.Username}
		}
	}
	if preview {
		if d.Reply.Preview, err = previewHTML(body); err != nil {
			return err
		}
		d.Reply.HasPreview = true
		return s.renderTopic(c, d)
	}
	if !formFailed(c, &d.Reply.form, postErr) {
		return postErr
	}
	if msg, ok := d.Reply.Errors["reply_to_post_id"]; ok {
		d.Reply.Error = msg
	}
	return s.renderTopic(c, d)
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

// --- best answers ------------------------------------------------------------

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
	t, _, err := s.Forum.SetSolution(c.UserContext(), currentUser(c), id, postID)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"topic": topicJSON{Topic: t, URL: topicURL(t)}})
}

// solutionSubmit: POST /t/{id}/solution — mark post_id as the best answer,
// or clear it when post_id is empty or 0; back to the answer.
func (s *server) solutionSubmit(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	const notHere = "that post is not a reply in this topic"
	postID, err := optionalID(c.FormValue("post_id"), "post_id", notHere)
	if err != nil {
		return fiber.NewError(http.StatusUnprocessableEntity, notHere)
	}
	var pid int64
	if postID != nil {
		pid = *postID
	}
	t, answer, err := s.Forum.SetSolution(c.UserContext(), currentUser(c), id, pid)
	var ve *models.ValidationError
	if errors.As(err, &ve) {
		return fiber.NewError(http.StatusUnprocessableEntity, ve.Fields["post_id"])
	}
	if err != nil {
		return err
	}
	if answer != nil {
		return c.Redirect(postURL(t, answer.PostNumber), http.StatusSeeOther)
	}
	return c.Redirect(topicURL(t), http.StatusSeeOther)
}

// --- likes -------------------------------------------------------------------

// apiLike: POST and DELETE /api/v1/posts/{id}/like → {like_count, liked}.
func (s *server) apiLike(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	var n int
	if c.Method() == fiber.MethodDelete {
		n, err = s.Forum.Unlike(c.UserContext(), currentUser(c), id)
	} else {
		n, err = s.Forum.Like(c.UserContext(), currentUser(c), id)
	}
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"like_count": n, "liked": c.Method() != fiber.MethodDelete})
}

// likeSubmit: POST /p/{id}/like — like the post, or take the like back when
// the viewer already likes it; back to the post afterwards.
func (s *server) likeSubmit(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	r, err := s.Forum.ToggleLike(c.UserContext(), currentUser(c), id)
	if err != nil {
		return err
	}
	return c.Redirect(postURL(r.Topic, r.Post.PostNumber), http.StatusSeeOther)
}

// --- edits and revisions -----------------------------------------------------

type editRequest struct {
	Body   string `json:"body"`
	Reason string `json:"reason"`
}

// apiEditPost: PATCH /api/v1/posts/{id} → {post}.
func (s *server) apiEditPost(c *fiber.Ctx) error {
	id, req, err := idAndJSON[editRequest](c)
	if err != nil {
		return err
	}
	pv, err := s.Forum.EditPost(c.UserContext(), currentUser(c), id, req.Body, req.Reason)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"post": postOut(pv)})
}

// editPostPage is what edit_post.html shows.
type editPostPage struct {
	form
	Post       *models.Post
	Topic      *models.Topic
	PostURL    string
	Preview    template.HTML
	HasPreview bool
}

// editablePost loads the post of the route's {id} if the viewer may edit it.
func (s *server) editablePost(c *fiber.Ctx) (*models.Post, *models.Topic, error) {
	id, err := idParam(c, "id")
	if err != nil {
		return nil, nil, err
	}
	return s.Forum.EditablePost(c.UserContext(), currentUser(c), id)
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
		if d.Preview, err = previewHTML(body); err != nil {
			return err
		}
		d.HasPreview = true
		return s.render(c, "edit_post", "Edit post", d)
	}
	if _, err := s.Forum.EditPost(c.UserContext(), currentUser(c), p.ID, body, reason); err != nil {
		if !formFailed(c, &d.form, err) {
			return err
		}
		return s.render(c, "edit_post", "Edit post", d)
	}
	return c.Redirect(d.PostURL, http.StatusSeeOther)
}

// apiRevisions: GET /api/v1/posts/{id}/revisions.
func (s *server) apiRevisions(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	_, _, revs, err := s.Forum.Revisions(c.UserContext(), currentUser(c), id)
	if err != nil {
		return err
	}
	items := make([]*models.Revision, len(revs))
	for i, r := range revs {
		items[i] = r.Revision
	}
	return c.JSON(fiber.Map{"items": items, "page": 1, "per_page": len(items), "total": len(items)})
}

// revisionsPage is what revisions.html shows.
type revisionsPage struct {
	Post      *models.Post
	Topic     *models.Topic
	PostURL   string
	Revisions []forum.Revision // newest first
}

// revisionsList: GET /p/{id}/revisions — the post's history, for its author and staff.
func (s *server) revisionsList(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	p, t, revs, err := s.Forum.Revisions(c.UserContext(), currentUser(c), id)
	if err != nil {
		return err
	}
	d := &revisionsPage{Post: p, Topic: t, PostURL: postURL(t, p.PostNumber)}
	for i := len(revs) - 1; i >= 0; i-- {
		d.Revisions = append(d.Revisions, revs[i])
	}
	return s.render(c, "revisions", "Revisions", d)
}
