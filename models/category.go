package models

import (
	"context"
	"time"

	"github.com/uptrace/bun"
)

// Category groups topics; archived categories are read-only and hidden from lists.
type Category struct {
	bun.BaseModel `bun:"table:categories"`

	ID            int64     `bun:"id,pk,autoincrement" json:"id"`
	Name          string    `bun:"name" json:"name"`
	Slug          string    `bun:"slug" json:"slug"`
	Description   string    `bun:"description" json:"description"`
	Color         string    `bun:"color" json:"color"`
	Position      int       `bun:"position" json:"position"`
	Archived      bool      `bun:"archived" json:"archived"`
	FlagThreshold *int      `bun:"flag_threshold" json:"flag_threshold"` // nil: the default
	TopicCount    int       `bun:"topic_count" json:"topic_count"`
	PostCount     int       `bun:"post_count" json:"post_count"`
	CreatedAt     time.Time `bun:"created_at" json:"created_at"`
	UpdatedAt     time.Time `bun:"updated_at" json:"updated_at"`
}

// ListCategories returns categories in display order; archived ones only when asked.
func ListCategories(ctx context.Context, db bun.IDB, withArchived bool) ([]*Category, error) {
	var cats []*Category
	q := db.NewSelect().Model(&cats).Order("position", "id")
	if !withArchived {
		q.Where("archived = ?", false)
	}
	if err := q.Scan(ctx); err != nil {
		return nil, notFound(err, "list categories")
	}
	return cats, nil
}

// CreateCategory inserts c; a taken slug is a *ConflictError.
func CreateCategory(ctx context.Context, db bun.IDB, c *Category) error {
	_, err := db.NewInsert().Model(c).Returning("id").Exec(ctx)
	if IsUniqueViolation(err) {
		return &ConflictError{Field: "slug", Message: "a category with that slug exists"}
	}
	return notFound(err, "create category")
}

// CategoryByID returns the category or ErrNotFound.
func CategoryByID(ctx context.Context, db bun.IDB, id int64) (*Category, error) {
	c := new(Category)
	err := db.NewSelect().Model(c).Where("id = ?", id).Scan(ctx)
	return c, notFound(err, "load category")
}

// CategoryBySlug returns the category or ErrNotFound.
func CategoryBySlug(ctx context.Context, db bun.IDB, slug string) (*Category, error) {
	c := new(Category)
	err := db.NewSelect().Model(c).Where("slug = ?", slug).Scan(ctx)
	return c, notFound(err, "load category")
}

// UpdateCategory writes every editable column of c; a taken slug is a *ConflictError.
func UpdateCategory(ctx context.Context, db bun.IDB, c *Category) error {
	res, err := db.NewUpdate().Model(c).Column("name", "slug", "description", "color", "position", "archived", "flag_threshold", "updated_at").
		WherePK().Exec(ctx)
	if IsUniqueViolation(err) {
		return &ConflictError{Field: "slug", Message: "a category with that slug exists"}
	}
	if err != nil {
		return notFound(err, "update category")
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound(ErrNotFound, "update category")
	}
	return nil
}
