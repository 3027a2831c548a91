package app

import (
	"net/http"
	"strings"

	"github.com/gofiber/fiber/v2"

	"agora/models"
)

// routes wires every page and API route; the middleware order matters:
// headers and logging first, then NUL refusal, identity, CSRF, rate limits.
func (s *server) routes(app *fiber.App) {
	app.Use(s.logRequests, s.securityHeaders())
	app.Get("/healthz", s.healthz)
	app.Get("/readyz", s.readyz)
	app.Get("/assets/:file", s.serveAsset)

	app.Use(refuseNUL, s.authenticate, s.checkCSRF)
	authLimit := s.rateLimit(s.AuthRateLimit, ipKey)

	api := app.Group("/api/v1", s.rateLimit(s.Config.RateLimit, clientKey))
	api.Post("/auth/register", authLimit, s.apiRegister)
	api.Post("/auth/login", authLimit, s.apiLogin)
	api.Post("/auth/logout", requireUser, s.apiLogout)
	api.Get("/me", requireUser, s.apiMe)
	api.Get("/users/:username", s.apiUser)
	api.Get("/categories", s.apiCategories)
	api.Get("/topics", s.apiTopics)
	api.Get("/topics/similar", s.apiSimilar)
	api.Post("/topics", requireUser, s.apiCreateTopic)
	api.Get("/topics/:id", s.apiTopic)
	api.Post("/topics/:id/posts", requireUser, s.apiReply)
	api.Post("/topics/:id/solution", requireUser, s.apiSolution)
	api.Patch("/posts/:id", requireUser, s.apiEditPost)
	api.Get("/posts/:id/revisions", requireUser, s.apiRevisions)
	api.Post("/posts/:id/like", requireUser, s.apiLike)
	api.Delete("/posts/:id/like", requireUser, s.apiLike)
	api.Post("/preview", requireUser, s.apiPreview)
	admin := api.Group("/admin", requireAdmin)
	admin.Post("/categories", s.apiCreateCategory)
	admin.Patch("/categories/:id", s.apiUpdateCategory)
	admin.Post("/users/:id/role", s.apiSetRole)
	api.Use(func(c *fiber.Ctx) error { return models.ErrNotFound })

	app.Get("/", s.home)
	app.Get("/register", s.registerPage)
	app.Post("/register", authLimit, s.registerSubmit)
	app.Get("/login", s.loginPage)
	app.Post("/login", authLimit, s.loginSubmit)
	app.Post("/logout", s.logoutSubmit)
	app.Get("/u/:username", s.profile)
	app.Get("/setup", s.setupPage)
	app.Post("/setup", authLimit, s.setupSubmit)
	app.Use(func(c *fiber.Ctx) error { return models.ErrNotFound })
}

// serveAsset serves a content-hashed asset, cacheable forever.
func (s *server) serveAsset(c *fiber.Ctx) error {
	f, ok := s.assets.Lookup(c.Params("file"))
	if !ok {
		return models.ErrNotFound
	}
	c.Set(fiber.HeaderContentType, f.ContentType)
	c.Set(fiber.HeaderCacheControl, "public, max-age=31536000, immutable")
	if strings.HasPrefix(f.ContentType, "text/") {
		c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	}
	return c.Status(http.StatusOK).Send(f.Body)
}
