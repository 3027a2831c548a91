// Package app is the HTTP face of Agora: a Fiber app serving the
// server-rendered pages and the JSON API of shared/API.md over the domain
// packages.
package app

import (
	"context"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/template/html/v2"
	"github.com/uptrace/bun"

	"agora/accounts"
	"agora/assets"
	"agora/config"
	"agora/forum"
	"agora/models"
	"agora/moderation"
	"agora/pagecache"
	"agora/search"
	"agora/templates"
)

// Deps is everything the app needs, passed in explicitly.
type Deps struct {
	DB     *bun.DB
	Config config.Config
	Log    *slog.Logger
	Now    func() time.Time // nil: time.Now
	// SetupToken unlocks /setup while no admin exists; empty disables the page.
	SetupToken string
	// AuthRateLimit is sign-in and registration attempts per minute per IP (0: 20).
	AuthRateLimit int
	// Search is the full-text index (nil or not ready: search answers 503).
	Search *search.Index
	// Views buffers topic view counts; the caller runs its flush loop (nil: one is made, never flushed).
	Views *forum.ViewCounter
}

// server carries the dependencies into the handlers.
type server struct {
	Deps
	accounts   *accounts.Service
	forum      *forum.Service
	moderation *moderation.Service
	views      *forum.ViewCounter
	assets     *assets.Assets
	pageCache  *pagecache.Cache // see cache.go
	versions   *models.Versions
	markers    markers // stand-ins in pages cached for members (cache.go)

	nameMu    sync.Mutex
	name      string    // community name cache
	nameUntil time.Time // cache expiry; settings can change on another node

	// pages are the parsed page templates by name, executed directly by
	// render: the engine's Render locks its mutex and rewrites the shared
	// func map on every call.
	pages map[string]*template.Template
	// flagReasons is partials/flag_reasons (see flagChoices).
	flagReasons *template.Template
	// assetURLs are the header's asset links, fixed at start.
	assetURLs assetLinks
}

// New builds the Fiber app. It fails when a template or asset cannot be loaded.
func New(d Deps) (*fiber.App, error) {
	s, engine, err := newServer(d)
	if err != nil {
		return nil, err
	}
	app := fiber.New(fiber.Config{
		AppName:                 "agora",
		Views:                   engine,
		ErrorHandler:            s.handleError,
		BodyLimit:               1 << 20,
		ReadTimeout:             30 * time.Second,
		WriteTimeout:            30 * time.Second,
		IdleTimeout:             120 * time.Second,
		DisableStartupMessage:   true,
		EnableTrustedProxyCheck: true,
		TrustedProxies:          d.Config.TrustedProxies,
		ProxyHeader:             proxyHeader(d.Config.TrustedProxies),
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
		d.AuthRateLimit = 20
	}
	a, err := assets.Load()
	if err != nil {
		return nil, nil, err
	}
	if d.Views == nil {
		d.Views = forum.NewViewCounter(d.DB, d.Now)
	}
	s := &server{Deps: d, accounts: accounts.New(d.DB, d.Now), forum: forum.New(d.DB, d.Now),
		moderation: moderation.New(d.DB, d.Now), views: d.Views, assets: a,
		pageCache: pagecache.New(d.Config.PageCacheMB<<20, pageTTL, d.Now), markers: newMarkers()}

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
	if s.versions, err = models.PrepareVersions(context.Background(), d.DB); err != nil {
		return nil, nil, err
	}
	return s, engine, nil
}

// proxyHeader trusts X-Forwarded-For only when proxies are configured.
func proxyHeader(trusted []string) string {
	if len(trusted) == 0 {
		return ""
	}
	return fiber.HeaderXForwardedFor
}

// communityName returns the configured name, cached briefly.
func (s *server) communityName(ctx context.Context) string {
	s.nameMu.Lock()
	defer s.nameMu.Unlock()
	now := s.Now()
	if now.Before(s.nameUntil) {
		return s.name
	}
	name, err := models.GetSetting(ctx, s.DB, models.SettingCommunityName, "Agora Community")
	if err != nil {
		s.Log.Error("load community name", "err", err)
		return "Agora Community"
	}
	s.name, s.nameUntil = name, now.Add(30*time.Second)
	return name
}

// forgetCommunityName drops the cache after a change.
func (s *server) forgetCommunityName() {
	s.nameMu.Lock()
	s.nameUntil = time.Time{}
	s.nameMu.Unlock()
}

func (s *server) templateFuncs() template.FuncMap {
	return template.FuncMap{
		"asset":   s.assets.URL,
		"date":    dateText,
		"iso":     isoTime,
		"ago":     func(t time.Time) string { return ago(s.Now(), t) },
		"plural":  plural,
		"initial": initial,
	}
}

// when is a moment as pages show it: <time datetime="ISO" title="Date">Ago</time>.
type when struct{ ISO, Date, Ago string }

// at formats t for pages, relative to now.
func at(now, t time.Time) when { return when{ISO: isoTime(t), Date: dateText(t), Ago: ago(now, t)} }

func dateText(t time.Time) string { return t.UTC().Format("Jan 2, 2006") }

func isoTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// plural is "1 reply", "2 replies".
func plural(n int, one, many string) string {
	if n == 1 {
		return strconv.Itoa(n) + " " + one
	}
	return strconv.Itoa(n) + " " + many
}

// initial is the avatar letter of a name.
func initial(name string) string {
	for _, r := range name {
		return string(r)
	}
	return "?"
}

// ago formats the time since t the way forum lists do: "5m", "3h", "2d", then the date.
func ago(now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return strconv.Itoa(int(d.Minutes())) + "m ago"
	case d < 24*time.Hour:
		return strconv.Itoa(int(d.Hours())) + "h ago"
	case d < 30*24*time.Hour:
		return strconv.Itoa(int(d.Hours()/24)) + "d ago"
	}
	return dateText(t)
}
