// Package app is the HTTP face of Agora: a Fiber app serving the
// server-rendered pages and the JSON API of docs/api.md over the domain
// services. It is given services, never the database: every rule lives in
// the domain packages (policy/ says who may do what), and a page and its
// JSON route call the same operation. Files are cut by feature, each
// holding the page and the API of its feature.
package app

import (
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/template/html/v2"

	"agora/assets"
	"agora/config"
	"agora/models"
	"agora/oauth"
	"agora/pagecache"
	"agora/policy"
	"agora/services"
	"agora/templates"
)

// Deps is everything the app needs, passed in explicitly.
type Deps struct {
	services.Set // the domain services
	Config       config.Config
	Log          *slog.Logger
	Now          func() time.Time // nil: time.Now
	// SetupToken unlocks /setup while no admin exists; empty disables the page.
	SetupToken string
	// AuthRateLimit is sign-in and registration attempts per minute per IP
	// (0: policy.SignInPerAddress).
	AuthRateLimit int
	// CSPReportOnly sends the Content-Security-Policy as
	// Content-Security-Policy-Report-Only, so the browser reports what the
	// policy would block but runs it. Only the XSS suite sets it, to test the
	// sanitizer alone; the binary never does.
	CSPReportOnly bool
}

// server carries the dependencies into the handlers.
type server struct {
	Deps
	assets    *assets.Assets
	pageCache *pagecache.Cache // see cache.go
	markers   markers          // stand-ins in pages cached for members (cache.go)

	// pages are the parsed page templates by name, executed directly by
	// render: the engine's Render locks its mutex and rewrites the shared
	// func map on every call.
	pages map[string]*template.Template
	// flagReasons is partials/flag_reasons (see flagChoices).
	flagReasons *template.Template
	// assetURLs are the header's asset links, fixed at start.
	assetURLs assetLinks
	// oauth are the configured sign-in providers (signin.go).
	oauth *oauth.Providers
	// storeErrorLogged is when logStoreError last wrote (unix ns).
	storeErrorLogged atomic.Int64
}

// New builds the Fiber app. It fails when a template or asset cannot be loaded.
func New(d Deps) (*fiber.App, error) {
	s, engine, err := newServer(d)
	if err != nil {
		return nil, err
	}
	app := fiber.New(fiber.Config{
		AppName:      "agora",
		Views:        engine,
		ErrorHandler: s.handleError,
		BodyLimit:    1 << 20,
		ReadTimeout:  30 * time.Second,
		WriteTimeout: 30 * time.Second,
		IdleTimeout:  120 * time.Second,
		// No route takes uploads: a multipart body is parsed only when a
		// form handler reads it, so a broken one meets the route's own
		// answer (415 in the API, the form's errors on a page) instead of
		// fasthttp's bare 400 before routing.
		DisablePreParseMultipartForm: true,
		DisableStartupMessage:        true,
		EnableTrustedProxyCheck:      true,
		TrustedProxies:               d.Config.TrustedProxies,
		ProxyHeader:                  proxyHeader(d.Config.TrustedProxies),
	})
	s.routes(app)
	return app, nil
}

// newServer loads the assets and templates and prepares what the handlers
// share. It fails when a template or asset cannot be loaded.
func newServer(d Deps) (*server, *html.Engine, error) {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Log == nil {
		d.Log = slog.Default()
	}
	if d.AuthRateLimit == 0 {
		d.AuthRateLimit = policy.SignInPerAddress.Max
	}
	if d.Forum == nil || d.Moderation == nil || d.Accounts == nil || d.Site == nil || d.Notify == nil ||
		d.Badges == nil || d.Search == nil || d.Views == nil || d.Limits == nil {
		return nil, nil, fmt.Errorf("app: a domain service is missing")
	}
	a, err := assets.Load()
	if err != nil {
		return nil, nil, err
	}
	s := &server{Deps: d, assets: a, pageCache: pagecache.New(d.Config.PageCacheMB<<20, pageTTL, d.Now), markers: newMarkers()}
	s.oauth = oauth.New(oauthConfig(d.Config))

	engine := html.NewFileSystem(http.FS(templates.FS), ".html")
	engine.AddFuncMap(s.templateFuncs())
	if err := engine.Load(); err != nil {
		return nil, nil, fmt.Errorf("load templates: %w", err)
	}
	s.pages = make(map[string]*template.Template, len(pageTemplates))
	for _, name := range pageTemplates {
		t := engine.Templates.Lookup(name)
		if t == nil {
			return nil, nil, fmt.Errorf("load templates: page %q is missing", name)
		}
		s.pages[name] = t
	}
	if s.flagReasons = engine.Templates.Lookup("partials/flag_reasons"); s.flagReasons == nil {
		return nil, nil, fmt.Errorf("load templates: partials/flag_reasons is missing")
	}
	s.assetURLs = assetLinks{CSS: a.URL("app.css"), JS: a.URL("app.js"), Icon: a.URL("favicon.svg")}
	return s, engine, nil
}

// oauthConfig is the providers' part of the configuration.
func oauthConfig(c config.Config) oauth.Config {
	client := func(name string) oauth.Client { return oauth.Client(c.OAuth[name]) }
	return oauth.Config{BaseURL: c.BaseURL, GitHub: client("github"), Google: client("google"),
		Microsoft: client("microsoft"), GitLab: client("gitlab"),
		OIDCDiscoveryURL: c.OIDCDiscoveryURL, OIDC: oauth.Client(c.OIDC), OIDCLabel: c.OIDCName}
}

// proxyHeader trusts X-Forwarded-For only when proxies are configured.
func proxyHeader(trusted []string) string {
	if len(trusted) == 0 {
		return ""
	}
	return fiber.HeaderXForwardedFor
}

func (s *server) templateFuncs() template.FuncMap {
	return template.FuncMap{
		"asset":   s.assets.URL,
		"date":    dateText,
		"iso":     isoTime,
		"ago":     func(t time.Time) string { return ago(s.Now(), t) },
		"plural":  plural,
		"initial": initial,
		// avatarColors are the colours a member may pick (settings.html).
		"avatarColors": func() []string { return models.AvatarColors },
		// signInButtons are the configured providers (partials/signin_buttons).
		"signInButtons": s.oauth.Buttons,
	}
}
