package app

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"agora/forum"
	"agora/models"
	"agora/moderation"
)

// adminCategoryRow is one category of the admin table with its edit form:
// the stored values, or what was typed when saving failed.
type adminCategoryRow struct {
	*models.Category
	form
}

// adminPage is what admin.html shows.
type adminPage struct {
	Rows             []adminCategoryRow
	Create           form
	DefaultThreshold int
	DryRun           *dryRun
}

// dryRun answers "with this threshold, which posts of the last 30 days
// would have been hidden".
type dryRun struct {
	Threshold int
	Total     int
	Posts     []dryRunPost // the first 50
}

type dryRunPost struct {
	URL, Title, Excerpt string
}

// categoryValues is a category as its form shows it.
func categoryValues(cat *models.Category) map[string]string {
	v := map[string]string{"name": cat.Name, "slug": cat.Slug, "description": cat.Description,
		"color": cat.Color, "position": strconv.Itoa(cat.Position)}
	if cat.FlagThreshold != nil {
		v["flag_threshold"] = strconv.Itoa(*cat.FlagThreshold)
	}
	if cat.Archived {
		v["archived"] = "on"
	}
	return v
}

// categoryForm reads a category form: the values as typed and the input for
// the forum service. An empty position is left as it is (or, for a new
// category, placed last); archived is a checkbox.
func categoryForm(c *fiber.Ctx) (map[string]string, forum.CategoryInput, error) {
	vals := map[string]string{}
	for _, k := range []string{"name", "slug", "description", "color", "position", "flag_threshold"} {
		vals[k] = c.FormValue(k)
	}
	archived := c.FormValue("archived") != ""
	if archived {
		vals["archived"] = "on"
	}
	name, slug, desc, color := vals["name"], vals["slug"], vals["description"], vals["color"]
	in := forum.CategoryInput{Name: &name, Slug: &slug, Description: &desc, Color: &color, Archived: &archived}
	if p := strings.TrimSpace(vals["position"]); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil {
			return vals, in, &models.ValidationError{Fields: map[string]string{"position": "use a whole number"}}
		}
		in.Position = &n
	}
	th := 0 // empty: the default threshold
	if t := strings.TrimSpace(vals["flag_threshold"]); t != "" {
		n, err := strconv.Atoi(t)
		if err != nil {
			return vals, in, &models.ValidationError{Fields: map[string]string{"flag_threshold": "use a whole number"}}
		}
		th = n
	}
	in.FlagThreshold = &th
	return vals, in, nil
}

// adminData loads every category (archived ones too) into the table.
func (s *server) adminData(c *fiber.Ctx) (*adminPage, error) {
	cats, err := models.ListCategories(c.UserContext(), s.DB, true)
	if err != nil {
		return nil, err
	}
	d := &adminPage{Create: form{Values: map[string]string{"color": "#3b6ea8"}}, DefaultThreshold: moderation.DefaultThreshold}
	for _, cat := range cats {
		d.Rows = append(d.Rows, adminCategoryRow{Category: cat, form: form{Values: categoryValues(cat)}})
	}
	return d, nil
}

// adminHome: GET /admin[?dry_run=N] — the categories, each editable in
// place, a form for a new one, and the flag threshold dry run.
func (s *server) adminHome(c *fiber.Ctx) error {
	d, err := s.adminData(c)
	if err != nil {
		return err
	}
	if th := c.QueryInt("dry_run"); th > 0 {
		if d.DryRun, err = s.dryRun(c, th); err != nil {
			return err
		}
	}
	return s.render(c, "admin", "Admin", d)
}

// dryRun lists what threshold would have hidden, with two queries for the first 50 posts.
func (s *server) dryRun(c *fiber.Ctx, threshold int) (*dryRun, error) {
	ids, err := s.moderation.DryRun(c.UserContext(), currentUser(c), threshold)
	if err != nil {
		return nil, err
	}
	r := &dryRun{Threshold: threshold, Total: len(ids)}
	ids = ids[:min(len(ids), 50)]
	posts, err := models.PostsByIDs(c.UserContext(), s.DB, ids)
	if err != nil {
		return nil, err
	}
	topicIDs := make([]int64, 0, len(posts))
	for _, p := range posts {
		topicIDs = append(topicIDs, p.TopicID)
	}
	topics, err := models.TopicsByIDs(c.UserContext(), s.DB, topicIDs)
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		p := posts[id]
		if p == nil || topics[p.TopicID] == nil {
			continue
		}
		excerpt := []rune(p.Body)
		r.Posts = append(r.Posts, dryRunPost{URL: postURL(topics[p.TopicID], p.PostNumber), Title: topics[p.TopicID].Title,
			Excerpt: string(excerpt[:min(len(excerpt), 140)])})
	}
	return r, nil
}

// adminCreateCategory: POST /admin/categories.
func (s *server) adminCreateCategory(c *fiber.Ctx) error {
	vals, in, err := categoryForm(c)
	if err == nil {
		_, err = s.forum.CreateCategory(c.UserContext(), currentUser(c), in)
		if err == nil {
			return c.Redirect("/admin", http.StatusSeeOther)
		}
	}
	d, derr := s.adminData(c)
	if derr != nil {
		return derr
	}
	d.Create = form{Values: vals}
	if !inputErrors(c, &d.Create, err) {
		return err
	}
	return s.render(c, "admin", "Admin", d)
}

// adminUpdateCategory: POST /admin/categories/{id}.
func (s *server) adminUpdateCategory(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	vals, in, err := categoryForm(c)
	if err == nil {
		_, err = s.forum.UpdateCategory(c.UserContext(), currentUser(c), id, in)
		if err == nil {
			return c.Redirect("/admin#category-"+strconv.FormatInt(id, 10), http.StatusSeeOther)
		}
	}
	d, derr := s.adminData(c)
	if derr != nil {
		return derr
	}
	found := false
	for i := range d.Rows {
		if d.Rows[i].ID == id {
			d.Rows[i].form = form{Values: vals}
			if !inputErrors(c, &d.Rows[i].form, err) {
				return err
			}
			found = true
		}
	}
	if !found {
		return models.ErrNotFound
	}
	return s.render(c, "admin", "Admin", d)
}
