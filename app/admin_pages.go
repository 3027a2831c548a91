package app

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"agora/forum"
	"agora/models"
)

// adminCategoryRow is one category of the admin table with its edit form:
// the stored values, or what was typed when saving failed.
type adminCategoryRow struct {
	*models.Category
	form
}

// adminPage is what admin.html shows.
type adminPage struct {
	Rows   []adminCategoryRow
	Create form
}

// categoryValues is a category as its form shows it.
func categoryValues(cat *models.Category) map[string]string {
	v := map[string]string{"name": cat.Name, "slug": cat.Slug, "description": cat.Description,
		"color": cat.Color, "position": strconv.Itoa(cat.Position)}
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
	for _, k := range []string{"name", "slug", "description", "color", "position"} {
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
	return vals, in, nil
}

// adminData loads every category (archived ones too) into the table.
func (s *server) adminData(c *fiber.Ctx) (*adminPage, error) {
	cats, err := models.ListCategories(c.UserContext(), s.DB, true)
	if err != nil {
		return nil, err
	}
	d := &adminPage{Create: form{Values: map[string]string{"color": "#3b6ea8"}}}
	for _, cat := range cats {
		d.Rows = append(d.Rows, adminCategoryRow{Category: cat, form: form{Values: categoryValues(cat)}})
	}
	return d, nil
}

// adminHome: GET /admin — the categories, each editable in place, and a form for a new one.
func (s *server) adminHome(c *fiber.Ctx) error {
	d, err := s.adminData(c)
	if err != nil {
		return err
	}
	return s.render(c, "admin", "Admin", d)
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
