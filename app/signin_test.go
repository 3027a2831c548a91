package app_test

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/uptrace/bun"

	"agora/app"
	"agora/config"
	"agora/internal/oidctest"
	"agora/internal/testdb"
	"agora/models"
)

// oidcApp is the app with the company's OpenID Connect provider set to a
// real provider running inside the test.
func oidcApp(t *testing.T, db *bun.DB, change ...func(*app.Deps)) (*fiber.App, *oidctest.Server, *lockedBuffer) {
	t.Helper()
	idp := oidctest.New(t)
	logs := &lockedBuffer{}
	a := newApp(t, db, append([]func(*app.Deps){func(d *app.Deps) {
		d.Log = slog.New(slog.NewTextHandler(logs, nil))
		d.Config.OIDCDiscoveryURL = idp.DiscoveryURL()
		d.Config.OIDC = config.Client{ID: idp.ClientID, Secret: idp.ClientSecret}
		d.Config.OIDCName = "Acme ID"
	}}, change...)...)
	return a, idp, logs
}

// noRedirects is a client that shows each redirect instead of following it.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// oidcFlight starts a sign-in at start (GET /auth/oidc… or a settings
// form post), lets the provider answer, and returns the callback path with
// its query and the flight cookie the browser holds.
func oidcFlight(t *testing.T, a *fiber.App, start *http.Request) (string, *http.Cookie) {
	t.Helper()
	res, body := call(t, a, start)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("%s %s: status %d, want 303: %s", start.Method, start.URL.Path, res.StatusCode, body)
	}
	ck := cookieNamed(res, "agora_signin")
	if ck == nil || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/auth" || ck.MaxAge <= 0 || ck.MaxAge > 600 {
		t.Fatalf("flight cookie = %+v, want HttpOnly, SameSite=Lax, Path=/auth, at most 10 minutes", ck)
	}
	auth, err := url.Parse(res.Header.Get("Location"))
	if err != nil || auth.Query().Get("state") != ck.Value {
		t.Fatalf("authorize URL %q: want state = the cookie", res.Header.Get("Location"))
	}
	pres, err := noRedirects.Get(auth.String())
	if err != nil {
		t.Fatal(err)
	}
	pres.Body.Close()
	cb, err := url.Parse(pres.Header.Get("Location"))
	if err != nil || cb.Path != "/auth/oidc/callback" {
		t.Fatalf("provider answered %d to %q, want a redirect to the callback", pres.StatusCode, pres.Header.Get("Location"))
	}
	return cb.RequestURI(), ck
}

func getWith(path string, cookies ...*http.Cookie) *http.Request {
	return withCookies(httpGet(path), cookies...)
}

func httpGet(path string) *http.Request { return httptest.NewRequest(http.MethodGet, path, nil) }

// signUpThroughOIDC runs a first sign-in to the sign-up form and submits
// username; it returns the final response.
func signUpThroughOIDC(t *testing.T, a *fiber.App, next, username string) (*http.Response, string, *http.Cookie) {
	t.Helper()
	cb, ck := oidcFlight(t, a, httpGet("/auth/oidc?next="+url.QueryEscape(next)))
	res, body := getPage(t, a, cb, ck)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/auth/signup" {
		t.Fatalf("first callback: %d to %q, want 303 to /auth/signup: %s", res.StatusCode, res.Header.Get("Location"), body)
	}
	signup := cookieNamed(res, "agora_signup")
	if signup == nil || !signup.HttpOnly {
		t.Fatalf("sign-up cookie = %+v", signup)
	}
	res, body = getPage(t, a, "/auth/signup", signup)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /auth/signup: %d: %s", res.StatusCode, body)
	}
	csrf := cookieNamed(res, "agora_csrf")
	res, body = call(t, a, formReq("/auth/signup", map[string]string{"_csrf": csrfFromPage(t, body), "username": username,
		"age_confirmed": "on"}, signup, csrf))
	return res, body, signup
}

func meOf(t *testing.T, a *fiber.App, session *http.Cookie) string {
	t.Helper()
	res, body := getPage(t, a, "/api/v1/me", session)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/v1/me: %d: %s", res.StatusCode, body)
	}
	return decode(t, body)["user"].(map[string]any)["username"].(string)
}

func TestOIDCSignUpThenSignIn(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		a, _, _ := oidcApp(t, db)
		_, login := getPage(t, a, "/login")
		tpWantContains(t, login, `href="/auth/oidc"`, "Continue with Acme ID")

		res, body, _ := signUpThroughOIDC(t, a, "/search", "ana_lima")
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/search" {
			t.Fatalf("sign-up: %d to %q, want 303 to /search: %s", res.StatusCode, res.Header.Get("Location"), body)
		}
		first := cookieNamed(res, "agora_session")
		if got := meOf(t, a, first); got != "ana_lima" {
			t.Fatalf("signed in as %q, want ana_lima", got)
		}
		var id models.Identity
		if err := db.NewSelect().Model(&id).Where("provider = 'oidc'").Scan(context.Background()); err != nil || id.ProviderUserID != "1001" {
			t.Fatalf("identity %+v, %v; want oidc/1001", id, err)
		}

		// Later: straight in, with a new session id.
		cb, ck := oidcFlight(t, a, httpGet("/auth/oidc?next=/badges"))
		res, body = getPage(t, a, cb, ck)
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/badges" {
			t.Fatalf("second sign-in: %d to %q: %s", res.StatusCode, res.Header.Get("Location"), body)
		}
		second := cookieNamed(res, "agora_session")
		if second == nil || second.Value == first.Value {
			t.Fatal("the second sign-in kept the session id")
		}
		if got := meOf(t, a, second); got != "ana_lima" {
			t.Fatalf("second sign-in as %q", got)
		}
		if n := rowCount(t, db, "users"); n != 1 {
			t.Errorf("users = %d, want 1", n)
		}
	})
}

func TestOIDCRefusals(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		a, idp, logs := oidcApp(t, db)
		refused := func(t *testing.T, req *http.Request, status int, code string) {
			t.Helper()
			res, body := call(t, a, req)
			if res.StatusCode != status {
				t.Fatalf("status %d, want %d: %s", res.StatusCode, status, body)
			}
			if cookieNamed(res, "agora_session") != nil && cookieNamed(res, "agora_session").Value != "" {
				t.Error("a refused sign-in set a session")
			}
			if n := rowCount(t, db, "users") + rowCount(t, db, "identities"); n != 0 {
				t.Errorf("users + identities = %d after a refusal, want 0", n)
			}
			if !strings.Contains(logs.String(), "code="+code) {
				t.Errorf("the log has no warning with code=%s:\n%s", code, logs)
			}
			if q := req.URL.Query(); strings.Contains(logs.String(), q.Get("code")) || strings.Contains(logs.String(), idp.ClientSecret) {
				t.Error("the log shows the sign-in code or the client secret")
			}
		}
		t.Run("wrong state", func(t *testing.T) {
			cb, ck := oidcFlight(t, a, httpGet("/auth/oidc"))
			refused(t, getWith(strings.Replace(cb, "state=", "state=x", 1), ck), http.StatusForbidden, "oauth_state_mismatch")
		})
		t.Run("state of another browser", func(t *testing.T) {
			cb, _ := oidcFlight(t, a, httpGet("/auth/oidc"))
			_, other := oidcFlight(t, a, httpGet("/auth/oidc"))
			refused(t, getWith(cb, other), http.StatusForbidden, "oauth_state_mismatch")
		})
		t.Run("missing state cookie", func(t *testing.T) {
			cb, _ := oidcFlight(t, a, httpGet("/auth/oidc"))
			refused(t, getWith(cb), http.StatusBadRequest, "oauth_no_cookie")
		})
		// spend brings a callback back once, failing verification on purpose:
		// the flight ends and the provider's code is used, nobody signed in.
		spend := func(cb string, ck *http.Cookie) {
			idp.SignWithUnknownKey(true)
			defer idp.SignWithUnknownKey(false)
			getPage(t, a, cb, ck)
		}
		t.Run("used twice", func(t *testing.T) {
			cb, ck := oidcFlight(t, a, httpGet("/auth/oidc"))
			spend(cb, ck)
			refused(t, getWith(cb, ck), http.StatusForbidden, "oauth_state_unknown")
		})
		t.Run("denied consent", func(t *testing.T) {
			idp.Deny(true)
			defer idp.Deny(false)
			cb, ck := oidcFlight(t, a, httpGet("/auth/oidc"))
			res, body := getPage(t, a, cb, ck)
			if res.StatusCode != http.StatusForbidden || !strings.Contains(body, "did not allow") {
				t.Fatalf("denied: %d %s", res.StatusCode, body)
			}
		})
		t.Run("expired code", func(t *testing.T) {
			cb, ck := oidcFlight(t, a, httpGet("/auth/oidc"))
			idp.ExpireCodes()
			refused(t, getWith(cb, ck), http.StatusForbidden, "oauth_code_rejected")
		})
		t.Run("reused code", func(t *testing.T) {
			cb, ck := oidcFlight(t, a, httpGet("/auth/oidc"))
			spend(cb, ck)
			// A fresh flight in this browser, brought back with the spent code.
			cb2, ck2 := oidcFlight(t, a, httpGet("/auth/oidc"))
			u, _ := url.Parse(cb)
			u2, _ := url.Parse(cb2)
			q := u2.Query()
			q.Set("code", u.Query().Get("code"))
			refused(t, getWith(u2.Path+"?"+q.Encode(), ck2), http.StatusForbidden, "oauth_code_rejected")
		})
		t.Run("bad ID token signature", func(t *testing.T) {
			idp.SignWithUnknownKey(true)
			defer idp.SignWithUnknownKey(false)
			cb, ck := oidcFlight(t, a, httpGet("/auth/oidc"))
			res, body := getPage(t, a, cb, ck)
			if res.StatusCode != http.StatusForbidden || !strings.Contains(body, "could not be verified") {
				t.Fatalf("bad signature: %d %s", res.StatusCode, body)
			}
			if n := rowCount(t, db, "users"); n != 0 {
				t.Errorf("users = %d", n)
			}
		})
		t.Run("unknown provider", func(t *testing.T) {
			for _, p := range []string{"/auth/github", "/auth/nope", "/auth/github/callback?code=x&state=y"} {
				res, body := call(t, a, httpGet(p))
				if res.StatusCode != http.StatusNotFound || !strings.Contains(body, "no sign-in with") {
					t.Errorf("GET %s: %d, want 404 with a clear page: %s", p, res.StatusCode, body)
				}
			}
		})
	})
}

func TestOIDCTakenUsernameAndLinkByPassword(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		a, idp, _ := oidcApp(t, db)
		mustAPIRegister(t, a, "ana", "someone@example.com") // holds the provider's username
		res, body, signup := signUpThroughOIDC(t, a, "/", "ana")
		if res.StatusCode != http.StatusConflict || !strings.Contains(body, "that username is taken") || !strings.Contains(body, `value="ana"`) {
			t.Fatalf("taken username: %d, want 409 with the message and the form kept: %s", res.StatusCode, body)
		}
		if n := rowCount(t, db, "users"); n != 1 {
			t.Fatalf("users = %d after a taken username, want 1", n)
		}
		// The sign-up is still there: another name works.
		res, body = getPage(t, a, "/auth/signup", signup)
		csrf := cookieNamed(res, "agora_csrf")
		res, body = call(t, a, formReq("/auth/signup", map[string]string{"_csrf": csrfFromPage(t, body), "username": "ana2",
			"age_confirmed": "on"}, signup, csrf))
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("second try: %d %s", res.StatusCode, body)
		}

		// A provider-verified email of a member with a password: never signed in by
		// email alone, only offered to link after the password.
		mustAPIRegister(t, a, "bea", "bea@example.com")
		idp.SetUser(oidctest.User{Subject: "2002", Email: "bea@example.com", EmailVerified: true, Name: "Bea", PreferredUsername: "bea"})
		cb, ck := oidcFlight(t, a, httpGet("/auth/oidc"))
		res, body = getPage(t, a, cb, ck)
		if res.Header.Get("Location") != "/auth/signup" || cookieNamed(res, "agora_session") != nil {
			t.Fatalf("a matching email signed in directly: %d %q", res.StatusCode, res.Header.Get("Location"))
		}
		signup = cookieNamed(res, "agora_signup")
		res, body = getPage(t, a, "/auth/signup", signup)
		tpWantContains(t, body, "Already a member?", "<strong>bea</strong>", `action="/auth/signup/link"`)
		csrf = cookieNamed(res, "agora_csrf")
		tok := csrfFromPage(t, body)
		res, body = call(t, a, formReq("/auth/signup/link", map[string]string{"_csrf": tok, "password": "wrong password!"}, signup, csrf))
		if res.StatusCode != http.StatusUnauthorized || rowCount(t, db, "identities") != 1 {
			t.Fatalf("wrong password: %d, identities %d: %s", res.StatusCode, rowCount(t, db, "identities"), body)
		}
		res, body = call(t, a, formReq("/auth/signup/link", map[string]string{"_csrf": tok, "password": memberPassword}, signup, csrf))
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("link: %d %s", res.StatusCode, body)
		}
		if got := meOf(t, a, cookieNamed(res, "agora_session")); got != "bea" {
			t.Fatalf("linked sign-in as %q, want bea", got)
		}

		// An unverified email offers nothing.
		idp.SetUser(oidctest.User{Subject: "3003", Email: "bea@example.com", EmailVerified: false, PreferredUsername: "b"})
		cb, ck = oidcFlight(t, a, httpGet("/auth/oidc"))
		res, _ = getPage(t, a, cb, ck)
		_, body = getPage(t, a, "/auth/signup", cookieNamed(res, "agora_signup"))
		if strings.Contains(body, "Already a member?") {
			t.Error("an unverified email offered to link an existing member")
		}
	})
}

func TestSettingsLinkAndUnlink(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		a, idp, _ := oidcApp(t, db)
		mustAPIRegister(t, a, "carla", "carla@example.com")
		session, _ := mustAPILogin(t, a, "carla")
		res, body := getPage(t, a, "/settings", session)
		tpWantContains(t, body, "Ways to sign in", "Link Acme ID")
		tok := csrfFromPage(t, body)

		idp.SetUser(oidctest.User{Subject: "4004", Email: "carla@corp.example", PreferredUsername: "carla"})
		cb, ck := oidcFlight(t, a, formReq("/settings/identities/oidc", map[string]string{"_csrf": tok}, session))
		res, body = getPage(t, a, cb, ck, session)
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/settings?linked=oidc" {
			t.Fatalf("link: %d %q %s", res.StatusCode, res.Header.Get("Location"), body)
		}
		_, body = getPage(t, a, "/settings?linked=oidc", session)
		tpWantContains(t, body, "Acme ID is linked", "carla@corp.example", "Unlink")

		// A link started by carla that comes back in another member's session is refused.
		mustAPIRegister(t, a, "erik", "erik@example.com")
		erik, _ := mustAPILogin(t, a, "erik")
		idp.SetUser(oidctest.User{Subject: "6006", PreferredUsername: "x6006"})
		cb, ck = oidcFlight(t, a, formReq("/settings/identities/oidc", map[string]string{"_csrf": tok}, session))
		res, body = getPage(t, a, cb, ck, erik)
		if res.StatusCode != http.StatusForbidden || !strings.Contains(body, "Sign in as the member who started linking") ||
			rowCount(t, db, "identities") != 1 {
			t.Fatalf("link in another session: %d, identities %d: %s", res.StatusCode, rowCount(t, db, "identities"), body)
		}

		// Carla unlinks it again; she still has her password.
		var id models.Identity
		if err := db.NewSelect().Model(&id).Scan(context.Background()); err != nil {
			t.Fatal(err)
		}
		res, _ = call(t, a, formReq("/settings/identities/"+strconv.FormatInt(id.ID, 10)+"/unlink", map[string]string{"_csrf": tok}, session))
		if res.StatusCode != http.StatusSeeOther || rowCount(t, db, "identities") != 0 {
			t.Fatalf("unlink: %d, identities %d", res.StatusCode, rowCount(t, db, "identities"))
		}

		// A member who has only the provider cannot unlink it.
		idp.SetUser(oidctest.User{Subject: "5005", PreferredUsername: "dana"})
		res, _, _ = signUpThroughOIDC(t, a, "/", "dana")
		dana := cookieNamed(res, "agora_session")
		res, body = getPage(t, a, "/settings", dana)
		tpWantContains(t, body, "your only way to sign in")
		if err := db.NewSelect().Model(&id).Where("provider_user_id = '5005'").Scan(context.Background()); err != nil {
			t.Fatal(err)
		}
		res, body = call(t, a, formReq("/settings/identities/"+strconv.FormatInt(id.ID, 10)+"/unlink", map[string]string{"_csrf": csrfFromPage(t, body)}, dana))
		if res.StatusCode != http.StatusConflict || !strings.Contains(body, "only way to sign in") || rowCount(t, db, "identities") != 1 {
			t.Fatalf("last method: %d, identities %d: %s", res.StatusCode, rowCount(t, db, "identities"), body)
		}
	})
}

// TestProvidersByConfigurationAlone: each provider's pair of variables turns
// its button on and sends the browser to its authorize URL with our state and
// the callback under AGORA_BASE_URL; the others stay off.
func TestProvidersByConfigurationAlone(t *testing.T) {
	env := map[string]string{"AGORA_BASE_URL": "https://community.example.com",
		"AGORA_OAUTH_GITHUB_CLIENT_ID": "gh-id", "AGORA_OAUTH_GITHUB_CLIENT_SECRET": "gh-secret",
		"AGORA_OAUTH_GOOGLE_CLIENT_ID": "g-id", "AGORA_OAUTH_GOOGLE_CLIENT_SECRET": "g-secret",
		"AGORA_OAUTH_MICROSOFT_CLIENT_ID": "m-id", "AGORA_OAUTH_MICROSOFT_CLIENT_SECRET": "m-secret",
		"AGORA_OAUTH_GITLAB_CLIENT_ID": "gl-id", "AGORA_OAUTH_GITLAB_CLIENT_SECRET": "gl-secret"}
	cfg, _, err := config.Load(nil, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	a := newApp(t, testdb.Open(t, "sqlite"), func(d *app.Deps) { d.Config = cfg })
	_, login := getPage(t, a, "/login")
	_, register := getPage(t, a, "/register")
	for _, p := range []struct{ name, label, host, client string }{
		{"github", "GitHub", "github.com", "gh-id"},
		{"google", "Google", "accounts.google.com", "g-id"},
		{"microsoft", "Microsoft", "login.microsoftonline.com", "m-id"},
		{"gitlab", "GitLab", "gitlab.com", "gl-id"},
	} {
		tpWantContains(t, login, "Continue with "+p.label)
		tpWantContains(t, register, "Continue with "+p.label)
		res, _ := call(t, a, httpGet("/auth/"+p.name))
		loc, err := url.Parse(res.Header.Get("Location"))
		ck := cookieNamed(res, "agora_signin")
		if res.StatusCode != http.StatusSeeOther || err != nil || loc.Host != p.host || ck == nil || !ck.Secure {
			t.Errorf("%s: %d to %q, cookie %+v; want 303 to %s and a Secure cookie", p.name, res.StatusCode, loc, ck, p.host)
			continue
		}
		q := loc.Query()
		if q.Get("state") != ck.Value || q.Get("client_id") != p.client ||
			q.Get("redirect_uri") != "https://community.example.com/auth/"+p.name+"/callback" {
			t.Errorf("%s authorize query %v: want our state, client id and callback", p.name, q)
		}
	}
	if strings.Contains(login, "/auth/oidc") {
		t.Error("the unconfigured OpenID Connect provider has a button")
	}
	_, plain := getPage(t, newApp(t, testdb.Open(t, "sqlite")), "/login")
	if strings.Contains(plain, "Continue with") {
		t.Error("a forum without providers shows sign-in buttons")
	}
}

// TestOIDCProviderDown: an identity provider that does not answer is a 502
// page on the way out, and the forum keeps serving everything else.
func TestOIDCProviderDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String() + "/.well-known/openid-configuration"
	ln.Close() // nothing listens there any more
	a := newApp(t, testdb.Open(t, "sqlite"), func(d *app.Deps) {
		d.Config.OIDCDiscoveryURL = dead
		d.Config.OIDC = config.Client{ID: "id", Secret: "secret"}
	})
	res, body := call(t, a, httpGet("/auth/oidc"))
	if res.StatusCode != http.StatusBadGateway || !strings.Contains(body, "did not answer") {
		t.Fatalf("provider down: %d, want 502 with a clear page: %s", res.StatusCode, body)
	}
	if res, _ := call(t, a, httpGet("/login")); res.StatusCode != http.StatusOK {
		t.Errorf("/login: %d while the provider is down", res.StatusCode)
	}
}
