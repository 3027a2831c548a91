package search

import (
	"context"
	"errors"
	"time"

	"github.com/uptrace/bun"

	"agora/models"
	"agora/policy"
)

// ErrUnavailable: the index is being (re)built.
var ErrUnavailable = errors.New("search is being rebuilt; try again in a minute")

// Service answers searches: it parses the query, runs it on the index and
// reads the hits' posts, topics, authors and categories from the database
// (one query each), which is where snippets are cut from too.
type Service struct {
	Index *Index // nil: no index (search answers ErrUnavailable)
	db    bun.IDB
}

// NewService searches ix with the rows of db.
func NewService(db bun.IDB, ix *Index) *Service { return &Service{Index: ix, db: db} }

// Ready reports whether searches can be answered.
func (s *Service) Ready() bool { return s != nil && s.Index != nil && s.Index.Ready() }

// Item is one result with what it shows.
type Item struct {
	Hit
	Post     *models.Post
	Topic    *models.Topic
	Author   *models.User // nil: a former member
	Category *models.Category
	// State is set for staff: StateVisible, StateHidden or StateRemoved.
	State string
}

// Page is a page of results.
type Page struct {
	Items []*Item
	Total int
	Took  time.Duration
}

// Request is one search: the query as typed, who asks, and the page.
type Request struct {
	Query          string
	Viewer         *models.User
	IncludeRemoved bool // asked for removed and hidden posts (staff only: policy.SeeRemoved)
	Page, PerPage  int
}

// Find runs r. Errors: *QueryError (the query cannot be answered), ErrUnavailable.
func (s *Service) Find(ctx context.Context, r Request) (*Page, error) {
	q, err := Parse(r.Query)
	if err != nil {
		return nil, err
	}
	if !s.Ready() {
		return nil, ErrUnavailable
	}
	staff := policy.SeeRemoved(r.Viewer)
	// The hits' posts and topics are read once: for the snippets, then for the items.
	var posts map[int64]*models.Post
	var topics map[int64]*models.Topic
	texts := func(ctx context.Context, ids []int64) (map[int64]Text, error) {
		var err error
		if posts, topics, err = models.PostsWithTopics(ctx, s.db, ids); err != nil {
			return nil, err
		}
		return TextsOf(posts, topics), nil
	}
	res, err := s.Index.Search(ctx, q, Options{Staff: staff, IncludeRemoved: staff && r.IncludeRemoved,
		Page: r.Page, PerPage: r.PerPage, Texts: texts})
	if err != nil {
		return nil, err
	}
	out := &Page{Items: []*Item{}, Total: res.Total, Took: res.Took}
	if len(res.Hits) == 0 {
		return out, nil
	}
	userIDs := make([]int64, 0, len(posts))
	for _, p := range posts {
		userIDs = append(userIDs, p.UserID)
	}
	users, err := models.AuthorsByIDs(ctx, s.db, userIDs)
	if err != nil {
		return nil, err
	}
	cats, err := models.ListCategories(ctx, s.db, true)
	if err != nil {
		return nil, err
	}
	catByID := make(map[int64]*models.Category, len(cats))
	for _, c := range cats {
		catByID[c.ID] = c
	}
	for _, h := range res.Hits {
		p := posts[h.PostID]
		if p == nil || topics[p.TopicID] == nil {
			continue // deleted since it was indexed; the outbox will drop it
		}
		t := topics[p.TopicID]
		it := &Item{Hit: h, Post: p, Topic: t, Author: users[p.UserID], Category: catByID[t.CategoryID]}
		if staff {
			it.State = StateVisible
			switch {
			case p.RemovedAt != nil || t.RemovedAt != nil:
				it.State = StateRemoved
			case p.HiddenAt != nil:
				it.State = StateHidden
			}
		}
		out.Items = append(out.Items, it)
	}
	return out, nil
}

// SimilarTopics suggests up to n existing topics for a draft title, best
// match first; none while the index is being built.
func (s *Service) SimilarTopics(ctx context.Context, title string, n int) ([]*models.Topic, error) {
	if !s.Ready() {
		return nil, nil
	}
	ids, err := s.Index.SimilarTopics(ctx, title, n)
	if err != nil {
		return nil, err
	}
	byID, err := models.TopicsByIDs(ctx, s.db, ids)
	if err != nil {
		return nil, err
	}
	out := make([]*models.Topic, 0, len(ids))
	for _, id := range ids {
		if t := byID[id]; t != nil {
			out = append(out, t)
		}
	}
	return out, nil
}

// Version is the index's version (see Index.Version); 0, 0 without an index.
func (s *Service) Version() (full, strict int64) {
	if !s.Ready() {
		return 0, 0
	}
	return s.Index.Version()
}
