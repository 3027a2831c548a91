package forum

import (
	"context"

	"agora/models"
)

// PostView is a post as one viewer sees it.
type PostView struct {
	*models.Post
	Author     *models.User
	Liked      bool // the viewer likes it
	IsSolution bool
	CanEdit    bool
	// Notice replaces the content when the viewer may not see it (removed or
	// hidden pending review); Body and HTML are then empty.
	Notice string
	// Hidden: visible to this viewer (author or staff) but hidden from others.
	Hidden bool
}

// TopicView is one page of a topic.
type TopicView struct {
	Topic    *models.Topic
	Category *models.Category
	Posts    []*PostView
	Solution *PostView // the best answer, shown under the question
	Page     int
	Pages    int
}

// RemovedNotice is what readers see instead of a removed post.
const RemovedNotice = "This post was removed by a moderator for violating the community guidelines"

// TopicPage loads page (from 1) of a topic for viewer (nil: a guest) with a
// fixed number of queries, whatever the page holds.
func (s *Service) TopicPage(ctx context.Context, viewer *models.User, topicID int64, page int) (*TopicView, error) {
	t, err := visibleTopic(ctx, s.DB, viewer, topicID)
	if err != nil {
		return nil, err
	}
	cat, err := models.CategoryByID(ctx, s.DB, t.CategoryID)
	if err != nil {
		return nil, err
	}
	last, err := models.LastPostNumber(ctx, s.DB, topicID)
	if err != nil {
		return nil, err
	}
	pages := max(1, (last+PerPage-1)/PerPage)
	if page < 1 || page > pages {
		return nil, models.ErrNotFound
	}
	from := (page-1)*PerPage + 1
	posts, err := models.TopicPosts(ctx, s.DB, topicID, from, from+PerPage-1)
	if err != nil {
		return nil, err
	}
	if t.SolvedPostID != nil && (page != 1 || !containsPost(posts, *t.SolvedPostID)) {
		sol, err := models.PostByID(ctx, s.DB, *t.SolvedPostID)
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
	authors, err := models.AuthorsByIDs(ctx, s.DB, authorIDs)
	if err != nil {
		return nil, err
	}
	var viewerID int64
	if viewer != nil {
		viewerID = viewer.ID
	}
	liked, err := models.LikedPostIDs(ctx, s.DB, viewerID, ids)
	if err != nil {
		return nil, err
	}
	v := &TopicView{Topic: t, Category: cat, Page: page, Pages: pages}
	for _, p := range posts {
		pv := s.postView(viewer, p, authors[p.UserID], liked[p.ID], t)
		if t.SolvedPostID != nil && p.ID == *t.SolvedPostID {
			v.Solution = pv
			if p.PostNumber < from || p.PostNumber >= from+PerPage {
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

// postView applies the visibility rules for viewer to one post.
func (s *Service) postView(viewer *models.User, p *models.Post, author *models.User, liked bool, t *models.Topic) *PostView {
	pv := &PostView{Post: p, Author: author, Liked: liked, IsSolution: t.SolvedPostID != nil && *t.SolvedPostID == p.ID}
	staff := viewer.IsStaff()
	own := viewer != nil && viewer.ID == p.UserID
	switch {
	case p.RemovedAt != nil && !staff:
		cp := *p
		cp.Body, cp.HTML = "", ""
		pv.Post = &cp
		pv.Notice = RemovedNotice
		if p.RemovedReason != "" {
			pv.Notice += " (" + p.RemovedReason + ")"
		}
		return pv
	case p.HiddenAt != nil && !staff && !own:
		cp := *p
		cp.Body, cp.HTML = "", ""
		pv.Post = &cp
		pv.Notice = "This post was flagged by the community and is hidden pending review"
		return pv
	case p.HiddenAt != nil || p.RemovedAt != nil:
		pv.Hidden = true
	}
	pv.CanEdit = s.canEdit(viewer, p) == nil
	return pv
}
