package moderation

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"agora/models"
	"agora/policy"
)

// AddNote stores a staff-only note about a member.
func (s *Service) AddNote(ctx context.Context, mod *models.User, userID int64, body string) (*models.UserNote, error) {
	if err := policy.Staff(mod); err != nil {
		return nil, err
	}
	body = strings.TrimSpace(body)
	if n := utf8.RuneCountInString(body); n == 0 || n > 2000 {
		return nil, &models.ValidationError{Fields: map[string]string{"body": "write 1 to 2000 characters"}}
	}
	if _, err := models.UserByID(ctx, s.db, userID); err != nil {
		return nil, err
	}
	n := &models.UserNote{UserID: userID, AuthorID: mod.ID, Body: body, CreatedAt: s.now()}
	if _, err := s.db.NewInsert().Model(n).Returning("id").Exec(ctx); err != nil {
		return nil, fmt.Errorf("add note: %w", err)
	}
	return n, nil
}

// Dossier is what staff see about a member beyond the public profile.
type Dossier struct {
	Notes         []*models.UserNote `json:"notes"`
	RecentPosts   []*models.Post     `json:"recent_posts"` // removed and hidden ones too
	FlagsGiven    int                `json:"flags_given"`
	FlagsReceived int                `json:"flags_received"`
	History       AuthorHistory      `json:"history"`
	// Customer is what the customer's product says of the member (SSO), or nil.
	Customer *models.Customer `json:"customer,omitempty"`
	// NoteAuthors and Topics are the notes' authors and the recent posts'
	// topics, by id.
	NoteAuthors map[int64]*models.User  `json:"-"`
	Topics      map[int64]*models.Topic `json:"-"`
}

// MemberDossier loads a member's notes, recent posts and flag counts for staff.
func (s *Service) MemberDossier(ctx context.Context, mod *models.User, userID int64) (*Dossier, error) {
	if err := policy.Staff(mod); err != nil {
		return nil, err
	}
	d := &Dossier{}
	if err := s.db.NewSelect().Model(&d.Notes).Where("user_id = ?", userID).OrderExpr("id DESC").Limit(50).Scan(ctx); err != nil {
		return nil, fmt.Errorf("load notes: %w", err)
	}
	if err := s.db.NewSelect().Model(&d.RecentPosts).Where("user_id = ?", userID).OrderExpr("created_at DESC").Limit(10).Scan(ctx); err != nil {
		return nil, fmt.Errorf("load recent posts: %w", err)
	}
	given, err := s.db.NewSelect().Model((*models.Flag)(nil)).Where("user_id = ?", userID).Count(ctx)
	if err != nil {
		return nil, fmt.Errorf("count flags given: %w", err)
	}
	hist, err := s.histories(ctx, []int64{userID})
	if err != nil {
		return nil, err
	}
	d.FlagsGiven, d.History = int(given), hist[userID]
	d.FlagsReceived = d.History.FlagsAgainst
	cs, err := models.CustomersOf(ctx, s.db, []int64{userID})
	if err != nil {
		return nil, err
	}
	d.Customer = cs[userID]
	authorIDs := make([]int64, len(d.Notes))
	for i, n := range d.Notes {
		authorIDs[i] = n.AuthorID
	}
	if d.NoteAuthors, err = models.UsersByIDs(ctx, s.db, authorIDs); err != nil {
		return nil, err
	}
	topicIDs := make([]int64, len(d.RecentPosts))
	for i, p := range d.RecentPosts {
		topicIDs[i] = p.TopicID
	}
	if d.Topics, err = models.TopicsByIDs(ctx, s.db, topicIDs); err != nil {
		return nil, err
	}
	return d, nil
}
