package app

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"html/template"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"agora/forum"
	"agora/models"
	"agora/pagecache"
)

// The rendered-page cache: the topic page, topic lists and search results
// that many requesters see exactly alike are rendered once per change of the
// data they show, instead of once per request. A lookup first reads the data's
// version (one indexed row, a prepared statement; see models/revs.go and
// docs/caching.md), so an edit, removal or hide is never served from the
// cache: it changes the version in its own transaction.
//
// Every rule about who shares a rendering lives in this file, in this order:
//
//  1. Who shares: pageAudience and the per-route audiences below it
//     (topicPageAudience, topicJSONAudience, searchJSONAudience, with
//     unlessPersonal), and guestFormless, the pages guests get without a token.
//  2. What may differ between members on a shared page: the stand-ins
//     (markers), drawn by frame and written over per request by fillMember.
//  3. The machinery (cached, renderAndKeep, cachedForMember), which keeps
//     nothing that carries a viewer's own token (localOwnPage).
//  4. The versions each kind of page is filed under (listsVersion,
//     topicVersion, searchVersion); the triggers behind them are listed in
//     docs/caching.md.
//
// Guests share one rendering. Members who are not staff, not suspended and
// have nothing of their own on the page (a post, a like, an open flag, the
// topic itself) share another. The markers are secret to this process, so
// no post can contain one. Anything else personal (an unread count, a
// preference) makes a page nobody's to share: add it to frame's own-page
// branch only, and TestSharedPagesHoldNothingPersonal keeps that true.

// --- 1. Who shares a rendering ----------------------------------------------

// audience is who may share one cached rendering of a URL.
type audience string

const (
	nobody audience = ""
	// guests: signed out.
	guests audience = "g"
	// members: see the package comment; HTML pages only.
	members audience = "m"
	// nonStaff: anyone but moderators and admins (search JSON, which only
	// staff see differently).
	nonStaff audience = "n"
	// everyone: the response does not depend on the viewer at all.
	everyone audience = "e"
)

// pageAudience is who shares the current requester's rendering of an HTML
// page: guests, members (before any per-page check), or nobody.
func (s *server) pageAudience(c *fiber.Ctx) audience {
	u := currentUser(c)
	switch {
	case u == nil:
		return guests
	case !u.IsStaff() && u.Suspension(s.Now()) == nil && markerUsername.MatchString(u.Username):
		return members
	}
	return nobody
}

// topicPageAudience is who shares page n of a topic's HTML: pageAudience's
// answer, except that a member with anything of their own on the page
// (unlessPersonal) gets it alone.
func (s *server) topicPageAudience(c *fiber.Ctx, topicID int64, n int) (audience, error) {
	if a := s.pageAudience(c); a != members {
		return a, nil
	}
	return s.unlessPersonal(c, topicID, n, forum.PerPage, members)
}

// topicJSONAudience is who shares page n (of perPage posts) of GET /api/v1/topics/{id}. The
// JSON has no frame, so a member who is not staff and has nothing of their
// own on the page (unlessPersonal) gets the guests' answer; staff see more.
func (s *server) topicJSONAudience(c *fiber.Ctx, topicID int64, n, perPage int) (audience, error) {
	switch u := currentUser(c); {
	case u == nil:
		return guests, nil
	case u.IsStaff():
		return nobody, nil
	}
	return s.unlessPersonal(c, topicID, n, perPage, guests)
}

// searchJSONAudience is who shares GET /api/v1/search: everyone but staff,
// who may see removed and hidden posts. (GET /api/v1/topics is everyone's.)
func searchJSONAudience(c *fiber.Ctx) audience {
	if currentUser(c).IsStaff() {
		return nobody
	}
	return nonStaff
}

// unlessPersonal is shared, the signed-in member's audience on page n (of
// perPage posts) of a topic, unless they have anything of their own on it
// (see models.Versions.Personal): then the page is theirs alone.
func (s *server) unlessPersonal(c *fiber.Ctx, topicID int64, n, perPage int, shared audience) (audience, error) {
	from, to := forum.PostRange(n, perPage)
	personal, err := s.Site.Versions.Personal(c.UserContext(), topicID, from, to, currentUser(c).ID)
	if err != nil || personal {
		return nobody, err
	}
	return shared, nil
}

// guestFormless are the pages that show guests no form that posts, so a
// guest reading them needs no CSRF token and gets none: minting one costs a
// random read and a Set-Cookie on every view of the busiest pages, and
// without one every guest can share one cached rendering. The sign-in and
// register pages set it before a guest can post anything.
var guestFormless = map[string]bool{"home": true, "topic": true, "search": true}

// --- 2. What may differ between members on a shared page -------------------

// markerUsername is a username that can be written into a page in place of
// the marker without escaping, in HTML text and in a URL path alike. Others
// (none today: accounts allows only these) get their pages rendered alone.
var markerUsername = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)

// frame fills what the header shows about the viewer: on a page drawn for
// every member (localShared), the stand-in and the role only; on a guest's
// page with no form (guestFormless), no CSRF token; otherwise the viewer's
// own token, name, suspension banner and, for staff, the queue size.
func (s *server) frame(c *fiber.Ctx, p *page, guestFormless bool) error {
	u := currentUser(c)
	switch {
	case c.Locals(localShared) != nil: // nothing of the member but the role (members are never staff)
		p.User = &models.User{Username: s.markers.username, Role: u.Role}
		p.Avatar, p.CSRF, p.Bell = template.HTML(s.markers.avatar), s.markers.csrf, template.HTML(s.markers.bell)
		return nil
	case u == nil && guestFormless:
		return nil
	}
	p.CSRF = s.csrfToken(c)
	c.Locals(localOwnPage, true)
	if u == nil {
		return nil
	}
	p.User, p.Avatar, p.Staff, p.Admin = u, template.HTML(avatarHTML(u)), u.IsStaff(), u.IsAdmin()
	p.Bell = template.HTML(s.bellBadge(c))
	var se *models.SuspendedError
	if errors.As(u.Suspension(s.Now()), &se) {
		p.Suspension = se
	}
	if u.IsStaff() {
		n, err := s.Moderation.OpenEntries(c.UserContext(), u)
		if err != nil {
			s.Log.Error("count open queue entries", "err", err)
		}
		p.ModOpen = n
	}
	return nil
}

// markers are the member stand-ins, and their fields the whole list of what
// may differ between two members on a page they share. frame draws each in
// place of the member's own value and fillMember writes the requester's
// value over it on every response:
//
//	csrf      page.CSRF: the csrf-token meta tag and every form's _csrf
//	username  page.User.Username: the header's user chip and /u/{name}
//	avatar    page.Avatar: the header's avatar, its letter and colour (avatarHTML)
//	bell      page.Bell: the unread count on the header's bell (bellBadge)
//
// Each is a random prefix, unknown outside this process, and one letter
// naming what it stands for. Everything else frame sets for a shared page is
// the same for every member who may share it: page.User.Role (never staff,
// see pageAudience), and no Staff, Admin, Suspension or ModOpen. A new
// per-member value either gets a marker of its own (a field and letter here,
// a case in fillMember; its value must need no escaping wherever a template
// writes it) or goes in frame's own-page branch, which keeps every page that
// shows it out of the cache.
type markers struct {
	prefix                       []byte
	csrf, username, avatar, bell string
}

func newMarkers() markers {
	b := make([]byte, 12)
	rand.Read(b)
	p := "m" + hex.EncodeToString(b)
	return markers{prefix: []byte(p), csrf: p + "C", username: p + "U", avatar: p + "A", bell: p + "N"}
}

// bellBadge is the unread count the header's bell shows for the viewer:
// nothing at none, "99+" past 99. It is made of digits and fixed markup,
// so it needs no escaping where the header writes it. One indexed count,
// at most 100 entries read.
func (s *server) bellBadge(c *fiber.Ctx) string {
	n, err := s.Notify.Unread(c.UserContext(), currentUser(c))
	if err != nil {
		s.Log.Error("count unread notifications", "err", err)
		return ""
	}
	switch {
	case n == 0:
		return ""
	case n > 99:
		return `<span class="count-badge bell-count">99+<span class="sr-only"> unread</span></span>`
	}
	return `<span class="count-badge bell-count">` + strconv.Itoa(n) + `<span class="sr-only"> unread</span></span>`
}

// fillMember appends page to dst with each marker replaced by token,
// username, avatar and bell.
func (m *markers) fillMember(dst, page []byte, token, username, avatar, bell string) []byte {
	for {
		i := bytes.Index(page, m.prefix)
		if i < 0 || i+len(m.prefix) >= len(page) {
			return append(dst, page...)
		}
		dst = append(dst, page[:i]...)
		switch page[i+len(m.prefix)] {
		case 'C':
			dst = append(dst, token...)
		case 'U':
			dst = append(dst, username...)
		case 'A':
			dst = append(dst, avatar...)
		case 'N':
			dst = append(dst, bell...)
		default: // cannot happen: only markers start with the prefix
			dst = append(dst, m.prefix...)
			page = page[i+len(m.prefix):]
			continue
		}
		page = page[i+len(m.prefix)+1:]
	}
}

// localShared tells render to draw the stand-in member (see markers).
const localShared = "agora.sharedPage"

// --- 3. The machinery ---------------------------------------------------------

// pageTTL bounds how long a cached page shows its relative times ("5m") and
// view counts, which no version covers.
const pageTTL = 30 * time.Second

// listGrace is how late a list may show what its strict version leaves out
// (new replies and topics, counts, order). It also caps how often a busy
// forum renders each list page: at most once per listGrace.
const listGrace = 3 * time.Second

// maxCachedURL keeps odd, long URLs (made-up query strings) out of the cache.
const maxCachedURL = 256

// localOwnPage marks a response that carries the viewer's own CSRF token:
// the page cache must not keep it.
const localOwnPage = "agora.ownPage"

// pageBuffers hold decoded members' pages while they are filled in.
var pageBuffers = sync.Pool{New: func() any { return new([]byte) }}

// cached answers a GET from the page cache when a rendering for this URL,
// audience and the version that version returns is there. Otherwise render
// writes the response, which is kept when it is a 200 that sets no cookie.
// An empty version or audience means "do not use the cache for this request".
func (s *server) cached(c *fiber.Ctx, a audience, version func(context.Context) (pagecache.Version, error), render func() error) error {
	url := c.OriginalURL()
	if a == nobody || c.Method() != fiber.MethodGet || len(url) > maxCachedURL {
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
	res := c.Response()
	if a == members {
		return s.cachedForMember(c, key, v, render)
	}
	// Decoded straight into the response's pooled body buffer, which
	// fasthttp takes back after sending: a hit allocates nothing.
	buf := res.SwapBody(nil)[:0]
	if body, contentType, ok := s.pageCache.Get(key, v, buf); ok {
		res.Header.SetContentType(contentType)
		res.SwapBody(body)
		return nil
	}
	res.SwapBody(buf)
	return s.renderAndKeep(c, key, v, render)
}

// renderAndKeep renders the response and keeps it when it is a 200, render
// set no cookie and the page carries no viewer's own token (localOwnPage).
func (s *server) renderAndKeep(c *fiber.Ctx, key string, v pagecache.Version, render func() error) error {
	res := c.Response()
	cookies := 0
	res.Header.VisitAllCookie(func(_, _ []byte) { cookies++ })
	if err := render(); err != nil {
		return err
	}
	res.Header.VisitAllCookie(func(_, _ []byte) { cookies-- })
	if res.StatusCode() == fiber.StatusOK && cookies == 0 && c.Locals(localOwnPage) == nil {
		s.pageCache.Put(key, v, string(res.Header.ContentType()), res.Body())
	}
	return nil
}

// cachedForMember serves the members' rendering of a page, filled in for
// the current member.
func (s *server) cachedForMember(c *fiber.Ctx, key string, v pagecache.Version, render func() error) error {
	u, res := currentUser(c), c.Response()
	token, avatar := s.csrfToken(c), avatarHTML(u)
	scratch := pageBuffers.Get().(*[]byte)
	defer pageBuffers.Put(scratch)
	page, contentType, ok := s.pageCache.Get(key, v, (*scratch)[:0])
	if !ok {
		c.Locals(localShared, true)
		err := s.renderAndKeep(c, key, v, render)
		c.Locals(localShared, nil)
		if err != nil {
			return err // the error page is drawn for the member, without markers
		}
		// Whatever render wrote (a page, an error page, a redirect) was drawn
		// for the stand-in member.
		page, contentType = append((*scratch)[:0], res.Body()...), string(res.Header.ContentType())
	}
	*scratch = page
	res.Header.SetContentType(contentType)
	res.SwapBody(s.markers.fillMember(res.SwapBody(nil)[:0], page, token, u.Username, avatar, s.bellBadge(c)))
	return nil
}

// --- 4. Versions (the triggers: docs/caching.md) ------------------------------

// listsVersion versions topic lists (see models.Versions): new replies and
// topics, counts and order may show up to listGrace late, titles, removals
// and moves at once.
func (s *server) listsVersion(ctx context.Context) (pagecache.Version, error) {
	full, strict, err := s.Site.Versions.Lists(ctx)
	return pagecache.Version{Full: full, Strict: strict, Grace: listGrace}, err
}

// flairGrace is how late a topic page may show its authors' new levels and
// badge counts (lists and search: listGrace). Badges are granted all the
// time on a busy forum; each grant throwing every topic page away would
// leave the cache empty, so a page is drawn again for them at most once per
// flairGrace.
const flairGrace = 30 * time.Second

// topicVersion versions a topic's pages (see models.Versions); a wrong slug
// (the page redirects) gets no version.
func (s *server) topicVersion(ctx context.Context, id int64, slug string) (pagecache.Version, error) {
	current, full, strict, err := s.Site.Versions.Topic(ctx, id)
	if err != nil || (slug != "" && current != slug) {
		return pagecache.Version{}, err
	}
	return pagecache.Version{Full: full, Strict: strict, Grace: flairGrace}, nil
}

// searchGrace is how late search results may show new posts and likes on
// top of the indexer's own delay (see search.Index.Version). It also caps
// how often a busy forum runs each popular query: at most once per
// searchGrace.
const searchGrace = time.Second

// searchVersion versions search results: the index's, plus the lists' for the
// titles, authors and categories results show from the database.
func (s *server) searchVersion(ctx context.Context) (pagecache.Version, error) {
	if !s.Search.Ready() {
		return pagecache.Version{}, nil
	}
	full, strict, err := s.Site.Versions.Lists(ctx)
	if err != nil {
		return pagecache.Version{}, err
	}
	ixFull, ixStrict := s.Search.Version()
	return pagecache.Version{Full: strconv.FormatInt(ixFull, 10) + "." + full,
		Strict: strconv.FormatInt(ixStrict, 10) + "." + strict, Grace: searchGrace}, nil
}
