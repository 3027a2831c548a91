package app

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"agora/levels"
	"agora/models"
	"agora/moderation"
	"agora/policy"
)

// Members' profiles: /u/{username} and GET /api/v1/users/{username}, and
// what staff see about a member there and in GET /api/v1/mod/users/{id}.

// publicUser hides what only the member themself may see.
func publicUser(u *models.User) *models.User {
	p := *u
	p.Email, p.LastSeenAt, p.Company = "", nil, ""
	return &p
}

// apiUser: GET /api/v1/users/{username} → {user} public profile.
func (s *server) apiUser(c *fiber.Ctx) error {
	u, err := s.Accounts.Profile(c.UserContext(), c.Params("username"))
	if err != nil {
		return err
	}
	st, hs, err := s.standingOf(c, u)
	if err != nil {
		return err
	}
	held := make([]heldJSON, len(hs))
	for i, h := range hs {
		held[i] = heldJSON{Badge: s.badgeOut(h.Badge), Count: h.Held.GrantCount, GrantedAt: h.Held.GrantedAt,
			LastGrantedAt: h.Held.LastGrantedAt}
	}
	return c.JSON(fiber.Map{"user": publicUser(u), "standing": st, "badges": held})
}

// profile: GET /u/{username}.
func (s *server) profile(c *fiber.Ctx) error {
	u, err := s.Accounts.Profile(c.UserContext(), c.Params("username"))
	if err != nil {
		return err
	}
	if !strings.EqualFold(u.Username, c.Params("username")) { // a name the member left
		return c.Redirect("/u/"+url.PathEscape(u.Username), http.StatusFound) // not 301: the name may move again
	}
	d, err := s.profileData(c, u, form{})
	if err != nil {
		return err
	}
	return s.render(c, "profile", u.Name(), d)
}

// profilePage is a public profile, with the moderation panel for staff.
type profilePage struct {
	*models.User
	Standing *levels.Standing
	Badges   []heldRow
	Mod      *profileMod
}

type profileMod struct {
	Suspension *models.SuspendedError
	CanSuspend bool // policy.Suspend
	Log        []logRow
	Form       form
	Dossier    *moderation.Dossier
	Notes      []noteRow
	Posts      []dossierPost
	NoteForm   form
	RoleForm   form // admins only: the role select
	EraseForm  form // admins only: erase the account
	LevelForm  form // the level lock
	Levels     []int
}

// noteRow is a staff note with its author's name.
type noteRow struct {
	*models.UserNote
	Author string
}

// dossierPost is one of the member's recent posts, removed ones included.
type dossierPost struct {
	*models.Post
	URL, Title, Excerpt string
}

// profileData is the profile page's data; staff also get the panel, with
// the suspension form f.
func (s *server) profileData(c *fiber.Ctx, u *models.User, f form) (*profilePage, error) {
	d := &profilePage{User: publicUser(u)}
	st, hs, err := s.standingOf(c, u)
	if err != nil {
		return nil, err
	}
	d.Standing = st
	for _, h := range hs {
		d.Badges = append(d.Badges, heldRow{badgeView: s.badgeOut(h.Badge), Held: h.Held})
	}
	viewer := currentUser(c)
	if !viewer.IsStaff() {
		return d, nil
	}
	ctx := c.UserContext()
	m := &profileMod{Form: f, CanSuspend: policy.Suspend(viewer, u) == nil, Levels: []int{1, 2, 3, 4, 5}}
	if _, ok := f.Values["level"]; ok {
		m.Form, m.LevelForm = form{}, f
	} else {
		m.LevelForm = form{Values: map[string]string{"level": strconv.Itoa(u.Level)}}
	}
	if m.Form.Values == nil {
		m.Form.Values = map[string]string{"days": "7", "notify": "on"}
	}
	m.RoleForm = form{Values: map[string]string{"role": u.Role}}
	m.EraseForm = form{Values: map[string]string{}}
	var se *models.SuspendedError
	if errors.As(u.Suspension(s.Now()), &se) {
		m.Suspension = se
	}
	entries, _, err := s.Moderation.Log(ctx, viewer, moderation.LogFilter{UserID: u.ID, Page: 1, PerPage: 10})
	if err != nil {
		return nil, err
	}
	if m.Log, err = s.logRows(c, entries); err != nil {
		return nil, err
	}
	if m.Dossier, err = s.Moderation.MemberDossier(ctx, viewer, u.ID); err != nil {
		return nil, err
	}
	for _, n := range m.Dossier.Notes {
		r := noteRow{UserNote: n, Author: "former staff"}
		if a := m.Dossier.NoteAuthors[n.AuthorID]; a != nil {
			r.Author = a.Username
		}
		m.Notes = append(m.Notes, r)
	}
	for _, p := range m.Dossier.RecentPosts {
		if t := m.Dossier.Topics[p.TopicID]; t != nil {
			m.Posts = append(m.Posts, dossierPost{Post: p, URL: postURL(t, p.PostNumber), Title: t.Title, Excerpt: excerpt(p.Body, 160)})
		}
	}
	d.Mod = m
	return d, nil
}

// profileError shows the profile again after a failed suspension, with the
// form as typed and the error.
func (s *server) profileError(c *fiber.Ctx, u *models.User, f form, err error) error {
	if !formFailed(c, &f, err) {
		return err
	}
	status := c.Response().StatusCode()
	d, err := s.profileData(c, u, f)
	if err != nil {
		return err
	}
	c.Status(status)
	return s.render(c, "profile", u.Name(), d)
}

// apiMember: GET /api/v1/mod/users/{id} → the member, staff notes, recent posts
// (removed ones too), flags given and received, and their moderation history.
func (s *server) apiMember(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	ctx, mod := c.UserContext(), currentUser(c)
	u, err := s.Accounts.User(ctx, id)
	if err != nil {
		return err
	}
	d, err := s.Moderation.MemberDossier(ctx, mod, id)
	if err != nil {
		return err
	}
	log, _, err := s.Moderation.Log(ctx, mod, moderation.LogFilter{UserID: id, Page: 1, PerPage: 50})
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"user": publicUser(u), "dossier": d, "log": log})
}
