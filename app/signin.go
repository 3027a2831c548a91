package app

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"agora/accounts"
	"agora/mailer"
	"agora/models"
	"agora/notify"
	"agora/oauth"
)

// Sign-in with accounts people already have: /auth/{provider} and its
// callback (OAuth, OpenID Connect), /auth/signup for a new member's
// username, /sso for the customer product's signed users, and the
// sign-in methods on /settings.
//
// A sign-in in flight is a row in auth_states (accounts.BeginFlight) found
// by the hash of a random token. The token travels twice: as the state
// parameter through the provider, and in our own short-lived HttpOnly,
// SameSite=Lax cookie (Secure under https). The callback must bring both,
// equal, so a state started in another browser is refused.

const (
	flightCookie = "agora_signin"
	signupCookie = "agora_signup"
)

func (s *server) setAuthCookie(c *fiber.Ctx, name, token string, ttl time.Duration) {
	ck := s.cookie(name, token, ttl)
	ck.Path = "/auth"
	c.Cookie(ck)
}

func (s *server) clearAuthCookie(c *fiber.Ctx, name string) {
	ck := s.cookie(name, "", 0)
	ck.Path, ck.MaxAge, ck.Expires = "/auth", -1, time.Unix(0, 0)
	c.Cookie(ck)
}

// configuredProvider is the :provider param when it is configured, or a 404.
func (s *server) configuredProvider(c *fiber.Ctx) (string, error) {
	name := c.Params("provider")
	if s.oauth.Label(name) == "" {
		return "", fiber.NewError(http.StatusNotFound, "there is no sign-in with \""+name+"\" on this forum")
	}
	return name, nil
}

// oauthBegin: GET /auth/{provider}[?next=/path] → 303 to the provider.
func (s *server) oauthBegin(c *fiber.Ctx) error {
	name, err := s.configuredProvider(c)
	if err != nil {
		return err
	}
	return s.sendToProvider(c, name, models.AuthSignIn, nil, localPath(c.Query("next")))
}

// settingsLinkSubmit: POST /settings/identities/{provider} → 303 to the provider, to link it.
func (s *server) settingsLinkSubmit(c *fiber.Ctx) error {
	name, err := s.configuredProvider(c)
	if err != nil {
		return err
	}
	u := currentUser(c)
	return s.sendToProvider(c, name, models.AuthLink, &u.ID, "/settings")
}

func (s *server) sendToProvider(c *fiber.Ctx, name, purpose string, userID *int64, next string) error {
	ctx := c.UserContext()
	token := accounts.NewToken()
	authURL, data, err := s.oauth.Begin(ctx, name, token)
	if err != nil {
		return err
	}
	if err := s.Accounts.BeginFlightWith(ctx, token, name, purpose, userID, next, data); err != nil {
		return err
	}
	s.setAuthCookie(c, flightCookie, token, accounts.FlightTTL)
	return c.Redirect(authURL, http.StatusSeeOther)
}

// oauthCallback: GET /auth/{provider}/callback?code&state → signed in, linked, or on to /auth/signup.
func (s *server) oauthCallback(c *fiber.Ctx) error {
	name, err := s.configuredProvider(c)
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	cookie, state := c.Cookies(flightCookie), c.Query("state")
	s.clearAuthCookie(c, flightCookie)
	switch {
	case cookie == "":
		return s.refuse(c, name, &accounts.Refused{Code: "oauth_no_cookie", Message: "This browser did not start this sign-in " +
			"(its sign-in cookie is missing or expired). Allow cookies for this site and start again."})
	case subtle.ConstantTimeCompare([]byte(cookie), []byte(state)) != 1:
		return s.refuse(c, name, &accounts.Refused{Code: "oauth_state_mismatch", Untrusted: true,
			Message: "This sign-in answer does not belong to the sign-in this browser started; start again."})
	}
	st, err := s.Accounts.TakeFlight(ctx, cookie)
	if err != nil {
		return s.refuse(c, name, err)
	}
	if st.Provider != name {
		return s.refuse(c, name, &accounts.Refused{Code: "oauth_state_mismatch", Untrusted: true,
			Message: "This sign-in answer came back to the wrong provider; start again."})
	}
	query := url.Values{}
	c.Context().QueryArgs().VisitAll(func(k, v []byte) { query.Add(string(k), string(v)) })
	ext, err := s.oauth.Complete(ctx, name, st.Data, query)
	if err != nil {
		return s.refuse(c, name, err)
	}
	if st.Purpose == models.AuthLink && st.UserID != nil {
		if u := currentUser(c); u == nil || u.ID != *st.UserID {
			return s.refuse(c, name, &accounts.Refused{Code: "oauth_link_other_member", Untrusted: true,
				Message: "Sign in as the member who started linking, then link again."})
		}
		if err := s.Accounts.LinkExternal(ctx, *st.UserID, ext); err != nil {
			return err
		}
		s.Log.Info("identity linked", "provider", name, "user_id", *st.UserID)
		return c.Redirect("/settings?linked="+url.QueryEscape(name), http.StatusSeeOther)
	}
	u, err := s.Accounts.ExternalSignIn(ctx, ext)
	if models.IsNotFound(err) {
		token, err := s.Accounts.StartSignUp(ctx, ext, st.Next)
		if err != nil {
			return err
		}
		s.setAuthCookie(c, signupCookie, token, accounts.SignUpTTL)
		return c.Redirect("/auth/signup", http.StatusSeeOther)
	}
	if err != nil {
		return s.refuse(c, name, err)
	}
	if err := s.startSession(c, u); err != nil {
		return err
	}
	return c.Redirect(localPath(st.Next), http.StatusSeeOther)
}

// refuse logs a turned-away sign-in at warn (the code, never the payload)
// and passes the error on to the error page.
func (s *server) refuse(c *fiber.Ctx, provider string, err error) error {
	var r *accounts.Refused
	if errors.As(err, &r) {
		s.Log.Warn("sign-in refused", "provider", provider, "code", r.Code, "ip", c.IP())
	} else if errors.Is(err, oauth.ErrProvider) {
		s.Log.Warn("sign-in provider failed", "provider", provider, "err", err)
	}
	return err
}

// signupData is /auth/signup: the new member's username and age, or proof to link.
type signupData struct {
	form
	Provider string
	Pending  *accounts.PendingSignUp
}

// signupPage: GET /auth/signup.
func (s *server) signupPage(c *fiber.Ctx) error {
	p, err := s.Accounts.PendingSignUpOf(c.UserContext(), c.Cookies(signupCookie))
	if err != nil {
		return err
	}
	return s.renderSignup(c, p, form{Values: map[string]string{"username": p.Suggested}})
}

func (s *server) renderSignup(c *fiber.Ctx, p *accounts.PendingSignUp, f form) error {
	return s.render(c, "signup", "Finish joining", signupData{form: f, Provider: s.oauth.Label(p.Provider), Pending: p})
}

// signupSubmit: POST /auth/signup (username, age_confirmed) → the new member, signed in.
func (s *server) signupSubmit(c *fiber.Ctx) error {
	ctx, cookie := c.UserContext(), c.Cookies(signupCookie)
	username, age := c.FormValue("username"), c.FormValue("age_confirmed") != ""
	var u *models.User
	var p *accounts.PendingSignUp
	// A new account, the same budget per address as the password form's.
	err := s.registering(c, func() (err error) { u, p, err = s.Accounts.FinishSignUp(ctx, cookie, username, age); return err })
	if err != nil {
		f := form{Values: map[string]string{"username": username}}
		if age {
			f.Values["age_confirmed"] = "on"
		}
		if p == nil && errors.As(err, new(*models.RateLimitError)) { // refused before the sign-up was read
			var perr error
			if p, perr = s.Accounts.PendingSignUpOf(ctx, cookie); perr != nil {
				return perr
			}
		}
		if p == nil || !formFailed(c, &f, err) {
			return err
		}
		return s.renderSignup(c, p, f)
	}
	return s.finishSignup(c, u, p)
}

// signupLinkSubmit: POST /auth/signup/link (password) → the existing member, linked and signed in.
func (s *server) signupLinkSubmit(c *fiber.Ctx) error {
	u, p, err := s.Accounts.LinkSignUp(c.UserContext(), c.Cookies(signupCookie), c.FormValue("password"))
	if err != nil {
		f := form{Values: map[string]string{}}
		if p == nil || !formFailed(c, &f, err) {
			return err
		}
		f.Errors = map[string]string{"password": f.Error}
		return s.renderSignup(c, p, f)
	}
	return s.finishSignup(c, u, p)
}

func (s *server) finishSignup(c *fiber.Ctx, u *models.User, p *accounts.PendingSignUp) error {
	s.clearAuthCookie(c, signupCookie)
	if err := s.startSession(c, u); err != nil {
		return err
	}
	return c.Redirect(localPath(p.Next), http.StatusSeeOther)
}

// ssoSignIn: GET /sso?payload&signature[&return_to=/path] → 303 to return_to, signed in.
func (s *server) ssoSignIn(c *fiber.Ctx) error {
	if s.Config.SSOSecret == "" {
		return fiber.NewError(http.StatusNotFound, "single sign-on is not set up on this forum")
	}
	next := "/"
	if rt := c.Query("return_to"); rt != "" {
		if next = localPath(rt); next != rt {
			return s.refuse(c, accounts.ProviderSSO, &accounts.Refused{Code: "sso_bad_return_to",
				Message: "return_to must be a path on this forum, like /t/123"})
		}
	}
	// Base64 has no spaces: a '+' left unescaped in the link arrives as one.
	payload := strings.ReplaceAll(c.Query("payload"), " ", "+")
	p, err := accounts.ParseSSO(payload, c.Query("signature"), s.Config.SSOSecret, s.Now())
	if err != nil {
		return s.refuse(c, accounts.ProviderSSO, err)
	}
	u, err := s.Accounts.SSOSignIn(c.UserContext(), p)
	if err != nil {
		return s.refuse(c, accounts.ProviderSSO, err)
	}
	if err := s.startSession(c, u); err != nil {
		return err
	}
	return c.Redirect(next, http.StatusSeeOther)
}

// settingsData is /settings.
type settingsData struct {
	Identities  []identityRow
	Unlinked    []oauth.Button
	HasPassword bool
	Linked      string // the provider just linked, for the notice
	Error       string
	Saved       string // what was just saved (email, verify, reset), for the notice
	Email       *mailer.Preferences
	Staff       bool
	Watches     []*notify.Watched
	Digests     []string
	// Forms are the account forms by section (profile, password, address):
	// what was typed and the errors, after a refused submit.
	Forms    map[string]*form
	Profile  *models.User
	Sessions []sessionView
	Tokens   []tokenView
}

type identityRow struct {
	models.Identity
	Label     string
	CanUnlink bool
}

// settingsPage: GET /settings — the member's sign-in methods.
func (s *server) settingsPage(c *fiber.Ctx) error {
	return s.renderSettings(c, "")
}

func (s *server) renderSettings(c *fiber.Ctx, msg string) error {
	return s.renderSettingsPage(c, msg, nil)
}

// renderSettingsWith renders /settings with forms kept as typed.
func (s *server) renderSettingsWith(c *fiber.Ctx, forms map[string]*form) error {
	return s.renderSettingsPage(c, "", forms)
}

func (s *server) renderSettingsPage(c *fiber.Ctx, msg string, forms map[string]*form) error {
	u := currentUser(c)
	d, err := s.settingsOf(c.UserContext(), u)
	if err != nil {
		return err
	}
	if d.Sessions, err = s.sessionViews(c); err != nil {
		return err
	}
	if d.Tokens, err = s.tokenViews(c); err != nil {
		return err
	}
	d.Forms = map[string]*form{}
	for _, k := range []string{"profile", "username", "password", "address", "delete"} {
		d.Forms[k] = &form{Values: map[string]string{}}
		if f := forms[k]; f != nil {
			d.Forms[k] = f
		}
	}
	if forms["profile"] == nil {
		d.Forms["profile"].Values = map[string]string{"display_name": u.DisplayName, "bio": u.Bio, "avatar_color": u.AvatarColor}
	}
	d.Profile = u
	d.Linked, d.Error, d.Saved = s.oauth.Label(c.Query("linked")), msg, c.Query("saved")
	if c.Query("reset") != "" {
		d.Saved = "reset"
	}
	return s.render(c, "settings", "Settings", d)
}

func (s *server) settingsOf(ctx context.Context, u *models.User) (*settingsData, error) {
	ids, err := s.Accounts.Identities(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	d := &settingsData{HasPassword: u.PasswordHash != "", Staff: u.IsStaff(),
		Digests: []string{models.DigestNever, models.DigestDaily, models.DigestWeekly}}
	if d.Email, err = s.Mail.PreferencesOf(ctx, u); err != nil {
		return nil, err
	}
	if d.Watches, err = s.Notify.Watches(ctx, u); err != nil {
		return nil, err
	}
	linked := map[string]bool{}
	for _, id := range ids {
		label := s.oauth.Label(id.Provider)
		if id.Provider == accounts.ProviderSSO {
			label = "Single sign-on from the product"
		} else if label == "" {
			label = id.Provider + " (no longer offered)"
		}
		linked[id.Provider] = true
		d.Identities = append(d.Identities, identityRow{Identity: id, Label: label, CanUnlink: d.HasPassword || len(ids) > 1})
	}
	for _, b := range s.oauth.Buttons() {
		if !linked[b.Name] {
			d.Unlinked = append(d.Unlinked, b)
		}
	}
	return d, nil
}

// settingsUnlinkSubmit: POST /settings/identities/{id}/unlink.
func (s *server) settingsUnlinkSubmit(c *fiber.Ctx) error {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil || id <= 0 {
		return models.ErrNotFound
	}
	err = s.Accounts.Unlink(c.UserContext(), currentUser(c), id)
	var ce *models.ConflictError
	if errors.As(err, &ce) {
		c.Status(http.StatusConflict)
		return s.renderSettings(c, ce.Message)
	}
	if err != nil {
		return err
	}
	return c.Redirect("/settings", http.StatusSeeOther)
}
