package app

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"runtime/debug"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/helmet"
	recoverer "github.com/gofiber/fiber/v2/middleware/recover"

	"agora/accounts"
	"agora/models"
	"agora/policy"
)

const (
	sessionCookie  = "agora_session"
	anonCSRFCookie = "agora_csrf"
	csrfHeader     = "X-CSRF-Token"
	csrfField      = "_csrf"
)

// Locals keys.
const (
	localUser    = "user"
	localSession = "session"
	localBearer  = "bearer"
	localAuthErr = "auth_error"
)

// logRequests writes one structured line per request. The query string is
// left out because it can carry secrets (the setup token).
func (s *server) logRequests(c *fiber.Ctx) error {
	if !s.Log.Enabled(context.Background(), slog.LevelInfo) {
		return c.Next() // AGORA_LOG_LEVEL=warn or error: no request lines to build
	}
	start := time.Now()
	err := c.Next()
	status := c.Response().StatusCode()
	if err != nil {
		status, _ = classify(err)
	}
	// LogAttrs: the same record as Info, without boxing each value.
	s.Log.LogAttrs(context.Background(), slog.LevelInfo, "request", slog.String("method", c.Method()),
		slog.String("path", logPath(c)), slog.Int("status", status),
		slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000), slog.String("ip", c.IP()))
	return err
}

// recoverPanics turns a handler's panic into a 500 answered with the error
// page and logged with its stack, instead of the end of the process: every
// client input is meant to get a 4xx, and one missed case must not take the
// node down with every request in flight.
func (s *server) recoverPanics() fiber.Handler {
	return recoverer.New(recoverer.Config{EnableStackTrace: true, StackTraceHandler: func(c *fiber.Ctx, e any) {
		s.Log.Error("panic", "method", c.Method(), "path", logPath(c), "panic", fmt.Sprint(e), "stack", string(debug.Stack()))
	}})
}

// logPath is the request path for the log: an unsubscribe link's token,
// which never expires, is left out.
func logPath(c *fiber.Ctx) string {
	p := c.Path()
	if strings.HasPrefix(p, unsubscribePath) {
		return unsubscribePath + "…"
	}
	return p
}

// securityHeaders sets a strict CSP (no inline script, no third-party
// origins but the allowed video embeds) and HSTS when served over https.
func (s *server) securityHeaders() fiber.Handler {
	cfg := helmet.Config{
		ContentSecurityPolicy: "default-src 'self'; script-src 'self'; style-src 'self'; style-src-attr 'unsafe-inline'; img-src 'self' https: data:; " +
			"frame-src https://www.youtube.com https://www.youtube-nocookie.com https://player.vimeo.com; " +
			"object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
		ReferrerPolicy:            "strict-origin-when-cross-origin",
		CrossOriginEmbedderPolicy: "unsafe-none",
		CSPReportOnly:             s.CSPReportOnly,
	}
	if s.Config.SecureCookies() {
		cfg.HSTSMaxAge = 63072000
	}
	return helmet.New(cfg)
}

// jsonNUL finds an escaped NUL (\u0000) in JSON that is not itself an
// escaped backslash followed by "u0000".
var jsonNUL = regexp.MustCompile(`(?:^|[^\\])(?:\\\\)*\\u0000`)

// refuseBadText rejects, at the edge, text no legitimate client sends: NUL
// characters (PostgreSQL text cannot hold them) and bytes that are not
// UTF-8 in a JSON body, a form value or the query string (the JSON decoder
// would silently replace them, changing what was sent, and PostgreSQL
// refuses them in a query). It looks at decoded values, so text that merely
// mentions "%00" passes.
func refuseBadText(c *fiber.Ctx) error {
	body := c.Body()
	bad := bytes.IndexByte(body, 0) >= 0
	if !bad && strings.HasPrefix(c.Get(fiber.HeaderContentType), fiber.MIMEApplicationJSON) {
		if !utf8.Valid(body) {
			return errBadJSON // JSON is UTF-8 (RFC 8259)
		}
		bad = jsonNUL.Match(body)
	}
	check := func(k, v []byte) {
		bad = bad || bytes.IndexByte(k, 0) >= 0 || bytes.IndexByte(v, 0) >= 0 || !utf8.Valid(k) || !utf8.Valid(v)
	}
	c.Context().QueryArgs().VisitAll(check)
	if strings.HasPrefix(c.Get(fiber.HeaderContentType), fiber.MIMEApplicationForm) {
		c.Context().PostArgs().VisitAll(check)
	}
	if bad {
		return fiber.NewError(http.StatusBadRequest, "NUL characters and text that is not UTF-8 are not allowed")
	}
	return c.Next()
}

// authenticate resolves the bearer token or the session cookie to a user.
// A bad bearer token is remembered and refused by refuseBadAuth, after the
// rate limiter has counted the attempt; a stale cookie is simply cleared.
func (s *server) authenticate(c *fiber.Ctx) error {
	ctx := c.UserContext()
	if h := c.Get(fiber.HeaderAuthorization); h != "" {
		token, ok := strings.CutPrefix(h, "Bearer ")
		if !ok {
			c.Locals(localAuthErr, models.ErrUnauthenticated)
			return c.Next()
		}
		u, err := s.Accounts.TokenUser(ctx, strings.TrimSpace(token))
		if models.IsNotFound(err) {
			c.Locals(localAuthErr, models.ErrUnauthenticated)
			return c.Next()
		}
		if err != nil {
			return err
		}
		c.Locals(localUser, u)
		c.Locals(localBearer, true)
		s.Views.Visit(u.ID)
		return c.Next()
	}
	if token := c.Cookies(sessionCookie); token != "" {
		u, sess, err := s.Accounts.SessionUser(ctx, token)
		switch {
		case models.IsNotFound(err):
			s.clearSessionCookie(c)
		case err != nil:
			return err
		default:
			c.Locals(localUser, u)
			c.Locals(localSession, sess)
			s.Views.Visit(u.ID)
		}
	}
	return c.Next()
}

// refuseBadAuth answers 401 for a request whose bearer token was bad.
func refuseBadAuth(c *fiber.Ctx) error {
	if err, ok := c.Locals(localAuthErr).(error); ok {
		return err
	}
	return c.Next()
}

// currentUser returns the signed-in user or nil.
func currentUser(c *fiber.Ctx) *models.User {
	u, _ := c.Locals(localUser).(*models.User)
	return u
}

func currentSession(c *fiber.Ctx) *models.Session {
	s, _ := c.Locals(localSession).(*models.Session)
	return s
}

// requireUser refuses anonymous callers: 401 in the API, the sign-in page otherwise.
func requireUser(c *fiber.Ctx) error {
	if currentUser(c) != nil {
		return c.Next()
	}
	if isAPI(c) {
		return models.ErrUnauthenticated
	}
	return c.Redirect("/login?next="+url.QueryEscape(c.OriginalURL()), http.StatusSeeOther)
}

// requireStaff lets only moderators and admins through (policy.Staff).
func requireStaff(c *fiber.Ctx) error { return requireRule(c, policy.Staff) }

// requireAdmin lets only admins through (policy.Admin).
func requireAdmin(c *fiber.Ctx) error { return requireRule(c, policy.Admin) }

// requireRule sends anonymous callers to sign in (requireUser) and refuses
// the members rule refuses with its reason.
func requireRule(c *fiber.Ctx, rule func(*models.User) error) error {
	u := currentUser(c)
	if u == nil {
		return requireUser(c)
	}
	if err := rule(u); err != nil {
		return err
	}
	return c.Next()
}

// viewerKey identifies a reader for view counting: the member, or a hash of
// the address so raw IPs are never stored. A request that asks not to be
// tracked (DNT, Sec-GPC) is counted under a random key: one view, no
// identifier.
func viewerKey(c *fiber.Ctx) string {
	if c.Get("DNT") == "1" || c.Get("Sec-GPC") == "1" {
		return "n" + accounts.NewToken()[:16]
	}
	if u := currentUser(c); u != nil {
		return "u" + strconv.FormatInt(u.ID, 10)
	}
	sum := sha256.Sum256([]byte(c.IP()))
	return "a" + hex.EncodeToString(sum[:8])
}

// csrfToken returns the token forms must echo: the session's when signed in,
// otherwise a random value kept in an HttpOnly cookie (double submit), set here if missing.
func (s *server) csrfToken(c *fiber.Ctx) string {
	if sess := currentSession(c); sess != nil {
		return sess.CSRFToken
	}
	if t := existingAnonCSRF(c); t != "" {
		return t
	}
	t := accounts.NewToken()
	c.Cookie(s.cookie(anonCSRFCookie, t, 0))
	c.Request().Header.SetCookie(anonCSRFCookie, t) // later calls in this request see it
	return t
}

// existingAnonCSRF is the guest's CSRF token from the cookie, or empty.
func existingAnonCSRF(c *fiber.Ctx) string {
	if t := c.Cookies(anonCSRFCookie); len(t) == 43 {
		return t
	}
	return ""
}

// checkCSRF guards every unsafe request that a browser could forge. Bearer
// requests carry no ambient credentials; anonymous API calls carry none
// either, and the API's sign-in routes take only JSON, which cannot be sent
// cross-site without a CORS preflight that Agora never grants.
func (s *server) checkCSRF(c *fiber.Ctx) error {
	switch c.Method() {
	case fiber.MethodGet, fiber.MethodHead, fiber.MethodOptions:
		return c.Next()
	}
	if c.Locals(localBearer) != nil {
		return c.Next()
	}
	if strings.HasPrefix(c.Path(), unsubscribePath) {
		// The signed token in the URL is the credential, and mail providers
		// POST to it cross-site by design (RFC 8058 one-click); it can only
		// ever turn mail off.
		return c.Next()
	}
	sess := currentSession(c)
	if sess == nil && isAPI(c) {
		return c.Next() // no ambient credential; sign-in takes only JSON, which needs a preflight cross-site
	}
	if site := c.Get("Sec-Fetch-Site"); site == "cross-site" {
		return errBadCSRF
	}
	want := c.Cookies(anonCSRFCookie)
	if sess != nil {
		want = sess.CSRFToken
	}
	got := c.Get(csrfHeader)
	if got == "" {
		got = c.FormValue(csrfField)
	}
	if want == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		return errBadCSRF
	}
	return c.Next()
}

// cookie builds an HttpOnly, SameSite=Lax cookie, Secure when served over https.
// maxAge 0 makes a browser-session cookie.
func (s *server) cookie(name, value string, maxAge time.Duration) *fiber.Cookie {
	ck := &fiber.Cookie{Name: name, Value: value, Path: "/", HTTPOnly: true, SameSite: fiber.CookieSameSiteLaxMode,
		Secure: s.Config.SecureCookies()}
	if maxAge > 0 {
		ck.MaxAge = int(maxAge.Seconds())
		ck.Expires = s.Now().Add(maxAge)
	}
	return ck
}

func (s *server) setSessionCookie(c *fiber.Ctx, token string) {
	c.Cookie(s.cookie(sessionCookie, token, accounts.SessionTTL))
}

func (s *server) clearSessionCookie(c *fiber.Ctx) {
	ck := s.cookie(sessionCookie, "", 0)
	ck.MaxAge = -1
	ck.Expires = time.Unix(0, 0)
	c.Cookie(ck)
}

// parseJSON decodes the body into v, mapping malformed JSON to a 400.
func parseJSON(c *fiber.Ctx, v any) error {
	if !strings.HasPrefix(c.Get(fiber.HeaderContentType), fiber.MIMEApplicationJSON) {
		return fiber.NewError(http.StatusUnsupportedMediaType, "send the body as application/json")
	}
	if err := c.BodyParser(v); err != nil {
		return errors.Join(errBadJSON, err)
	}
	return nil
}

// idAndJSON reads the route's {id} and the JSON body: how every write on
// one object starts.
func idAndJSON[T any](c *fiber.Ctx) (int64, T, error) {
	var req T
	id, err := idParam(c, "id")
	if err == nil {
		err = parseJSON(c, &req)
	}
	return id, req, err
}
