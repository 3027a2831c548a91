// Package oauth signs members in with accounts they already have: GitHub,
// Google, Microsoft and GitLab over OAuth 2, and a company's own identity
// provider over OpenID Connect, through github.com/markbates/goth. It uses
// goth's providers, not its gothic helpers: the state lives in our own
// store (accounts.BeginFlight), bound to the browser by our own cookie.
//
// goth's OpenID Connect provider reads the ID token without checking its
// signature, so the token is verified here with github.com/coreos/go-oidc
// against the provider's published keys before anything in it is trusted.
package oauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/markbates/goth"
	"github.com/markbates/goth/providers/github"
	"github.com/markbates/goth/providers/gitlab"
	"github.com/markbates/goth/providers/google"
	"github.com/markbates/goth/providers/microsoftonline"
	"github.com/markbates/goth/providers/openidConnect"

	"agora/accounts"
)

// OIDC is the provider name of the company's own identity provider.
const OIDC = "oidc"

// Client is one provider's registration with us.
type Client struct {
	ID, Secret string
}

// Config says which providers are on. A provider is on when its client is set.
type Config struct {
	BaseURL                           string // callbacks are BaseURL/auth/{provider}/callback
	GitHub, Google, Microsoft, GitLab Client
	OIDCDiscoveryURL                  string
	OIDC                              Client
	OIDCLabel                         string // the button's name for the company's provider; default "your company account"
	HTTPClient                        *http.Client
}

// ErrProvider is a provider that failed to answer (down, or an answer we
// cannot read): nothing the member did, so a retry may work.
var ErrProvider = errors.New("the sign-in provider did not answer as expected; try again in a moment")

// Button is a configured provider as the sign-in page shows it.
type Button struct {
	Name, Label string
}

// Providers are the configured providers.
type Providers struct {
	cfg     Config
	plain   map[string]goth.Provider
	buttons []Button

	mu       sync.Mutex // guards the OpenID Connect provider, built on first use
	oidc     *openidConnect.Provider
	verifier *oidc.IDTokenVerifier
}

var labels = map[string]string{"github": "GitHub", "google": "Google", "microsoft": "Microsoft", "gitlab": "GitLab"}

// New returns the configured providers. The OpenID Connect provider is
// discovered on first use, so an identity provider that is down does not
// stop the forum from starting.
func New(cfg Config) *Providers {
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	p := &Providers{cfg: cfg, plain: map[string]goth.Provider{}}
	cb := func(name string) string { return strings.TrimRight(cfg.BaseURL, "/") + "/auth/" + name + "/callback" }
	if c := cfg.GitHub; c.ID != "" {
		gh := github.New(c.ID, c.Secret, cb("github"), "read:user", "user:email")
		gh.HTTPClient = cfg.HTTPClient
		p.plain["github"] = gh
	}
	if c := cfg.Google; c.ID != "" {
		g := google.New(c.ID, c.Secret, cb("google"), "openid", "email", "profile")
		g.HTTPClient = cfg.HTTPClient
		p.plain["google"] = g
	}
	if c := cfg.Microsoft; c.ID != "" {
		m := microsoftonline.New(c.ID, c.Secret, cb("microsoft"))
		m.HTTPClient = cfg.HTTPClient
		m.SetName("microsoft")
		p.plain["microsoft"] = m
	}
	if c := cfg.GitLab; c.ID != "" {
		g := gitlab.New(c.ID, c.Secret, cb("gitlab"), "read_user")
		g.HTTPClient = cfg.HTTPClient
		p.plain["gitlab"] = g
	}
	for name := range p.plain {
		p.buttons = append(p.buttons, Button{Name: name, Label: labels[name]})
	}
	sort.Slice(p.buttons, func(i, j int) bool { return p.buttons[i].Label < p.buttons[j].Label })
	if cfg.OIDCDiscoveryURL != "" {
		label := cfg.OIDCLabel
		if label == "" {
			label = "your company account"
		}
		p.buttons = append(p.buttons, Button{Name: OIDC, Label: label})
	}
	return p
}

// Buttons are the configured providers, for the sign-in and settings pages.
func (p *Providers) Buttons() []Button { return p.buttons }

// Label is the name a provider is shown by, or "" when it is not configured.
func (p *Providers) Label(name string) string {
	for _, b := range p.buttons {
		if b.Name == name {
			return b.Label
		}
	}
	return ""
}

// provider returns the configured goth provider, or "not configured".
func (p *Providers) provider(ctx context.Context, name string) (goth.Provider, error) {
	if gp, ok := p.plain[name]; ok {
		return gp, nil
	}
	if name != OIDC || p.cfg.OIDCDiscoveryURL == "" {
		return nil, fmt.Errorf("provider %q is not configured", name)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.oidc != nil {
		return p.oidc, nil
	}
	op, err := openidConnect.NewNamed(OIDC, p.cfg.OIDC.ID, p.cfg.OIDC.Secret,
		strings.TrimRight(p.cfg.BaseURL, "/")+"/auth/oidc/callback", p.cfg.OIDCDiscoveryURL, "openid", "email", "profile")
	if err != nil {
		return nil, fmt.Errorf("%w (discovery: %v)", ErrProvider, err)
	}
	op.HTTPClient = p.cfg.HTTPClient
	kp, err := oidc.NewProvider(oidc.ClientContext(ctx, p.cfg.HTTPClient), op.OpenIDConfig.Issuer)
	if err != nil {
		return nil, fmt.Errorf("%w (keys: %v)", ErrProvider, err)
	}
	p.oidc, p.verifier = op, kp.Verifier(&oidc.Config{ClientID: p.cfg.OIDC.ID})
	return op, nil
}

// Begin starts a sign-in with provider name: it returns the provider's
// authorize URL carrying state, and the session data to keep until the
// callback. Errors: ErrProvider; an unconfigured name is an error too (the
// caller checks Label first).
func (p *Providers) Begin(ctx context.Context, name, state string) (authURL, data string, err error) {
	gp, err := p.provider(ctx, name)
	if err != nil {
		return "", "", err
	}
	sess, err := gp.BeginAuth(state)
	if err != nil {
		return "", "", fmt.Errorf("%w (%v)", ErrProvider, err)
	}
	authURL, err = sess.GetAuthURL()
	if err != nil {
		return "", "", fmt.Errorf("%w (%v)", ErrProvider, err)
	}
	return authURL, sess.Marshal(), nil
}

// Complete finishes a sign-in from the provider's callback query with the
// session data Begin returned, and says who signed in. Errors:
// *accounts.Refused (consent denied, a code the provider rejects, an ID
// token that fails verification), ErrProvider.
func (p *Providers) Complete(ctx context.Context, name, data string, query url.Values) (accounts.External, error) {
	var ext accounts.External
	if e := query.Get("error"); e != "" {
		if e == "access_denied" {
			return ext, &accounts.Refused{Code: "oauth_denied", Untrusted: true,
				Message: "You did not allow the forum to use your " + p.Label(name) + " account, so you are not signed in."}
		}
		return ext, &accounts.Refused{Code: "oauth_error", Untrusted: true, Message: "The provider refused the sign-in; try again."}
	}
	if query.Get("code") == "" {
		return ext, &accounts.Refused{Code: "oauth_no_code", Message: "The provider's answer has no sign-in code; start again."}
	}
	gp, err := p.provider(ctx, name)
	if err != nil {
		return ext, err
	}
	sess, err := gp.UnmarshalSession(data)
	if err != nil {
		return ext, fmt.Errorf("read provider session: %w", err)
	}
	if _, err := sess.Authorize(gp, query); err != nil {
		return ext, &accounts.Refused{Code: "oauth_code_rejected", Untrusted: true,
			Message: "The provider did not accept the sign-in code (it expired or was used already); start again."}
	}
	var verified map[string]any
	if os, ok := sess.(*openidConnect.Session); ok {
		if verified, err = p.verify(ctx, os.IDToken); err != nil {
			return ext, err
		}
	}
	u, err := gp.FetchUser(sess)
	if err != nil {
		return ext, fmt.Errorf("%w (user: %v)", ErrProvider, err)
	}
	ext = accounts.External{Provider: name, Subject: u.UserID, Email: u.Email, Username: u.NickName, Name: u.Name}
	claims := u.RawData
	if verified != nil {
		// Only what the verified ID token says counts for the identity.
		claims = verified
		ext.Subject, _ = verified["sub"].(string)
		if e, ok := verified["email"].(string); ok {
			ext.Email = e
		}
	}
	ext.EmailVerified = claims["email_verified"] == true || claims["email_verified"] == "true"
	if ext.Subject == "" {
		return ext, fmt.Errorf("%w (no user id)", ErrProvider)
	}
	return ext, nil
}

// verify checks the ID token's signature, issuer, audience and expiry and returns its claims.
func (p *Providers) verify(ctx context.Context, raw string) (map[string]any, error) {
	bad := &accounts.Refused{Code: "oauth_bad_id_token", Untrusted: true,
		Message: "The identity provider's answer could not be verified, so you are not signed in."}
	if raw == "" {
		return nil, bad
	}
	p.mu.Lock()
	v := p.verifier
	p.mu.Unlock()
	tok, err := v.Verify(oidc.ClientContext(ctx, p.cfg.HTTPClient), raw)
	if err != nil {
		return nil, bad
	}
	claims := map[string]any{}
	if err := tok.Claims(&claims); err != nil {
		return nil, bad
	}
	return claims, nil
}
