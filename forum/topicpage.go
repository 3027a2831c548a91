package forum

import (
	"context"
	"math"

	"agora/models"
	"agora/policy"
)

// PostForViewer is a post as one viewer sees it.
type PostForViewer struct {
	*models.Post
	Author     *models.User
	Liked      bool // the viewer likes it
	IsSolution bool
	CanEdit    bool         // policy.Edit
	OpenFlag   *models.Flag // the viewer's open flag on it
	// Notice replaces the content when the viewer may not see it (removed or
	// hidden pending review); Body and HTML are then empty.
	Notice string
	// Hidden: visible to this viewer (author or staff) but hidden from others.
	Hidden bool
}

// TopicPage is one page of a topic for one viewer.
type TopicPage struct {
	Topic    *models.Topic
	Category *models.Category
	Posts    []*PostForViewer
	Solution *PostForViewer // the best answer, shown under the question
	Page     int
	Pages    int
}

// RemovedNotice is what readers see instead of a removed post.
const RemovedNotice = "This post was removed by a moderator for violating the community guidelines"

// TopicPage loads page (from 1) of a topic for viewer (nil: a guest) with a
// fixed number of queries, whatever the page holds.
func (s *Service) TopicPage(ctx context.Context, viewer *models.User, topicID int64, page int) (*TopicPage, error) {
	return s.TopicPageOf(ctx, viewer, topicID, page, PerPage)
}

// TopicPageSize is the page size a request for perPage posts gets: 1 to PerPage.
func TopicPageSize(perPage int) int { return min(max(1, perPage), PerPage) }

// PostRange is the post numbers page (from 1) of perPage posts holds,
// within what a post number can be (PostgreSQL's INTEGER column refuses a
// larger number in a query: a page far past the last was a 500 there). The
// page must fit the pages' cap (app's maxPage) so the product cannot overflow.
func PostRange(page, perPage int) (from, to int) {
	from = min((max(1, page)-1)*perPage+1, math.MaxInt32)
	return from, min(from+perPage-1, math.MaxInt32)
}

// TopicPageOf is TopicPage with pages of TopicPageSize(perPage) posts, as
// the JSON API's ?per_page asks.
func (s *Service) TopicPageOf(ctx context.Context, viewer *models.User, topicID int64, page, perPage int) (*TopicPage, error) {
	perPage = TopicPageSize(perPage)
	t, err := s.Topic(ctx, viewer, topicID)
	if err != nil {
		return nil, err
	}
	cat, err := models.CategoryByID(ctx, s.db, t.CategoryID)
	if err != nil {
		return nil, err
	}
	last, err := models.LastPostNumber(ctx, s.db, topicID)
	if err != nil {
		return nil, err
	}
	pages := max(1, (last+perPage-1)/perPage)
	if page < 1 || page > pages {
		return nil, models.ErrNotFound
	}
	from, to := PostRange(page, perPage)
	posts, err := models.TopicPosts(ctx, s.db, topicID, from, to)
	if err != nil {
		return nil, err
	}
	if t.SolvedPostID != nil && (page != 1 || !containsPost(posts, *t.SolvedPostID)) {
		sol, err := models.PostByID(ctx, s.db, *t.SolvedPostID)
		if err != nil && !models.IsNotFound(err) {
			return nil, err
		}
		if err == nil {
			posts = append(posts, sol)
		}
	}
	ids := make([]int64, 0, len(posts))
	authorIDs := make([]int64, 0, len(posts))
	for _, p := range posts {
		ids = append(ids, p.ID)
		authorIDs = append(authorIDs, p.UserID)
	}
	authors, err := models.AuthorsByIDs(ctx, s.db, authorIDs)
	if err != nil {
		return nil, err
	}
	var viewerID int64
	if viewer != nil {
		viewerID = viewer.ID
	}
	liked, err := models.LikedPostIDs(ctx, s.db, viewerID, ids)
	if err != nil {
		return nil, err
	}
	flags, err := models.OpenFlagsBy(ctx, s.db, viewerID, ids)
	if err != nil {
		return nil, err
	}
	v := &TopicPage{Topic: t, Category: cat, Page: page, Pages: pages}
	for _, p := range posts {
		pv := s.forViewer(viewer, t, p, authors[p.UserID], liked[p.ID])
		pv.OpenFlag = flags[p.ID]
		if t.SolvedPostID != nil && p.ID == *t.SolvedPostID {
			v.Solution = pv
			if p.PostNumber < from || p.PostNumber > to {
				continue // loaded only to show under the question
			}
		}
		v.Posts = append(v.Posts, pv)
	}
	if page != 1 {
		v.Solution = nil
	}
	return v, nil
}

func containsPost(posts []*models.Post, id int64) bool {
	for _, p := range posts {
		if p.ID == id {
			return true
		}
	}
	return false
}

// PendingNotice is what readers see instead of a post hidden pending review.
const PendingNotice = "This post was flagged by the community and is hidden pending review"

// forViewer applies the visibility rules (policy.PostContent) for viewer to one post.
func (s *Service) forViewer(viewer *models.User, t *models.Topic, p *models.Post, author *models.User, liked bool) *PostForViewer {
	pv := &PostForViewer{Post: p, Author: author, Liked: liked, IsSolution: t.SolvedPostID != nil && *t.SolvedPostID == p.ID}
	switch policy.PostContent(viewer, p) {
	case policy.Removed:
		pv.Notice = RemovedNotice
		if p.RemovedReason != "" {
			pv.Notice += " (" + p.RemovedReason + ")"
		}
	case policy.Pending:
		pv.Notice = PendingNotice
	case policy.ShownToYou:
		pv.Hidden = true
	}
	if pv.Notice != "" {
		cp := *p
		cp.Body, cp.HTML = "", ""
		pv.Post = &cp
		return pv
	}
	pv.CanEdit = policy.Edit(viewer, t, p, s.now()) == nil
	return pv
}

// Answering is a post a reply may answer or quote, with its author's
// username ("" for a former member).
type Answering struct {
	Post     *models.Post
	Username string
}

// QuoteTarget returns the post of topic t that viewer's reply may answer
// and quote (policy.Quote), or nil when it may not (the page then ignores it).
func (s *Service) QuoteTarget(ctx context.Context, viewer *models.User, t *models.Topic, postID int64) (*Answering, error) {
	p, err := models.PostByID(ctx, s.db, postID)
	if models.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if !policy.Quote(viewer, t, p, s.now()) {
		return nil, nil
	}
	a := &Answering{Post: p}
	u, err := models.UserByID(ctx, s.db, p.UserID)
	if err != nil && !models.IsNotFound(err) {
		return nil, err
	}
	if err == nil {
		a.Username = u.Username
	}
	return a, nil
}
