package app

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"agora/badges"
	"agora/levels"
	"agora/models"
)

// Levels and badges: /badges, /badges/{id}, the standing and badges on
// profiles, the level lock in the profile's moderation panel, and the
// thresholds and hand-made badges at /admin/levels and /admin/badges, with
// their JSON twins.

// badgeView is a badge with its icon's URL, for the pages and the JSON.
type badgeView struct {
	*models.Badge
	IconURL string `json:"icon_url"`
}

// badgeIconURL is the URL of a badge icon; a name the assets lack (a row
// edited by hand) shows the star.
func (s *server) badgeIconURL(icon string) string {
	if !slices.Contains(badges.Icons, icon) {
		icon = "star"
	}
	return s.assets.URL("badge-" + icon + ".svg")
}

func (s *server) badgeOut(b *models.Badge) badgeView {
	return badgeView{Badge: b, IconURL: s.badgeIconURL(b.Icon)}
}

// apiBadges: GET /api/v1/badges → {items} every badge with its holder count.
func (s *server) apiBadges(c *fiber.Ctx) error {
	bs, err := s.Badges.List(c.UserContext())
	if err != nil {
		return err
	}
	items := make([]badgeView, len(bs))
	for i, b := range bs {
		items[i] = s.badgeOut(b)
	}
	return c.JSON(fiber.Map{"items": items})
}

// holderJSON is one holder of a badge.
type holderJSON struct {
	User      *userBrief `json:"user"` // null: a former member
	Count     int        `json:"count"`
	GrantedAt time.Time  `json:"granted_at"`
}

// apiBadge: GET /api/v1/badges/{id}?page= → {badge, holders{items, page, per_page, total, pages}}.
func (s *server) apiBadge(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	page, perPage := pageParams(c)
	b, hs, total, err := s.Badges.Holders(c.UserContext(), id, page, perPage)
	if err != nil {
		return err
	}
	items := make([]holderJSON, len(hs))
	for i, h := range hs {
		items[i] = holderJSON{User: brief(h.User), Count: h.Held.GrantCount, GrantedAt: h.Held.GrantedAt}
	}
	return c.JSON(fiber.Map{"badge": s.badgeOut(b), "holders": fiber.Map{"items": items, "page": page,
		"per_page": perPage, "total": total, "pages": pages(total, perPage)}})
}

type badgesPage struct{ Rows []badgeView }

// badgesHTML: GET /badges — every badge, by tier, with how many hold it.
func (s *server) badgesHTML(c *fiber.Ctx) error {
	bs, err := s.Badges.List(c.UserContext())
	if err != nil {
		return err
	}
	d := &badgesPage{}
	for _, b := range bs {
		d.Rows = append(d.Rows, s.badgeOut(b))
	}
	return s.render(c, "badges", "Badges", d)
}

// holdersPerPage is how many holders /badges/{id} shows.
const holdersPerPage = 50

type badgePage struct {
	badgeView
	Holders []badges.Holder
	Total   int
	pager
}

// badgeHTML: GET /badges/{id}?page= — a badge and its holders, latest first.
func (s *server) badgeHTML(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	page, _ := pageParams(c)
	b, hs, total, err := s.Badges.Holders(c.UserContext(), id, page, holdersPerPage)
	if err != nil {
		return err
	}
	d := &badgePage{badgeView: s.badgeOut(b), Holders: hs, Total: total,
		pager: newPager(page, pages(total, holdersPerPage), func(n int) string { return "/badges/" + strconv.FormatInt(id, 10) + "?page=" + strconv.Itoa(n) })}
	return s.render(c, "badge", b.Name+" badge", d)
}

// heldJSON is a badge a member holds.
type heldJSON struct {
	Badge         badgeView `json:"badge"`
	Count         int       `json:"count"`
	GrantedAt     time.Time `json:"granted_at"`
	LastGrantedAt time.Time `json:"last_granted_at"`
}

// heldRow is a badge on the profile page.
type heldRow struct {
	badgeView
	Held *models.UserBadge
}

// standingOf returns u's standing and badges for the profile and its JSON.
func (s *server) standingOf(c *fiber.Ctx, u *models.User) (*levels.Standing, []models.Holding, error) {
	st, err := s.Levels.StandingOf(c.UserContext(), u)
	if err != nil {
		return nil, nil, err
	}
	hs, err := s.Badges.Of(c.UserContext(), u.ID)
	return st, hs, err
}

// --- the level lock (staff) --------------------------------------------------

// lockLevel runs the lock-level or unlock-level action on member id.
func (s *server) lockLevel(c *fiber.Ctx, id int64, action string, level int, reason string) (*models.User, error) {
	if action == "unlock-level" {
		return s.Levels.Unlock(c.UserContext(), currentUser(c), id, reason)
	}
	return s.Levels.Lock(c.UserContext(), currentUser(c), id, level, reason)
}

// modLevelSubmit: POST /mod/users/{id}/level {action: lock|unlock, level, reason} from the profile.
func (s *server) modLevelSubmit(c *fiber.Ctx) error {
	target, err := s.userParam(c)
	if err != nil {
		return err
	}
	vals := map[string]string{"level": c.FormValue("level"), "level_reason": c.FormValue("level_reason")}
	action := "lock-level"
	if c.FormValue("action") == "unlock" {
		action = "unlock-level"
	}
	level, convErr := strconv.Atoi(vals["level"])
	if convErr != nil && action == "lock-level" {
		err = &models.ValidationError{Fields: map[string]string{"level": "choose a level from 1 to 5"}}
	} else {
		_, err = s.lockLevel(c, target.ID, action, level, strings.TrimSpace(vals["level_reason"]))
	}
	if err != nil {
		return s.profileError(c, target, form{Values: vals}, err)
	}
	return c.Redirect(profileURL(target)+"#level", http.StatusSeeOther)
}

// --- admin: thresholds -------------------------------------------------------

// apiLevels: GET /api/v1/admin/levels → {items} the thresholds of levels 2 to 5.
func (s *server) apiLevels(c *fiber.Ctx) error {
	ts, err := s.Levels.Thresholds(c.UserContext())
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"items": ts})
}

// apiSaveLevels: PUT /api/v1/admin/levels {items} → {items}.
func (s *server) apiSaveLevels(c *fiber.Ctx) error {
	var req struct {
		Items []*models.LevelThreshold `json:"items"`
	}
	if err := parseJSON(c, &req); err != nil {
		return err
	}
	if err := s.Levels.SaveThresholds(c.UserContext(), currentUser(c), req.Items); err != nil {
		return err
	}
	return s.apiLevels(c)
}

// thresholdFields are the thresholds' form fields, in the order of
// models.LevelThreshold.Values, with their headings.
var thresholdFields = []struct{ Name, Label string }{
	{"days_joined", "Days since joining"}, {"days_visited", "Days visited"}, {"topics_read", "Topics read"},
	{"posts_read", "Posts read"}, {"replies", "Replies"}, {"likes_given", "Likes given"},
	{"likes_received", "Likes received"}, {"solutions", "Best answers"}, {"max_penalty", "Most penalty points"},
}

// levelCell is one input of the thresholds table.
type levelCell struct{ Name, Label, Value string }

type levelRow struct {
	Level int
	Name  string
	Cells []levelCell
}

type adminLevelsPage struct {
	Fields []struct{ Name, Label string }
	Rows   []levelRow
	Form   form
	Saved  bool
	Points int // what a suspension weighs
}

func (s *server) renderLevels(c *fiber.Ctx, values map[string]string, f form) error {
	d := &adminLevelsPage{Fields: thresholdFields, Form: f, Saved: c.Query("saved") != "", Points: levels.SuspensionPenalty}
	for l := 2; l <= levels.Max; l++ {
		r := levelRow{Level: l, Name: levels.Names[l]}
		for _, fl := range thresholdFields {
			k := fl.Name + "_" + strconv.Itoa(l)
			r.Cells = append(r.Cells, levelCell{Name: k, Label: fl.Label + " for level " + strconv.Itoa(l), Value: values[k]})
		}
		d.Rows = append(d.Rows, r)
	}
	return s.render(c, "admin_levels", "Levels", d)
}

// adminLevelsForm: GET /admin/levels — the thresholds, editable.
func (s *server) adminLevelsForm(c *fiber.Ctx) error {
	ts, err := s.Levels.Thresholds(c.UserContext())
	if err != nil {
		return err
	}
	values := map[string]string{}
	for _, t := range ts {
		for i, v := range t.Values() {
			values[thresholdFields[i].Name+"_"+strconv.Itoa(t.Level)] = strconv.Itoa(v)
		}
	}
	return s.renderLevels(c, values, form{})
}

// adminLevelsSubmit: POST /admin/levels.
func (s *server) adminLevelsSubmit(c *fiber.Ctx) error {
	values := map[string]string{}
	bad := map[string]string{}
	var ts []*models.LevelThreshold
	for l := 2; l <= levels.Max; l++ {
		t := &models.LevelThreshold{Level: l}
		v := make([]int, len(thresholdFields))
		for i, fl := range thresholdFields {
			k := fl.Name + "_" + strconv.Itoa(l)
			values[k] = strings.TrimSpace(c.FormValue(k))
			n, err := strconv.Atoi(values[k])
			if err != nil || n < 0 {
				bad[k] = fl.Label + " for level " + strconv.Itoa(l) + ": use a whole number, 0 or more"
			}
			v[i] = n
		}
		t.SetValues(v)
		ts = append(ts, t)
	}
	var err error
	if len(bad) > 0 {
		err = &models.ValidationError{Fields: bad}
	} else {
		err = s.Levels.SaveThresholds(c.UserContext(), currentUser(c), ts)
	}
	if err != nil {
		f := form{Values: values}
		if !formFailed(c, &f, err) {
			return err
		}
		status := c.Response().StatusCode()
		if err := s.renderLevels(c, values, f); err != nil {
			return err
		}
		c.Status(status)
		return nil
	}
	return c.Redirect("/admin/levels?saved=1", http.StatusSeeOther)
}

// --- admin: hand-made badges ---------------------------------------------------

type badgeRequest struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Tier        string `json:"tier"`
	Icon        string `json:"icon"`
}

// apiCreateBadge: POST /api/v1/admin/badges {name, description, tier, icon} → 201 {badge}.
func (s *server) apiCreateBadge(c *fiber.Ctx) error {
	var req badgeRequest
	if err := parseJSON(c, &req); err != nil {
		return err
	}
	b, err := s.Badges.Create(c.UserContext(), currentUser(c), badges.Input(req))
	if err != nil {
		return err
	}
	return c.Status(http.StatusCreated).JSON(fiber.Map{"badge": s.badgeOut(b)})
}

type grantRequest struct {
	UserID int64  `json:"user_id"`
	Reason string `json:"reason"`
}

// apiGrantBadge: POST /api/v1/admin/badges/{id}/{grant|revoke} {user_id, reason} → {changed}.
func (s *server) apiGrantBadge(c *fiber.Ctx) error {
	id, req, err := idAndJSON[grantRequest](c)
	if err != nil {
		return err
	}
	changed, err := s.byHand(c, id, req.UserID, req.Reason, c.Params("action"))
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"changed": changed})
}

func (s *server) byHand(c *fiber.Ctx, badgeID, userID int64, reason, action string) (bool, error) {
	switch action {
	case "grant":
		return s.Badges.Grant(c.UserContext(), currentUser(c), badgeID, userID, reason)
	case "revoke":
		return s.Badges.Revoke(c.UserContext(), currentUser(c), badgeID, userID, reason)
	}
	return false, models.ErrNotFound
}

type adminBadgesPage struct {
	Manual    []badgeView
	Icons     []string
	Create    form
	Grant     form
	GrantFor  int64 // the badge the grant form's error is about
	Done      string
	IconURLOf map[string]string
}

func (s *server) renderAdminBadges(c *fiber.Ctx, d *adminBadgesPage) error {
	bs, err := s.Badges.List(c.UserContext())
	if err != nil {
		return err
	}
	for _, b := range bs {
		if b.Manual() {
			d.Manual = append(d.Manual, s.badgeOut(b))
		}
	}
	d.Icons, d.IconURLOf = badges.Icons, map[string]string{}
	for _, i := range badges.Icons {
		d.IconURLOf[i] = s.badgeIconURL(i)
	}
	if d.Create.Values == nil {
		d.Create.Values = map[string]string{"tier": models.TierBronze, "icon": "star"}
	}
	return s.render(c, "admin_badges", "Badges", d)
}

// adminBadgesPage: GET /admin/badges — make badges and grant or revoke them.
func (s *server) adminBadgesHTML(c *fiber.Ctx) error {
	return s.renderAdminBadges(c, &adminBadgesPage{Done: c.Query("done")})
}

// adminCreateBadgeSubmit: POST /admin/badges.
func (s *server) adminCreateBadgeSubmit(c *fiber.Ctx) error {
	in := badges.Input{Name: c.FormValue("name"), Description: c.FormValue("description"), Tier: c.FormValue("tier"),
		Icon: c.FormValue("icon")}
	if _, err := s.Badges.Create(c.UserContext(), currentUser(c), in); err != nil {
		f := form{Values: map[string]string{"name": in.Name, "description": in.Description, "tier": in.Tier, "icon": in.Icon}}
		return s.adminBadgesFailed(c, &adminBadgesPage{Create: f}, &f, err)
	}
	return c.Redirect("/admin/badges?done=created", http.StatusSeeOther)
}

// adminGrantSubmit: POST /admin/badges/{id}/{grant|revoke} {username, reason}.
func (s *server) adminGrantSubmit(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	f := form{Values: map[string]string{"username": strings.TrimSpace(c.FormValue("username")), "reason": c.FormValue("reason")}}
	u, err := s.Accounts.Profile(c.UserContext(), f.Values["username"])
	if models.IsNotFound(err) {
		err = &models.ValidationError{Fields: map[string]string{"username": "no member has that username"}}
	}
	if err == nil {
		_, err = s.byHand(c, id, u.ID, f.Values["reason"], c.Params("action"))
	}
	if err != nil {
		return s.adminBadgesFailed(c, &adminBadgesPage{Grant: f, GrantFor: id}, &f, err)
	}
	return c.Redirect("/admin/badges?done="+c.Params("action")+"#badge-"+strconv.FormatInt(id, 10), http.StatusSeeOther)
}

func (s *server) adminBadgesFailed(c *fiber.Ctx, d *adminBadgesPage, f *form, err error) error {
	if !formFailed(c, f, err) {
		return err
	}
	if d.GrantFor != 0 {
		d.Grant = *f
	} else {
		d.Create = *f
	}
	status := c.Response().StatusCode()
	if err := s.renderAdminBadges(c, d); err != nil {
		return err
	}
	c.Status(status)
	return nil
}
