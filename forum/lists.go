package forum

import (
	"context"

	"agora/models"
	"agora/policy"
)

// ListRow is one line of a topic list with what it shows resolved.
type ListRow struct {
	*models.Topic
	Category   *models.Category
	Author     *models.User // nil: a former member
	LastPoster *models.User
}

// TopicList is one page of a topic list.
type TopicList struct {
	Rows  []ListRow
	Total int
	Page  int
	Pages int
	// Category is the list's category (nil: every category); Categories are
	// the categories open to all, in display order.
	Category   *models.Category
	Categories []*models.Category
}

// Topics loads a page of a topic list with its categories and authors:
// three queries, whatever the page holds.
func (s *Service) Topics(ctx context.Context, o models.TopicListOptions) (*TopicList, error) {
	cats, err := models.ListCategories(ctx, s.db, true)
	if err != nil {
		return nil, err
	}
	topics, total, err := models.ListTopics(ctx, s.db, o)
	if err != nil {
		return nil, err
	}
	byID := make(map[int64]*models.Category, len(cats))
	l := &TopicList{Total: total, Page: o.Page, Pages: max(1, (total+o.PerPage-1)/o.PerPage)}
	for _, cat := range cats {
		byID[cat.ID] = cat
		if !cat.Archived {
			l.Categories = append(l.Categories, cat)
		}
	}
	l.Category = byID[o.CategoryID]
	ids := make([]int64, 0, 2*len(topics))
	for _, t := range topics {
		ids = append(ids, t.UserID)
		if t.LastPostUserID != nil {
			ids = append(ids, *t.LastPostUserID)
		}
	}
	users, err := models.AuthorsByIDs(ctx, s.db, ids)
	if err != nil {
		return nil, err
	}
	l.Rows = make([]ListRow, len(topics))
	for i, t := range topics {
		l.Rows[i] = ListRow{Topic: t, Category: byID[t.CategoryID], Author: users[t.UserID]}
		if t.LastPostUserID != nil {
			l.Rows[i].LastPoster = users[*t.LastPostUserID]
		}
	}
	return l, nil
}

// Categories returns the categories in display order, archived ones too
// for viewers shown them (policy.SeeArchived).
func (s *Service) Categories(ctx context.Context, viewer *models.User) ([]*models.Category, error) {
	return models.ListCategories(ctx, s.db, policy.SeeArchived(viewer))
}

// AllCategories returns every category, archived ones too, in display
// order: for the filters of the staff's pages.
func (s *Service) AllCategories(ctx context.Context) ([]*models.Category, error) {
	return models.ListCategories(ctx, s.db, true)
}

// OpenCategories returns the categories that take new topics, in display order.
func (s *Service) OpenCategories(ctx context.Context) ([]*models.Category, error) {
	return models.ListCategories(ctx, s.db, false)
}

// CategoryBySlug returns the category or ErrNotFound.
func (s *Service) CategoryBySlug(ctx context.Context, slug string) (*models.Category, error) {
	return models.CategoryBySlug(ctx, s.db, slug)
}

// TopicsByIDs returns the topics with those ids that viewer may see, in that order.
func (s *Service) TopicsByIDs(ctx context.Context, viewer *models.User, ids []int64) ([]*models.Topic, error) {
	byID, err := models.TopicsByIDs(ctx, s.db, ids)
	if err != nil {
		return nil, err
	}
	out := make([]*models.Topic, 0, len(ids))
	for _, id := range ids {
		if t := byID[id]; t != nil && policy.SeeTopic(viewer, t) == nil {
			out = append(out, t)
		}
	}
	return out, nil
}
