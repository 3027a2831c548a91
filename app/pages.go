package app

import (
	"github.com/gofiber/fiber/v2"

	"agora/models"
)

// topicRow is one line of a topic list, with what the row shows resolved.
type topicRow struct {
	*models.Topic
	Category *models.Category
	Author   *models.User
}

type homeData struct {
	Categories []*models.Category
	Topics     []topicRow
	Total      int
}

// home: GET / — categories and the latest topics.
func (s *server) home(c *fiber.Ctx) error {
	ctx := c.UserContext()
	cats, err := models.ListCategories(ctx, s.DB, false)
	if err != nil {
		return err
	}
	topics, total, err := models.LatestTopics(ctx, s.DB, models.TopicListOptions{Page: 1, PerPage: 20})
	if err != nil {
		return err
	}
	rows, err := s.topicRows(c, topics, cats)
	if err != nil {
		return err
	}
	return s.render(c, "home", "", homeData{Categories: cats, Topics: rows, Total: total})
}

// topicRows attaches categories and authors to topics with one user query.
func (s *server) topicRows(c *fiber.Ctx, topics []*models.Topic, cats []*models.Category) ([]topicRow, error) {
	byID := make(map[int64]*models.Category, len(cats))
	for _, cat := range cats {
		byID[cat.ID] = cat
	}
	ids := make([]int64, 0, len(topics))
	for _, t := range topics {
		ids = append(ids, t.UserID)
	}
	users, err := models.UsersByIDs(c.UserContext(), s.DB, ids)
	if err != nil {
		return nil, err
	}
	rows := make([]topicRow, len(topics))
	for i, t := range topics {
		rows[i] = topicRow{Topic: t, Category: byID[t.CategoryID], Author: users[t.UserID]}
	}
	return rows, nil
}

// profile: GET /u/{username}.
func (s *server) profile(c *fiber.Ctx) error {
	u, err := models.UserByUsername(c.UserContext(), s.DB, c.Params("username"))
	if err != nil {
		return err
	}
	if u.DeletedAt != nil {
		return models.ErrNotFound
	}
	return s.render(c, "profile", u.Name(), publicUser(u))
}

// apiUser: GET /api/v1/users/{username} → {user} public profile.
func (s *server) apiUser(c *fiber.Ctx) error {
	u, err := models.UserByUsername(c.UserContext(), s.DB, c.Params("username"))
	if err != nil {
		return err
	}
	if u.DeletedAt != nil {
		return models.ErrNotFound
	}
	return c.JSON(fiber.Map{"user": publicUser(u)})
}
