package app

import (
	"context"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"agora/pagecache"
)

// The rendered-page cache: the topic page, topic lists and search results
// that many requesters see exactly alike are rendered once per change of the
// data they show, instead of once per request. A lookup first reads the data's
// version (one indexed row, a prepared statement; see models/revs.go), so an edit, removal or hide
// is never served from the cache: it changes the version in its own
// transaction. Pages that hold anything of the viewer's (members' pages, a
// guest's CSRF token) are never cached.

// pageTTL bounds how long a cached page shows its relative times ("5m") and
// view counts, which no version covers.
const pageTTL = 30 * time.Second

// listGrace is how late a list may show what its strict version leaves out.
const listGrace = time.Second

// maxCachedURL keeps odd, long URLs (made-up query strings) out of the cache.
const maxCachedURL = 256

// audience is who may share one cached rendering of a URL.
type audience string

const (
	// guests: signed out and holding no CSRF cookie (the HTML pages).
	guests audience = "g"
	// nonStaff: anyone but moderators and admins (search JSON, which only
	// staff see differently).
	nonStaff audience = "n"
	// everyone: the response does not depend on the viewer at all.
	everyone audience = "e"
)

// shares reports whether the current requester belongs to a.
func (a audience) shares(c *fiber.Ctx) bool {
	u := currentUser(c)
	switch a {
	case guests:
		return u == nil && existingAnonCSRF(c) == ""
	case nonStaff:
		return !u.IsStaff()
	}
	return true
}

// cached answers a GET from the page cache when a rendering for this URL and
// the version that version returns is there. Otherwise render writes the
// response, which is kept when it is a 200 that sets no cookie. An empty
// version means "do not use the cache for this request".
func (s *server) cached(c *fiber.Ctx, a audience, version func(context.Context) (pagecache.Version, error), render func() error) error {
	url := c.OriginalURL()
	if c.Method() != fiber.MethodGet || len(url) > maxCachedURL || !a.shares(c) {
		return render()
	}
	v, err := version(c.UserContext())
	if err != nil {
		return err
	}
	if v.Full == "" {
		return render()
	}
	key := string(a) + url
	c.Set(fiber.HeaderCacheControl, "no-store")
	// Decoded straight into the response's pooled body buffer, which
	// fasthttp takes back after sending: a hit allocates nothing.
	res := c.Response()
	buf := res.SwapBody(nil)[:0]
	if body, contentType, ok := s.pageCache.Get(key, v, buf); ok {
		res.Header.SetContentType(contentType)
		res.SwapBody(body)
		return nil
	}
	res.SwapBody(buf)
	if err := render(); err != nil {
		return err
	}
	setsCookie := false
	res.Header.VisitAllCookie(func(_, _ []byte) { setsCookie = true })
	if res.StatusCode() == fiber.StatusOK && !setsCookie {
		s.pageCache.Put(key, v, string(res.Header.ContentType()), res.Body())
	}
	return nil
}

// listsVersion versions topic lists (see models.Versions): new replies and
// topics, counts and order may show up to listGrace late, titles, removals
// and moves at once.
func (s *server) listsVersion(ctx context.Context) (pagecache.Version, error) {
	full, strict, err := s.versions.Lists(ctx)
	return pagecache.Version{Full: full, Strict: strict}, err
}

// topicVersion versions a topic's pages (see models.Versions); a wrong slug
// (the page redirects) gets no version.
func (s *server) topicVersion(ctx context.Context, id int64, slug string) (pagecache.Version, error) {
	current, v, err := s.versions.Topic(ctx, id)
	if err != nil || (slug != "" && current != slug) {
		return pagecache.Version{}, err
	}
	return pagecache.Version{Full: v}, nil
}

// searchVersion versions search results: the index's, plus the lists' for the
// titles, authors and categories results show from the database.
func (s *server) searchVersion(ctx context.Context) (pagecache.Version, error) {
	if s.Search == nil || !s.Search.Ready() {
		return pagecache.Version{}, nil
	}
	full, _, err := s.versions.Lists(ctx)
	if err != nil {
		return pagecache.Version{}, err
	}
	return pagecache.Version{Full: strconv.FormatInt(s.Search.Version(), 10) + "." + full}, nil
}
