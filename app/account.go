package app

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"agora/accounts"
	"agora/models"
	"agora/privacy"
)

// The member's own account in /settings and /api/v1/me: profile, password,
// address, sessions and API tokens.

// sessionView is a signed-in browser as the member sees it (never its id's secret).
type sessionView struct {
	ID         int64     `json:"id"`
	IP         string    `json:"ip"`
	UserAgent  string    `json:"user_agent"`
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
	Current    bool      `json:"current"`
}

// tokenView is an API token as the member sees it (never the token).
type tokenView struct {
	ID         int64      `json:"id"`
	Name       string     `json:"name"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
}

func (s *server) sessionViews(c *fiber.Ctx) ([]sessionView, error) {
	ss, err := s.Accounts.Sessions(c.UserContext(), currentUser(c))
	if err != nil {
		return nil, err
	}
	cur := currentSession(c)
	out := make([]sessionView, len(ss))
	for i, x := range ss {
		out[i] = sessionView{ID: x.ID, IP: x.IP, UserAgent: x.UserAgent, CreatedAt: x.CreatedAt, LastSeenAt: x.LastSeenAt,
			Current: cur != nil && cur.ID == x.ID}
	}
	return out, nil
}

func (s *server) tokenViews(c *fiber.Ctx) ([]tokenView, error) {
	ts, err := s.Accounts.Tokens(c.UserContext(), currentUser(c))
	if err != nil {
		return nil, err
	}
	out := make([]tokenView, len(ts))
	for i, t := range ts {
		out[i] = tokenView{ID: t.ID, Name: t.Name, CreatedAt: t.CreatedAt, LastUsedAt: t.LastUsedAt}
	}
	return out, nil
}

// settingsFormFailed re-renders /settings with section's form as typed and
// its errors, when err is the client's; otherwise it returns err.
func (s *server) settingsFormFailed(c *fiber.Ctx, section string, f form, err error) error {
	if !formFailed(c, &f, err) {
		return err
	}
	return s.renderSettingsWith(c, map[string]*form{section: &f})
}

// settingsProfileSubmit: POST /settings/profile.
func (s *server) settingsProfileSubmit(c *fiber.Ctx) error {
	color := c.FormValue("avatar_color")
	in := accounts.ProfileInput{DisplayName: c.FormValue("display_name"), Bio: c.FormValue("bio"), AvatarColor: &color}
	if _, err := s.Accounts.UpdateProfile(c.UserContext(), currentUser(c), in); err != nil {
		return s.settingsFormFailed(c, "profile", form{Values: map[string]string{"display_name": in.DisplayName, "bio": in.Bio,
			"avatar_color": color}}, err)
	}
	return c.Redirect("/settings?saved=profile#profile", http.StatusSeeOther)
}

// settingsUsernameSubmit: POST /settings/username.
func (s *server) settingsUsernameSubmit(c *fiber.Ctx) error {
	name := c.FormValue("username")
	if _, err := s.Accounts.ChangeUsername(c.UserContext(), currentUser(c), name); err != nil {
		return s.settingsFormFailed(c, "username", form{Values: map[string]string{"username": name}}, err)
	}
	return c.Redirect("/settings?saved=username#profile", http.StatusSeeOther)
}

// apiChangeUsername: PUT /api/v1/me/username {username} → the member.
func (s *server) apiChangeUsername(c *fiber.Ctx) error {
	var in struct {
		Username string `json:"username"`
	}
	if err := parseJSON(c, &in); err != nil {
		return err
	}
	u, err := s.Accounts.ChangeUsername(c.UserContext(), currentUser(c), in.Username)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"user": meUser{u, u.Email}})
}

// settingsPasswordSubmit: POST /settings/password.
func (s *server) settingsPasswordSubmit(c *fiber.Ctx) error {
	f := form{Values: map[string]string{}}
	var err error
	if c.FormValue("password") != c.FormValue("password_again") {
		err = &models.ValidationError{Fields: map[string]string{"password_again": "the two passwords differ"}}
	} else {
		err = s.Accounts.ChangePassword(c.UserContext(), currentUser(c), currentSession(c), c.FormValue("current_password"),
			c.FormValue("password"))
	}
	if err != nil {
		return s.settingsFormFailed(c, "password", f, err)
	}
	return c.Redirect("/settings?saved=password#password", http.StatusSeeOther)
}

// settingsAddressSubmit: POST /settings/email/address — a new address, confirmed by mail.
func (s *server) settingsAddressSubmit(c *fiber.Ctx) error {
	email := c.FormValue("email")
	_, err := s.Accounts.ChangeEmail(c.UserContext(), currentUser(c), currentSession(c), c.FormValue("password"), email,
		s.Mail.QueueVerification)
	if err != nil {
		return s.settingsFormFailed(c, "address", form{Values: map[string]string{"email": email}}, err)
	}
	return c.Redirect("/settings?saved=verify#email", http.StatusSeeOther)
}

// settingsRevokeSessionSubmit: POST /settings/sessions/{id}/revoke.
func (s *server) settingsRevokeSessionSubmit(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	if err := s.Accounts.RevokeSession(c.UserContext(), currentUser(c), id); err != nil {
		return err
	}
	return c.Redirect("/settings#sessions", http.StatusSeeOther)
}

// settingsSignOutEverywhereSubmit: POST /settings/sessions/revoke-all — every session and token, this one too.
func (s *server) settingsSignOutEverywhereSubmit(c *fiber.Ctx) error {
	if err := s.Accounts.SignOutEverywhere(c.UserContext(), currentUser(c)); err != nil {
		return err
	}
	c.Cookie(s.cookie(sessionCookie, "", -time.Hour))
	return c.Redirect("/login", http.StatusSeeOther)
}

// settingsRevokeTokenSubmit: POST /settings/tokens/{id}/revoke.
func (s *server) settingsRevokeTokenSubmit(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	if err := s.Accounts.RevokeTokenID(c.UserContext(), currentUser(c), id); err != nil {
		return err
	}
	return c.Redirect("/settings#sessions", http.StatusSeeOther)
}

// apiUpdateMe: PATCH /api/v1/me {display_name, bio, avatar_color} → the member.
func (s *server) apiUpdateMe(c *fiber.Ctx) error {
	var in accounts.ProfileInput
	if err := parseJSON(c, &in); err != nil {
		return err
	}
	u, err := s.Accounts.UpdateProfile(c.UserContext(), currentUser(c), in)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"user": meUser{u, u.Email}})
}

// apiChangePassword: PUT /api/v1/me/password {current_password, password} → 204.
func (s *server) apiChangePassword(c *fiber.Ctx) error {
	var in struct {
		Current  string `json:"current_password"`
		Password string `json:"password"`
	}
	if err := parseJSON(c, &in); err != nil {
		return err
	}
	if err := s.Accounts.ChangePassword(c.UserContext(), currentUser(c), currentSession(c), in.Current, in.Password); err != nil {
		return err
	}
	return c.SendStatus(http.StatusNoContent)
}

// apiChangeEmail: POST /api/v1/me/email/change {email, password} → the address, unconfirmed.
func (s *server) apiChangeEmail(c *fiber.Ctx) error {
	var in struct {
		Email    string `json:"email"`
		Password string `json:"password"`
	}
	if err := parseJSON(c, &in); err != nil {
		return err
	}
	u, err := s.Accounts.ChangeEmail(c.UserContext(), currentUser(c), currentSession(c), in.Password, in.Email,
		s.Mail.QueueVerification)
	if err != nil {
		return err
	}
	p, err := s.Mail.PreferencesOf(c.UserContext(), u)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"email": p})
}

// apiSessions: GET /api/v1/me/sessions.
func (s *server) apiSessions(c *fiber.Ctx) error {
	ss, err := s.sessionViews(c)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"items": ss})
}

// apiRevokeSession: DELETE /api/v1/me/sessions/{id} → 204.
func (s *server) apiRevokeSession(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	if err := s.Accounts.RevokeSession(c.UserContext(), currentUser(c), id); err != nil {
		return err
	}
	return c.SendStatus(http.StatusNoContent)
}

// apiTokens: GET /api/v1/me/tokens.
func (s *server) apiTokens(c *fiber.Ctx) error {
	ts, err := s.tokenViews(c)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"items": ts})
}

// apiRevokeToken: DELETE /api/v1/me/tokens/{id} → 204.
func (s *server) apiRevokeToken(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	if err := s.Accounts.RevokeTokenID(c.UserContext(), currentUser(c), id); err != nil {
		return err
	}
	return c.SendStatus(http.StatusNoContent)
}

// exportsPerMinute is how many exports a member may ask for a minute: each
// reads everything they ever wrote.
const exportsPerMinute = 3

// streamExport answers with a download written by write as it reads the
// database, for the signed-in member; a failure halfway is logged (the
// status is sent by then) and cuts the download short.
func (s *server) streamExport(c *fiber.Ctx, contentType, filename string,
	write func(context.Context, *models.User, io.Writer) error) error {
	u := currentUser(c)
	c.Set(fiber.HeaderContentType, contentType)
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+filename+`"`)
	c.Set(fiber.HeaderCacheControl, "no-store")
	ctx := context.WithoutCancel(c.UserContext())
	c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
		if err := write(ctx, u, w); err != nil {
			s.Log.Error("export", "user_id", u.ID, "err", err)
		}
		w.Flush()
	})
	return nil
}

// exportName is the download's file name: agora-{username}-{date}.
func (s *server) exportName(c *fiber.Ctx, ext string) string {
	return "agora-" + currentUser(c).Username + "-" + s.Now().UTC().Format("2006-01-02") + ext
}

// apiExport: GET /api/v1/me/export — the caller's data as one JSON document.
func (s *server) apiExport(c *fiber.Ctx) error {
	return s.streamExport(c, fiber.MIMEApplicationJSONCharsetUTF8, s.exportName(c, ".json"), s.Privacy.Export)
}

// settingsExport: GET /settings/export — the same with a readable page, zipped.
func (s *server) settingsExport(c *fiber.Ctx) error {
	return s.streamExport(c, "application/zip", s.exportName(c, ".zip"), s.Privacy.ExportZip)
}

// eraseSelf deletes the signed-in member's account once they proved it is
// them, and signs this browser out.
func (s *server) eraseSelf(c *fiber.Ctx, password string, deletePosts bool) error {
	u := currentUser(c)
	if err := s.Accounts.Confirm(u, currentSession(c), password); err != nil {
		return err
	}
	if err := s.Privacy.Erase(c.UserContext(), u, u, privacy.Erasure{DeletePosts: deletePosts}); err != nil {
		return err
	}
	c.Cookie(s.cookie(sessionCookie, "", -time.Hour))
	return nil
}

// apiDeleteMe: DELETE /api/v1/me {password, delete_posts} → 202, the account erased.
func (s *server) apiDeleteMe(c *fiber.Ctx) error {
	var in struct {
		Password    string `json:"password"`
		DeletePosts bool   `json:"delete_posts"`
	}
	if err := parseJSON(c, &in); err != nil {
		return err
	}
	if err := s.eraseSelf(c, in.Password, in.DeletePosts); err != nil {
		return err
	}
	return c.SendStatus(http.StatusAccepted)
}

// settingsDeleteSubmit: POST /settings/delete — confirmed, with the password.
func (s *server) settingsDeleteSubmit(c *fiber.Ctx) error {
	f := form{Values: map[string]string{"delete_posts": c.FormValue("delete_posts")}}
	var err error
	if c.FormValue("confirm") == "" {
		err = &models.ValidationError{Fields: map[string]string{"confirm": "tick the box to confirm: this cannot be undone"}}
	} else {
		err = s.eraseSelf(c, c.FormValue("password"), c.FormValue("delete_posts") != "")
	}
	if err != nil {
		return s.settingsFormFailed(c, "delete", f, err)
	}
	return s.render(c, "email_done", "Account deleted", emailDone{OK: true, Heading: "Your account is deleted",
		Message: "Everything personal is gone. Thank you for being part of the community."})
}

// apiAdminErase: POST /api/v1/admin/users/{id}/erase {reason, delete_posts} → 200, logged.
// For requests by mail, and members reported to be under 16 (with delete_posts).
func (s *server) apiAdminErase(c *fiber.Ctx) error {
	id, in, err := idAndJSON[struct {
		Reason      string `json:"reason"`
		DeletePosts bool   `json:"delete_posts"`
	}](c)
	if err != nil {
		return err
	}
	if err := s.adminErase(c, id, in.Reason, in.DeletePosts); err != nil {
		return err
	}
	return c.JSON(fiber.Map{"erased": id, "posts_deleted": in.DeletePosts})
}

// adminErase erases member id for the signed-in admin, with their reason.
func (s *server) adminErase(c *fiber.Ctx, id int64, reason string, deletePosts bool) error {
	if strings.TrimSpace(reason) == "" {
		return &models.ValidationError{Fields: map[string]string{"reason": "say why (the request, or the report of a member under 16)"}}
	}
	if id == currentUser(c).ID {
		return &models.ForbiddenError{Code: "self", Message: "delete your own account from your settings, with your password"}
	}
	u, err := s.Accounts.User(c.UserContext(), id)
	if err != nil {
		return err
	}
	return s.Privacy.Erase(c.UserContext(), currentUser(c), u, privacy.Erasure{DeletePosts: deletePosts, Reason: strings.TrimSpace(reason)})
}
