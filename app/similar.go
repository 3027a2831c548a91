package app

import (
	"context"

	"agora/models"
)

// similarTopics suggests existing topics for a draft title from the search
// index, best match first; none while the index is being built.
func (s *server) similarTopics(ctx context.Context, title string) ([]*models.Topic, error) {
	if s.Search == nil || !s.Search.Ready() {
		return nil, nil
	}
	ids, err := s.Search.SimilarTopics(ctx, title, 5)
	if err != nil {
		return nil, err
	}
	byID, err := models.TopicsByIDs(ctx, s.DB, ids)
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
