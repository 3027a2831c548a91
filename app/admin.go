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

// Administration: /admin (categories, the flag threshold dry run),
// /admin/guidelines, and their JSON routes (categories, dry run, roles).

// --- categories --------------------------------------------------------------

type categoryRequest struct {
	Name        *string `json:"name"`
	Slug        *string `json:"slug"`
	Description *string `json:"description"`
	Color       *string `json:"color"`
	Position    *int    `json:"position"`
	Archived    *bool   `json:"archived"`
	// FlagThreshold: the open flag weight that hides a post; 0 restores the default.
	FlagThreshold *int `json:"flag_threshold"`
}

// apiCreateCategory: POST /api/v1/admin/categories → 201 {category}.
func (s *server) apiCreateCategory(c *fiber.Ctx) error {
	var req categoryRequest
	if err := parseJSON(c, &req); err != nil {
		return err
	}
	if req.Name == nil {
		req.Name = new(string)
	}
	cat, err := s.Forum.CreateCategory(c.UserContext(), currentUser(c), forum.CategoryInput(req))
	if err != nil {
		return err
	}
	return c.Status(http.StatusCreated).JSON(fiber.Map{"category": cat})
}

// apiUpdateCategory: PATCH /api/v1/admin/categories/{id} → {category}.
func (s *server) apiUpdateCategory(c *fiber.Ctx) error {
	id, req, err := idAndJSON[categoryRequest](c)
	if err != nil {
		return err
	}
	cat, err := s.Forum.UpdateCategory(c.UserContext(), currentUser(c), id, forum.CategoryInput(req))
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"category": cat})
}

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
	whole := func(field string) (*int, error) {
		n, err := strconv.Atoi(strings.TrimSpace(vals[field]))
		if err != nil {
			return nil, &models.ValidationError{Fields: map[string]string{field: "use a whole number"}}
		}
		return &n, nil
	}
	var err error
	if strings.TrimSpace(vals["position"]) != "" {
		if in.Position, err = whole("position"); err != nil {
			return vals, in, err
		}
	}
	in.FlagThreshold = new(int) // empty: the default threshold
	if strings.TrimSpace(vals["flag_threshold"]) != "" {
		if in.FlagThreshold, err = whole("flag_threshold"); err != nil {
			return vals, in, err
		}
	}
	return vals, in, nil
}

// adminData loads every category (archived ones too) into the table.
func (s *server) adminData(c *fiber.Ctx) (*adminPage, error) {
	cats, err := s.Forum.AllCategories(c.UserContext())
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
		r, err := s.Moderation.DryRun(c.UserContext(), currentUser(c), th)
		if err != nil {
			return err
		}
		d.DryRun = &dryRun{Threshold: th, Total: len(r.PostIDs)}
		for _, p := range r.Posts {
			t := r.Topics[p.TopicID]
			d.DryRun.Posts = append(d.DryRun.Posts, dryRunPost{URL: postURL(t, p.PostNumber), Title: t.Title, Excerpt: excerpt(p.Body, 140)})
		}
	}
	return s.render(c, "admin", "Admin", d)
}

// apiDryRun: GET /api/v1/admin/flag-threshold/dry-run?threshold=N → posts that would have been hidden.
func (s *server) apiDryRun(c *fiber.Ctx) error {
	th := c.QueryInt("threshold", 0)
	r, err := s.Moderation.DryRun(c.UserContext(), currentUser(c), th)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"threshold": th, "post_ids": r.PostIDs, "total": len(r.PostIDs)})
}

// adminCreateCategory: POST /admin/categories.
func (s *server) adminCreateCategory(c *fiber.Ctx) error {
	vals, in, err := categoryForm(c)
	if err == nil {
		if _, err = s.Forum.CreateCategory(c.UserContext(), currentUser(c), in); err == nil {
			return c.Redirect("/admin", http.StatusSeeOther)
		}
	}
	return s.adminFormFailed(c, err, vals, func(d *adminPage, f form) bool {
		d.Create = f
		return true
	})
}

// adminUpdateCategory: POST /admin/categories/{id}.
func (s *server) adminUpdateCategory(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	vals, in, err := categoryForm(c)
	if err == nil {
		if _, err = s.Forum.UpdateCategory(c.UserContext(), currentUser(c), id, in); err == nil {
			return c.Redirect("/admin#category-"+strconv.FormatInt(id, 10), http.StatusSeeOther)
		}
	}
	return s.adminFormFailed(c, err, vals, func(d *adminPage, f form) bool {
		for i := range d.Rows {
			if d.Rows[i].ID == id {
				d.Rows[i].form = f
				return true
			}
		}
		return false
	})
}

// adminFormFailed shows /admin again with a failed category form, as typed
// and with its errors, where put places it (false: the category is gone).
func (s *server) adminFormFailed(c *fiber.Ctx, err error, vals map[string]string, put func(*adminPage, form) bool) error {
	f := form{Values: vals}
	if !formFailed(c, &f, err) {
		return err
	}
	status := c.Response().StatusCode()
	d, err := s.adminData(c)
	if err != nil {
		return err
	}
	if !put(d, f) {
		return models.ErrNotFound
	}
	c.Status(status)
	return s.render(c, "admin", "Admin", d)
}

// --- roles -------------------------------------------------------------------

// apiSetRole: POST /api/v1/admin/users/{id}/role {role} → {user}; the last
// admin keeps the role.
func (s *server) apiSetRole(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	var req struct {
		Role string `json:"role"`
	}
	if err := parseJSON(c, &req); err != nil {
		return err
	}
	u, err := s.Moderation.SetRole(c.UserContext(), currentUser(c), id, req.Role)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"user": publicUser(u)})
}

// adminRoleSubmit: POST /admin/users/{id}/role {role} from the profile's staff panel.
func (s *server) adminRoleSubmit(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	role := c.FormValue("role")
	u, err := s.Moderation.SetRole(c.UserContext(), currentUser(c), id, role)
	if err == nil {
		return c.Redirect(profileURL(u)+"#moderation", http.StatusSeeOther)
	}
	return s.profileFormFailed(c, id, form{Values: map[string]string{"role": role}}, err,
		func(m *profileMod, f form) { m.RoleForm = f })
}

// adminEraseSubmit: POST /admin/users/{id}/erase — an admin erases an
// account on request (or one reported as under 16, with its posts), logged.
func (s *server) adminEraseSubmit(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	f := form{Values: map[string]string{"reason": c.FormValue("reason"), "delete_posts": c.FormValue("delete_posts")}}
	err = s.adminErase(c, id, c.FormValue("reason"), c.FormValue("delete_posts") != "")
	if err == nil {
		return c.Redirect("/mod/log", http.StatusSeeOther)
	}
	return s.profileFormFailed(c, id, f, err, func(m *profileMod, f form) { m.EraseForm = f })
}

// profileFormFailed shows member id's profile again with the staff form
// put back by set, as typed and with its errors, when err is the client's.
func (s *server) profileFormFailed(c *fiber.Ctx, id int64, f form, err error, set func(*profileMod, form)) error {
	if !formFailed(c, &f, err) {
		return err
	}
	target, lerr := s.Accounts.User(c.UserContext(), id)
	if lerr != nil {
		return lerr
	}
	status := c.Response().StatusCode()
	d, lerr := s.profileData(c, target, form{})
	if lerr != nil {
		return lerr
	}
	set(d.Mod, f)
	c.Status(status)
	return s.render(c, "profile", target.Name(), d)
}

// --- the guidelines ----------------------------------------------------------

// apiGuidelines: GET /api/v1/guidelines → {markdown, html, items}: the text
// as written, its rendering and the guidelines members flag for.
func (s *server) apiGuidelines(c *fiber.Ctx) error {
	md, err := s.Moderation.Text(c.UserContext(), moderation.GuidelinesDoc)
	if err != nil {
		return err
	}
	html, err := s.Moderation.HTML(c.UserContext(), moderation.GuidelinesDoc)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"markdown": md, "html": html, "items": moderation.Guidelines})
}

// apiUpdateGuidelines: PUT /api/v1/admin/guidelines {body} → {markdown, html}.
func (s *server) apiUpdateGuidelines(c *fiber.Ctx) error {
	var req struct {
		Body string `json:"body"`
	}
	if err := parseJSON(c, &req); err != nil {
		return err
	}
	if err := s.Moderation.Update(c.UserContext(), currentUser(c), moderation.GuidelinesDoc, req.Body); err != nil {
		return err
	}
	return s.apiGuidelines(c)
}

// adminDocument is an admin's form for a document (moderation.Document).
type adminDocument struct {
	Doc                                moderation.Document
	Heading, Label, Page, Action, Hint string
}

var (
	guidelinesForm = adminDocument{Doc: moderation.GuidelinesDoc, Heading: "Edit the community guidelines",
		Label: "Community guidelines", Page: "/guidelines", Action: "/admin/guidelines",
		Hint: "Shown at /guidelines; the flag reasons are listed beside it."}
	privacyForm = adminDocument{Doc: moderation.PrivacyDoc, Heading: "Edit the privacy policy", Label: "Privacy policy",
		Page: "/privacy", Action: "/admin/privacy",
		Hint: "Shown at /privacy and linked from every page's footer: say what is stored, why and for how long."}
)

// adminDocumentPage is the form's data.
type adminDocumentPage struct {
	adminDocument
	Form form
}

// adminDocumentForm: GET /admin/guidelines, /admin/privacy.
func (s *server) adminDocumentForm(d adminDocument) fiber.Handler {
	return func(c *fiber.Ctx) error {
		md, err := s.Moderation.Text(c.UserContext(), d.Doc)
		if err != nil {
			return err
		}
		return s.render(c, "admin_document", d.Heading, adminDocumentPage{adminDocument: d,
			Form: form{Values: map[string]string{"body": md, "saved": c.Query("saved")}}})
	}
}

// adminDocumentSubmit: POST /admin/guidelines, /admin/privacy.
func (s *server) adminDocumentSubmit(d adminDocument) fiber.Handler {
	return func(c *fiber.Ctx) error {
		body := c.FormValue("body")
		if err := s.Moderation.Update(c.UserContext(), currentUser(c), d.Doc, body); err != nil {
			f := form{Values: map[string]string{"body": body}}
			if !formFailed(c, &f, err) {
				return err
			}
			return s.render(c, "admin_document", d.Heading, adminDocumentPage{adminDocument: d, Form: f})
		}
		return c.Redirect(d.Action+"?saved=1", http.StatusSeeOther)
	}
}
