package app_test

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"agora/app"
	"agora/forum"
	"agora/internal/testdb"
	"agora/models"
	"agora/moderation"
)

// TestSharedPagesHoldNothingPersonal checks the page cache's promise to
// members (app/cache.go, docs/caching.md): a page one member's request put in
// the cache, served to another member, is byte for byte the page an app
// without a cache renders for that other member, and shows nothing personal
// to the first (name, avatar letter, CSRF token, unread count). The two
// members differ in everything personal: name, display name, level, badges,
// unread notifications, their own topics, likes and flags. Every cacheable
// URL is asked for in both orders, and the second request must be a hit.
//
// When this fails after a template or frame change, something of the viewer
// reached a page members share: see "Before adding to a shared template" in
// docs/caching.md.
func TestSharedPagesHoldNothingPersonal(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		fs, ms := forum.New(db, nil), moderation.New(db, nil)

		alice := mustTPUser(t, db, "alice", "")
		bruno := mustTPUser(t, db, "bruno", "")
		carol := mustTPUser(t, db, "carol", "")
		dave := mustTPUser(t, db, "dave", "")
		cat := mustTPCategory(t, db, "Printing", "printing")

		// A topic neither of them has anything on, two pages long.
		shared := mustTPTopic(t, db, carol, cat, "Printer jams on duplex pages", "The printer jams on every duplex job.")
		var replies []*models.Post
		for i := range forum.PerPage + 3 {
			replies = append(replies, mustModReply(t, db, dave, shared.ID, fmt.Sprintf("Printer tip %d: clean the rollers.", i+1)))
		}
		// Each one's own topic; alice's flag and bruno's like in carol's other topic.
		aliceTopic := mustTPTopic(t, db, alice, cat, "Alice's printer prints blank pages", "Toner is full.")
		brunoTopic := mustTPTopic(t, db, bruno, cat, "Bruno's printer is offline", "It shows offline.")
		other := mustTPTopic(t, db, carol, cat, "Printer drivers for the new office", "Which driver?")
		otherReply := mustModReply(t, db, dave, other.ID, "The universal printer driver works.")
		if _, err := ms.Flag(ctx, alice.User, otherReply.ID, "off_topic", ""); err != nil {
			t.Fatal(err)
		}
		if _, err := fs.Like(ctx, bruno.User, otherReply.ID); err != nil {
			t.Fatal(err)
		}
		// Unread notifications: bruno's start with replies to his topic (and
		// one he read); the counts are numbers no header shows otherwise.
		const aliceUnread, brunoUnread = 29, 46
		for i := range 3 {
			mustModReply(t, db, carol, brunoTopic.ID, fmt.Sprintf("Is the printer cable plugged in? (%d)", i+1))
		}
		read := time.Now()
		notes := []*models.Notification{{UserID: bruno.ID, Kind: models.NotifyReply, Message: "read long ago", ReadAt: &read}}
		for i := range aliceUnread {
			notes = append(notes, &models.Notification{UserID: alice.ID, Kind: models.NotifyReply, TopicID: &aliceTopic.ID,
				Message: fmt.Sprint("reply ", i)})
		}
		for i := range brunoUnread - 3 {
			notes = append(notes, &models.Notification{UserID: bruno.ID, Kind: models.NotifyReply, TopicID: &brunoTopic.ID,
				Message: fmt.Sprint("reply ", i)})
		}
		for _, n := range notes {
			n.CreatedAt = time.Now()
			if err := models.CreateNotification(ctx, db, n); err != nil {
				t.Fatal(err)
			}
		}
		for _, u := range []struct {
			u            *tpUser
			name         string
			level, badge int
			color        string
		}{{alice, "Alice Aardvark", 3, 5, "teal"}, {bruno, "Bruno Brightwater", 0, 0, "orange"}} {
			if _, err := db.NewUpdate().Model((*models.User)(nil)).Set("display_name = ?, level = ?, badge_count = ?, avatar_color = ?",
				u.name, u.level, u.badge, u.color).Where("id = ?", u.u.ID).Exec(ctx); err != nil {
				t.Fatal(err)
			}
		}
		for _, c := range []struct {
			u    *tpUser
			want int
		}{{alice, aliceUnread}, {bruno, brunoUnread}} {
			if n, err := models.UnreadNotifications(ctx, db, c.u.ID); err != nil || n != c.want {
				t.Fatalf("%s has %d unread notifications (%v), want %d", c.u.Username, n, err, c.want)
			}
		}

		// Every cacheable URL (app/cache.go: the handlers that call cached).
		// owners have something of their own on the page: they never get the
		// shared rendering.
		// hit says how the second request is shown to be a cache hit:
		// "views" (the page shows view counts, which no version covers) or
		// "index" (search results, whose new posts may show a second late).
		topicURL := func(t *models.Topic) string { return fmt.Sprintf("/t/%d/%s", t.ID, t.Slug) }
		reply := replies[2].ID
		urls := []struct {
			path   string
			owners []*tpUser
			hit    string
		}{
			{path: "/", hit: "views"},
			{path: "/?filter=unanswered", hit: "views"},
			{path: "/?page=1&filter=latest", hit: "views"},
			{path: "/c/" + cat.Slug, hit: "views"},
			{path: topicURL(shared), hit: "views"},
			{path: topicURL(shared) + "?page=2", hit: "views"},
			{path: fmt.Sprintf("%s?quote=%d", topicURL(shared), reply), hit: "views"},
			{path: fmt.Sprintf("%s?reply_to=%d", topicURL(shared), reply), hit: "views"},
			{path: topicURL(aliceTopic), owners: []*tpUser{alice}, hit: "views"},
			{path: topicURL(brunoTopic), owners: []*tpUser{bruno}, hit: "views"},
			{path: topicURL(other), owners: []*tpUser{alice, bruno}, hit: "views"}, // alice's flag, bruno's like
			{path: "/search?q=printer", hit: "index"},
			{path: "/search?q=printer&page=2&per_page=5", hit: "index"},
			{path: "/search"},
			{path: "/search?q=nothingmatchesthis"},
			{path: "/api/v1/topics", hit: "views"},
			{path: fmt.Sprintf("/api/v1/topics?category=%d&filter=latest", cat.ID), hit: "views"},
			{path: fmt.Sprintf("/api/v1/topics/%d", shared.ID), hit: "views"},
			{path: fmt.Sprintf("/api/v1/topics/%d?page=2", shared.ID), hit: "views"},
			{path: "/api/v1/search?q=printer", hit: "index"},
		}
		deps, catchUp := withSearch(t, db)
		now := time.Now() // one clock for both apps: the same relative times
		fixed := func(d *app.Deps) { d.Now = func() time.Time { return now } }
		plain := newApp(t, db, deps, fixed, func(d *app.Deps) { d.Config.PageCacheMB = 0 })

		// personal is what of u no page another member gets may show: u's
		// CSRF token anywhere, and u's name, avatar letter and colour and unread count
		// in the header.
		type personal struct{ anywhere, header []string }
		personalOf := map[*tpUser]personal{
			alice: {anywhere: []string{alice.csrf},
				header: []string{"alice", "Alice Aardvark", `aria-hidden="true">a</span>`, "av-teal", fmt.Sprint(aliceUnread)}},
			bruno: {anywhere: []string{bruno.csrf},
				header: []string{"bruno", "Bruno Brightwater", `aria-hidden="true">b</span>`, "av-orange", fmt.Sprint(brunoUnread)}},
		}

		unreadOf := map[*tpUser]int{alice: aliceUnread, bruno: brunoUnread} // on the bell of their own header
		colorOf := map[*tpUser]string{alice: "teal", bruno: "orange"}       // their own header's avatar

		for _, order := range [][2]*tpUser{{alice, bruno}, {bruno, alice}} {
			first, second := order[0], order[1]
			t.Run(first.Username+" then "+second.Username, func(t *testing.T) {
				cached := newApp(t, db, deps, fixed)
				got := map[string]string{} // what second got from the cached app
				for _, e := range urls {
					res, body := getPage(t, cached, e.path, first.cookie) // fills the cache
					tpWantStatus(t, res, body, http.StatusOK)
					res, body = getPage(t, cached, e.path, second.cookie)
					tpWantStatus(t, res, body, http.StatusOK)
					_, want := getPage(t, plain, e.path, second.cookie)
					got[e.path] = body
					wantSame(t, e.path+" for "+second.Username, body, want)
					for _, s := range personalOf[first].anywhere {
						if strings.Contains(body, s) {
							t.Errorf("%s for %s shows %s's %q", e.path, second.Username, first.Username, s)
						}
					}
					if h, ok := siteHeader(body); ok {
						// Without second's token, a random string that could hold anything.
						h = strings.ReplaceAll(h, second.csrf, "")
						wantHeader, _ := siteHeader(want)
						wantHeader = strings.ReplaceAll(wantHeader, second.csrf, "")
						for _, s := range personalOf[first].header {
							if strings.Contains(wantHeader, s) {
								t.Fatalf("%s: %q is in %s's own header too; pick another personal string", e.path, s, second.Username)
							}
							if strings.Contains(h, s) {
								t.Errorf("%s for %s: the header shows %s's %q", e.path, second.Username, first.Username, s)
							}
						}
						tpWantContains(t, h, `<span class="user-name">`+second.Username+`</span>`,
							fmt.Sprintf(`<span class="avatar av-%s" aria-hidden="true">%s</span>`, colorOf[second], second.Username[:1]),
							fmt.Sprintf(`<span class="count-badge bell-count">%d<`, unreadOf[second]))
					}
					res, body = getPage(t, cached, e.path) // a guest, after members
					_, want = getPage(t, plain, e.path)
					tpWantStatus(t, res, body, http.StatusOK)
					wantSame(t, e.path+" for a guest", body, want)
				}

				// The second requests were hits: view counts, which no version
				// covers, move without changing what the cache serves...
				if _, err := db.NewRaw("UPDATE topics SET view_count = view_count + 1000").Exec(ctx); err != nil {
					t.Fatal(err)
				}
				hits := func(kind string) {
					t.Helper()
					for _, e := range urls {
						if e.hit != kind {
							continue
						}
						_, fresh := getPage(t, plain, e.path, second.cookie)
						if normal(fresh) == normal(got[e.path]) {
							t.Fatalf("%s: the change meant to tell cache hits apart shows no difference", e.path)
						}
						_, body := getPage(t, cached, e.path, second.cookie)
						if slices.Contains(e.owners, second) {
							wantSame(t, e.path+" (their own page) for "+second.Username, body, fresh)
						} else if body != got[e.path] {
							t.Errorf("%s for %s was not served from the cache", e.path, second.Username)
						}
					}
				}
				hits("views")
				// ...and so do search results after a new post, within its grace.
				mustModReply(t, db, dave, other.ID, "Printer firmware fixes it, says "+first.Username)
				catchUp()
				hits("index")
			})
		}
	})
}

// siteHeader returns the page's <header class="site-header"> element.
func siteHeader(body string) (string, bool) {
	_, rest, ok := strings.Cut(body, `<header class="site-header">`)
	if !ok {
		return "", false
	}
	h, _, ok := strings.Cut(rest, "</header>")
	return h, ok
}

// tookMS is the one part of a response that differs between two requests
// for the same thing: the search API's time taken.
var tookMS = regexp.MustCompile(`"took_ms":[0-9.e+-]+`)

// normal is body without what differs between two requests (tookMS).
func normal(body string) string { return tookMS.ReplaceAllLiteralString(body, `"took_ms":0`) }

// wantSame fails unless got and want are the same but for tookMS, showing
// where they part.
func wantSame(t *testing.T, what, got, want string) {
	t.Helper()
	got, want = normal(got), normal(want)
	if got == want {
		return
	}
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	from := max(0, i-120)
	t.Errorf("%s differs from the uncached page at byte %d:\ncached:   …%s…\nuncached: …%s…", what, i,
		got[from:min(len(got), i+120)], want[from:min(len(want), i+120)])
}
