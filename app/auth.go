package app

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/gofiber/fiber/v2"

	"agora/accounts"
	"agora/models"
)

// meUser is the caller's own account as the API shows it.
type meUser struct {
	*models.User
	Email string `json:"email"`
}

type registerRequest struct {
	Username     string `json:"username" form:"username"`
	Email        string `json:"email" form:"email"`
	Password     string `json:"password" form:"password"`
	AgeConfirmed bool   `json:"age_confirmed" form:"age_confirmed"`
}

func (r registerRequest) input() accounts.RegisterInput {
	return accounts.RegisterInput{Username: r.Username, Email: r.Email, Password: r.Password, AgeConfirmed: r.AgeConfirmed}
}

type loginRequest struct {
	Login    string `json:"login" form:"login"`
	Password string `json:"password" form:"password"`
}

// apiRegister: POST /api/v1/auth/register → 201 {user, token}.
func (s *server) apiRegister(c *fiber.Ctx) error {
	var req registerRequest
	if err := parseJSON(c, &req); err != nil {
		return err
	}
	u, err := s.register(c, req.input())
	if err != nil {
		return err
	}
	token, err := s.Accounts.IssueToken(c.UserContext(), u.ID, "registration")
	if err != nil {
		return err
	}
	return c.Status(http.StatusCreated).JSON(fiber.Map{"user": meUser{u, u.Email}, "token": token})
}

// apiLogin: POST /api/v1/auth/login → {user, token} and a session cookie.
func (s *server) apiLogin(c *fiber.Ctx) error {
	var req loginRequest
	if err := parseJSON(c, &req); err != nil {
		return err
	}
	if err := validateLogin(req); err != nil {
		return err
	}
	u, err := s.signIn(c, req)
	if err != nil {
		return err
	}
	token, err := s.Accounts.IssueToken(c.UserContext(), u.ID, "login")
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"user": meUser{u, u.Email}, "token": token})
}

// apiLogout: POST /api/v1/auth/logout → 204; the bearer token or the session stops working.
func (s *server) apiLogout(c *fiber.Ctx) error {
	if err := s.signOut(c); err != nil {
		return err
	}
	return c.SendStatus(http.StatusNoContent)
}

// apiMe: GET /api/v1/me → {user}.
func (s *server) apiMe(c *fiber.Ctx) error {
	u := currentUser(c)
	return c.JSON(fiber.Map{"user": meUser{u, u.Email}})
}

func validateLogin(req loginRequest) error {
	v := &models.ValidationError{}
	if strings.TrimSpace(req.Login) == "" {
		v.Add("login", "enter your username or email")
	}
	if req.Password == "" {
		v.Add("password", "enter your password")
	}
	return v.Err()
}

// signIn checks the credentials and starts a fresh session with its cookie.
// Failures back off per account and address (policy.LoginBackoff), on every
// node alike.
func (s *server) signIn(c *fiber.Ctx, req loginRequest) (*models.User, error) {
	ctx := c.UserContext()
	login, err := s.Accounts.FindLogin(ctx, req.Login)
	if err != nil {
		return nil, err
	}
	done, err := s.Limits.LoginAttempt(ctx, login.Key, c.IP())
	var rle *models.RateLimitError
	switch {
	case errors.As(err, &rle):
		return nil, err
	case err != nil: // closed: without the store, backoff can't be kept
		s.logStoreError(err)
		return nil, errLimitsUnavailable
	}
	u, err := s.Accounts.Authenticate(login, req.Password)
	if err == nil || errors.Is(err, accounts.ErrBadCredentials) {
		if derr := done(context.WithoutCancel(ctx), err == nil); derr != nil {
			s.logStoreError(derr) // the outcome stands; only the count is lost
		}
	}
	if err != nil {
		return nil, err
	}
	return u, s.startSession(c, u)
}

// startSession signs u in with a fresh session id (any the browser had is
// dropped first, so a planted id is never carried over) and sets its cookie.
// Every way of signing in goes through it.
func (s *server) startSession(c *fiber.Ctx, u *models.User) error {
	if old := c.Cookies(sessionCookie); old != "" {
		if err := s.Accounts.EndSession(c.UserContext(), old); err != nil {
			return err
		}
	}
	token, _, err := s.Accounts.StartSession(c.UserContext(), u.ID, c.IP(), c.Get(fiber.HeaderUserAgent))
	if err != nil {
		return err
	}
	s.setSessionCookie(c, token)
	return nil
}

// signOut ends whatever authenticated the request.
func (s *server) signOut(c *fiber.Ctx) error {
	if c.Locals(localBearer) != nil {
		token := strings.TrimSpace(strings.TrimPrefix(c.Get(fiber.HeaderAuthorization), "Bearer "))
		return s.Accounts.RevokeToken(c.UserContext(), token)
	}
	if token := c.Cookies(sessionCookie); token != "" {
		if err := s.Accounts.EndSession(c.UserContext(), token); err != nil {
			return err
		}
	}
	s.clearSessionCookie(c)
	return nil
}

// registerPage: GET /register.
func (s *server) registerPage(c *fiber.Ctx) error {
	if currentUser(c) != nil {
		return c.Redirect("/", http.StatusSeeOther)
	}
	return s.render(c, "register", "Create your account", form{})
}

// registerSubmit: POST /register. Errors re-show the form with what was typed (but the password).
func (s *server) registerSubmit(c *fiber.Ctx) error {
	req := registerRequest{
		Username: c.FormValue("username"), Email: c.FormValue("email"), Password: c.FormValue("password"),
		AgeConfirmed: c.FormValue("age_confirmed") != "",
	}
	u, err := s.register(c, req.input())
	if err != nil {
		f := form{Values: map[string]string{"username": req.Username, "email": req.Email}}
		if req.AgeConfirmed {
			f.Values["age_confirmed"] = "on"
		}
		return s.renderForm(c, "register", "Create your account", f, err)
	}
	if err := s.startSession(c, u); err != nil {
		return err
	}
	return c.Redirect("/", http.StatusSeeOther)
}

// loginPage: GET /login.
func (s *server) loginPage(c *fiber.Ctx) error {
	if currentUser(c) != nil {
		return c.Redirect(localPath(c.Query("next")), http.StatusSeeOther)
	}
	return s.render(c, "login", "Sign in", form{Values: map[string]string{"next": c.Query("next")}})
}

// loginSubmit: POST /login.
func (s *server) loginSubmit(c *fiber.Ctx) error {
	req := loginRequest{Login: c.FormValue("login"), Password: c.FormValue("password")}
	next := c.FormValue("next")
	f := form{Values: map[string]string{"login": req.Login, "next": next}}
	err := validateLogin(req)
	if err == nil {
		_, err = s.signIn(c, req)
	}
	if err != nil {
		return s.renderForm(c, "login", "Sign in", f, err)
	}
	return c.Redirect(localPath(next), http.StatusSeeOther)
}

// logoutSubmit: POST /logout.
func (s *server) logoutSubmit(c *fiber.Ctx) error {
	if err := s.signOut(c); err != nil {
		return err
	}
	return c.Redirect("/", http.StatusSeeOther)
}
