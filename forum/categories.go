package forum

import (
	"context"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/uptrace/bun"

	"agora/models"
	"agora/policy"
)

// CategoryInput is a category as an admin submits it; nil fields stay as they are.
type CategoryInput struct {
	Name        *string
	Slug        *string
	Description *string
	Color       *string
	Position    *int
	Archived    *bool
	// FlagThreshold is the open flag weight that hides a post here; 0 restores the default.
	FlagThreshold *int
}

var (
	slugRE  = regexp.MustCompile(`^[a-z0-9]+(?:-[a-z0-9]+)*$`)
	colorRE = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)
)

// apply validates in and copies it onto c.
func (in CategoryInput) apply(c *models.Category) error {
	v := &models.ValidationError{}
	if in.Name != nil {
		c.Name = strings.TrimSpace(*in.Name)
	}
	if n := utf8.RuneCountInString(c.Name); n < 2 || n > 60 {
		v.Add("name", "use 2 to 60 characters")
	}
	if in.Slug != nil {
		c.Slug = strings.TrimSpace(*in.Slug)
	}
	if c.Slug == "" {
		c.Slug = Slugify(c.Name)
	}
	if !slugRE.MatchString(c.Slug) || len(c.Slug) > 60 {
		v.Add("slug", "use lower-case letters, digits and single dashes")
	}
	if in.Description != nil {
		c.Description = strings.TrimSpace(*in.Description)
	}
	if utf8.RuneCountInString(c.Description) > 500 {
		v.Add("description", "keep it under 500 characters")
	}
	if in.Color != nil && *in.Color != "" {
		c.Color = strings.ToLower(*in.Color)
	}
	if c.Color == "" {
		c.Color = "#3b6ea8"
	}
	if !colorRE.MatchString(c.Color) {
		v.Add("color", "use a hex colour like #3b6ea8")
	}
	if in.Position != nil {
		c.Position = *in.Position
	}
	if in.Archived != nil {
		c.Archived = *in.Archived
	}
	switch t := in.FlagThreshold; {
	case t == nil:
	case *t == 0:
		c.FlagThreshold = nil
	case *t < 1 || *t > 1000:
		v.Add("flag_threshold", "use 1 to 1000, or 0 for the default")
	default:
		th := *t
		c.FlagThreshold = &th
	}
	return v.Err()
}

// CreateCategory adds a category (admins only).
func (s *Service) CreateCategory(ctx context.Context, admin *models.User, in CategoryInput) (*models.Category, error) {
	if err := policy.Admin(admin); err != nil {
		return nil, err
	}
	now := s.now()
	c := &models.Category{CreatedAt: now, UpdatedAt: now}
	if err := in.apply(c); err != nil {
		return nil, err
	}
	if in.Position == nil {
		var max int
		if err := s.db.NewSelect().Model((*models.Category)(nil)).ColumnExpr("COALESCE(MAX(position), 0)").Scan(ctx, &max); err != nil {
			return nil, err
		}
		c.Position = max + 1
	}
	if err := models.CreateCategory(ctx, s.db, c); err != nil {
		return nil, err
	}
	return c, nil
}

// UpdateCategory changes a category (admins only).
func (s *Service) UpdateCategory(ctx context.Context, admin *models.User, id int64, in CategoryInput) (*models.Category, error) {
	if err := policy.Admin(admin); err != nil {
		return nil, err
	}
	c, err := models.CategoryByID(ctx, s.db, id)
	if err != nil {
		return nil, err
	}
	before := *c
	if err := in.apply(c); err != nil {
		return nil, err
	}
	c.UpdatedAt = s.now()
	err = s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := models.UpdateCategory(ctx, tx, c); err != nil {
			return err
		}
		// Search filters by slug and hides archived categories: reindex its posts.
		if before.Archived != c.Archived || before.Slug != c.Slug {
			return models.Reindex(ctx, tx, models.OutboxCategory, c.ID, c.UpdatedAt)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}
