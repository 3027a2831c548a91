package app

import (
	"net/http"
	"strings"

	"github.com/gofiber/fiber/v2"

	"agora/models"
)

// routes wires every page and API route; the middleware order matters:
// headers and logging first, then identity, the API rate limit (so refused
// requests count too), bad-token refusal, NUL refusal and CSRF.
func (s *server) routes(app *fiber.App) {
	app.Use(s.logRequests, s.securityHeaders())
	app.Get("/healthz", s.healthz)
	app.Get("/readyz", s.readyz)
	app.Get("/assets/:file", s.serveAsset)

	app.Use(s.authenticate)
	app.Use("/api/v1", s.rateLimit(s.Config.RateLimit, clientKey))
	app.Use(refuseBadAuth, refuseNUL, s.checkCSRF)
	authLimit := s.rateLimit(s.AuthRateLimit, ipKey)

	api := app.Group("/api/v1")
	api.Post("/auth/register", authLimit, s.apiRegister)
	api.Post("/auth/login", authLimit, s.apiLogin)
	api.Post("/auth/logout", requireUser, s.apiLogout)
	api.Get("/me", requireUser, s.apiMe)
	api.Get("/users/:username", s.apiUser)
	api.Get("/search", s.apiSearch)
	api.Get("/badges", s.apiBadges)
	api.Get("/badges/:id", s.apiBadge)
	api.Get("/notifications", requireUser, s.apiNotifications)
	api.Post("/notifications/read", requireUser, s.apiNotificationsRead)
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
	api.Get("/flag-reasons", s.apiFlagReasons)
	api.Get("/guidelines", s.apiGuidelines)
	api.Post("/posts/:id/flags", requireUser, s.apiFlag)
	api.Delete("/flags/:id", requireUser, s.apiRetractFlag)
	api.Get("/me/flags", requireUser, s.apiMyFlags)
	mod := api.Group("/mod", requireStaff)
	mod.Get("/queue", s.apiQueue)
	mod.Post("/queue/:post_id/resolve", s.apiResolve)
	mod.Post("/posts/:id/:action", s.apiModPost)
	mod.Post("/topics/:id/:action", s.apiModTopic)
	mod.Get("/users/:id", s.apiMember)
	mod.Post("/users/:id/notes", s.apiAddNote)
	mod.Post("/users/:id/:action", s.apiModUser)
	mod.Get("/log", s.apiModLog)
	mod.Get("/health", s.apiQueueHealth)
	admin := api.Group("/admin", requireAdmin)
	admin.Get("/flag-threshold/dry-run", s.apiDryRun)
	admin.Post("/categories", s.apiCreateCategory)
	admin.Patch("/categories/:id", s.apiUpdateCategory)
	admin.Post("/users/:id/role", s.apiSetRole)
	admin.Put("/guidelines", s.apiUpdateGuidelines)
	admin.Get("/levels", s.apiLevels)
	admin.Put("/levels", s.apiSaveLevels)
	admin.Post("/badges", s.apiCreateBadge)
	admin.Post("/badges/:id/:action", s.apiGrantBadge)
	api.Use(func(c *fiber.Ctx) error { return models.ErrNotFound })

	app.Get("/", s.home)
	app.Get("/search", s.searchPageHandler)
	app.Get("/notifications", requireUser, s.notificationsHTML)
	app.Post("/notifications/read", requireUser, s.notificationsReadHTML)
	app.Get("/c/:slug", s.categoryPage)
	app.Get("/t/:id/:slug?", s.topicPage)
	app.Post("/t/:id/reply", requireUser, s.replySubmit)
	app.Post("/t/:id/solution", requireUser, s.solutionSubmit)
	app.Get("/new-topic", requireUser, s.newTopicForm)
	app.Post("/new-topic", requireUser, s.newTopicSubmit)
	app.Get("/p/:id/edit", requireUser, s.editPostForm)
	app.Post("/p/:id/edit", requireUser, s.editPostSubmit)
	app.Get("/p/:id/revisions", requireUser, s.revisionsList)
	app.Post("/p/:id/like", requireUser, s.likeSubmit)
	app.Get("/admin", requireAdmin, s.adminHome)
	app.Post("/admin/categories", requireAdmin, s.adminCreateCategory)
	app.Post("/admin/categories/:id", requireAdmin, s.adminUpdateCategory)
	app.Get("/register", s.registerPage)
	app.Post("/register", authLimit, s.registerSubmit)
	app.Get("/login", s.loginPage)
	app.Post("/login", authLimit, s.loginSubmit)
	app.Post("/logout", s.logoutSubmit)
	app.Get("/u/:username", s.profile)
	app.Get("/badges", s.badgesHTML)
	app.Get("/badges/:id", s.badgeHTML)
	app.Get("/admin/levels", requireAdmin, s.adminLevelsForm)
	app.Post("/admin/levels", requireAdmin, s.adminLevelsSubmit)
	app.Get("/admin/badges", requireAdmin, s.adminBadgesHTML)
	app.Post("/admin/badges", requireAdmin, s.adminCreateBadgeSubmit)
	app.Post("/admin/badges/:id/:action", requireAdmin, s.adminGrantSubmit)
	app.Get("/setup", s.setupPage)
	app.Post("/setup", authLimit, s.setupSubmit)
	// Moderation pages (mod_pages.go).
	app.Get("/guidelines", s.guidelinesPage)
	app.Get("/admin/guidelines", requireAdmin, s.adminGuidelinesForm)
	app.Post("/admin/guidelines", requireAdmin, s.adminGuidelinesSubmit)
	app.Post("/admin/users/:id/role", requireAdmin, s.adminRoleSubmit)
	app.Get("/p/:id/flag", requireUser, s.flagForm)
	app.Post("/p/:id/flag", requireUser, s.flagSubmit)
	app.Post("/flags/:id/retract", requireUser, s.retractSubmit)
	app.Get("/me/reports", requireUser, s.myReports)
	app.Get("/mod", requireStaff, s.modQueue)
	app.Post("/mod/queue/:post_id/resolve", requireStaff, s.modResolveSubmit)
	app.Get("/mod/log", requireStaff, s.modLogPage)
	app.Get("/mod/suspended", requireStaff, s.modSuspendedPage)
	app.Post("/mod/users/:id/suspend", requireStaff, s.modSuspendSubmit)
	app.Post("/mod/users/:id/notes", requireStaff, s.modAddNoteSubmit)
	app.Post("/mod/users/:id/unsuspend", requireStaff, s.modUnsuspendSubmit)
	app.Post("/mod/users/:id/level", requireStaff, s.modLevelSubmit)
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
