package app_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"agora/internal/testdb"
	"agora/models"
	"agora/moderation"
)

// TestNotifications: a reply notifies the topic's author, who sees it in the
// API and on /notifications and can mark everything read.
func TestNotifications(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		a := newApp(t, db)
		admin, asker, helper := apiMember(t, a, "admin1"), apiMember(t, a, "asker"), apiMember(t, a, "helper")
		promote(t, db, "admin1", models.RoleAdmin)
		_, body := call(t, a, jsonReq(http.MethodPost, "/api/v1/admin/categories", map[string]any{"name": "Help"}, admin))
		catID := num(decode(t, body), "category", "id")
		_, body = call(t, a, jsonReq(http.MethodPost, "/api/v1/topics", map[string]any{"category_id": catID, "title": "Where is the billing page?", "body": "?"}, asker))
		topicID := int64(num(decode(t, body), "topic", "id"))
		call(t, a, jsonReq(http.MethodPost, fmt.Sprintf("/api/v1/topics/%d/posts", topicID), map[string]any{"body": "Settings → Billing"}, helper))

		// Two unread: the reply and the badge for a first topic.
		res, body := call(t, a, jsonReq(http.MethodGet, "/api/v1/notifications", nil, asker))
		if res.StatusCode != http.StatusOK || num(decode(t, body), "unread") != 2 || !strings.Contains(body, "helper replied") ||
			!strings.Contains(body, "You earned the bronze badge Curious") {
			t.Fatalf("notifications: %d %s, want an unread reply and badge", res.StatusCode, body)
		}
		res, page := call(t, a, jsonReq(http.MethodGet, "/notifications", nil, asker))
		if res.StatusCode != http.StatusOK || !strings.Contains(page, "helper replied in Where is the billing page?") || !strings.Contains(page, "Mark all as read") {
			t.Errorf("notifications page: %d, missing the reply", res.StatusCode)
		}
		if res, _ := call(t, a, jsonReq(http.MethodPost, "/api/v1/notifications/read", nil, asker)); res.StatusCode != http.StatusNoContent {
			t.Errorf("mark read: %d, want 204", res.StatusCode)
		}
		_, body = call(t, a, jsonReq(http.MethodGet, "/api/v1/notifications", nil, asker))
		if num(decode(t, body), "unread") != 0 {
			t.Errorf("after marking read: %s", body)
		}
		if res, _ := call(t, a, jsonReq(http.MethodGet, "/notifications", nil, "")); res.StatusCode != http.StatusSeeOther {
			t.Errorf("guest on /notifications: %d, want a redirect to sign in", res.StatusCode)
		}
	})
}

// TestGuestPagesMintNoCSRFCookie: pages a guest cannot post from do not set
// the double-submit cookie; the sign-in page does, and its form then works.
func TestGuestPagesMintNoCSRFCookie(t *testing.T) {
	a := newApp(t, testdb.Open(t, "sqlite"))
	for _, path := range []string{"/", "/?filter=solved"} {
		res, _ := call(t, a, jsonReq(http.MethodGet, path, nil, ""))
		if c := cookieNamed(res, "agora_csrf"); c != nil {
			t.Errorf("GET %s set a CSRF cookie for a guest", path)
		}
	}
	res, page := call(t, a, jsonReq(http.MethodGet, "/login", nil, ""))
	c := cookieNamed(res, "agora_csrf")
	if c == nil || !strings.Contains(page, `name="_csrf" value="`+c.Value+`"`) {
		t.Fatalf("login page: cookie %v, form does not carry it", c)
	}
	res, _ = call(t, a, formReq("/login", map[string]string{"_csrf": c.Value, "login": "nobody", "password": "wrong password"}, c))
	if res.StatusCode != http.StatusUnauthorized {
		t.Errorf("login with the page's token: %d, want 401 (checked, not refused as forged)", res.StatusCode)
	}
}

// notes returns u's notifications of kind, newest first.
func notes(t *testing.T, db *bun.DB, u *tpUser, kind string) []*models.Notification {
	t.Helper()
	var ns []*models.Notification
	if err := db.NewSelect().Model(&ns).Where("user_id = ?", u.ID).Where("kind = ?", kind).OrderExpr("id DESC").
		Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	return ns
}

// TestMentionsWatchingAndMuting: an @mention links the member and tells
// them; watchers hear of every reply, muters of none; a category's watchers
// hear of new topics; the topic page shows each member their own level.
func TestMentionsWatchingAndMuting(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		a := newApp(t, db)
		asker, helper, carol, dave, erin := mustTPUser(t, db, "asker", ""), mustTPUser(t, db, "helper", ""),
			mustTPUser(t, db, "Carol", ""), mustTPUser(t, db, "dave", ""), mustTPUser(t, db, "erin", "")
		establish(t, db, "asker", "helper", "Carol", "dave", "erin")
		cat := mustTPCategory(t, db, "Billing", "billing")
		topic := mustTPTopic(t, db, asker, cat, "Invoices show the wrong VAT", "Since March.")
		path := fmt.Sprintf("/t/%d/%s", topic.ID, topic.Slug)

		res, body := helper.post(t, a, fmt.Sprintf("/t/%d/reply", topic.ID), map[string]string{
			"body": "@carol knows this; `@dave` is code, mail bob@example.com, and @nobody is not a member."})
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("reply: %d %s", res.StatusCode, body)
		}
		_, page := carol.get(t, a, path)
		tpWantContains(t, page, `<a class="mention" href="/u/Carol" rel="nofollow ugc noopener">@Carol</a>`, "@nobody is not")
		if strings.Contains(page, `href="/u/nobody"`) || strings.Contains(page, `href="/u/dave"`) {
			t.Error("an unknown name or a name in code became a mention link")
		}
		if ns := notes(t, db, carol, models.NotifyMention); len(ns) != 1 || ns[0].Message != "helper mentioned you in "+topic.Title {
			t.Fatalf("carol's mentions: %+v", ns)
		}
		if ns := notes(t, db, dave, models.NotifyMention); len(ns) != 0 {
			t.Error("a name in code notified its member")
		}
		if ns := notes(t, db, asker, models.NotifyReply); len(ns) != 1 {
			t.Fatalf("the asker's reply notifications: %d, want 1", len(ns))
		}

		// dave watches, the asker mutes.
		res, _ = dave.post(t, a, fmt.Sprintf("/t/%d/watch", topic.ID), map[string]string{"level": "watching", "next": path})
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != path {
			t.Fatalf("watch: %d to %q", res.StatusCode, res.Header.Get("Location"))
		}
		req := withCookies(jsonReq(http.MethodPut, fmt.Sprintf("/api/v1/topics/%d/watch", topic.ID),
			map[string]any{"level": "loud"}, ""), asker.cookie)
		req.Header.Set("X-CSRF-Token", asker.csrf)
		if res, body = call(t, a, req); res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "level") {
			t.Errorf("a bad level: %d %s, want 422 naming it", res.StatusCode, body)
		}
		asker.post(t, a, fmt.Sprintf("/t/%d/watch", topic.ID), map[string]string{"level": "muted", "next": path})
		_, page = dave.get(t, a, path)
		tpWantContains(t, page, `class="btn btn-ghost watch-watching is-current" title="every new post notifies you" aria-pressed="true"`)
		_, page = erin.get(t, a, path)
		tpWantContains(t, page, `watch-normal is-current`)
		_, page = asker.get(t, a, path)
		tpWantContains(t, page, `watch-muted is-current`)

		mustModReply(t, db, helper, topic.ID, "Also check the tax settings.")
		if ns := notes(t, db, dave, models.NotifyWatching); len(ns) != 1 || ns[0].Message != "helper replied in "+topic.Title {
			t.Errorf("the watcher's notifications: %+v, want the new reply", ns)
		}
		if ns := notes(t, db, asker, models.NotifyReply); len(ns) != 1 {
			t.Errorf("the muted asker got %d reply notifications, want still 1", len(ns))
		}

		// erin watches the category: a new topic there tells her; muting it
		// silences the replies in its topics, unless she watches the topic.
		res, _ = erin.post(t, a, fmt.Sprintf("/c/%d/watch", cat.ID), map[string]string{"level": "watching", "next": "/c/billing"})
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("watch the category: %d", res.StatusCode)
		}
		_, page = erin.get(t, a, "/c/billing")
		tpWantContains(t, page, `watch-watching is-current`)
		_, page = dave.get(t, a, "/c/billing")
		tpWantContains(t, page, `watch-normal is-current`)
		second := mustTPTopic(t, db, helper, cat, "Refunds take two weeks", "Is that normal?")
		if ns := notes(t, db, erin, models.NotifyWatching); len(ns) != 1 || ns[0].Message != "helper started "+second.Title+" in Billing" {
			t.Errorf("the category watcher's notifications: %+v", ns)
		}
		_, page = erin.get(t, a, "/settings")
		tpWantContains(t, page, `data-watch="watching"`, `/c/billing">Billing</a>`)
	})
}

// TestLikesAreGrouped: likes on one post are one notification while unread.
func TestLikesAreGrouped(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		a := newApp(t, db)
		author := mustTPUser(t, db, "author", "")
		likers := []*tpUser{mustTPUser(t, db, "ana", ""), mustTPUser(t, db, "ben", ""), mustTPUser(t, db, "cyd", "")}
		establish(t, db, "author", "ana", "ben", "cyd")
		cat := mustTPCategory(t, db, "Tips", "tips")
		topic := mustTPTopic(t, db, likers[0], cat, "Share your shortcuts", "Mine: Ctrl+K.")
		reply := mustModReply(t, db, author, topic.ID, "Press g then i for the inbox.")
		for _, u := range likers {
			if res, _ := u.post(t, a, fmt.Sprintf("/p/%d/like", reply.ID), nil); res.StatusCode != http.StatusSeeOther {
				t.Fatalf("%s likes: %d", u.Username, res.StatusCode)
			}
		}
		// The last liker unlikes and likes again: still three.
		likers[2].post(t, a, fmt.Sprintf("/p/%d/like", reply.ID), nil)
		likers[2].post(t, a, fmt.Sprintf("/p/%d/like", reply.ID), nil)
		ns := notes(t, db, author, models.NotifyLike)
		if len(ns) != 1 || ns[0].Count != 3 || ns[0].Message != "cyd and 2 others liked your reply in "+topic.Title {
			t.Fatalf("like notifications: %+v, want one counting 3", ns)
		}
		res, _ := author.get(t, a, fmt.Sprintf("/notifications/%d", ns[0].ID))
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != fmt.Sprintf("/t/%d/%s#post-2", topic.ID, topic.Slug) {
			t.Fatalf("opening it: %d to %q, want the reply", res.StatusCode, res.Header.Get("Location"))
		}
		if ns := notes(t, db, author, models.NotifyLike); ns[0].ReadAt == nil {
			t.Error("opening a notification did not mark it read")
		}
		if res, _ := likers[0].get(t, a, fmt.Sprintf("/notifications/%d", ns[0].ID)); res.StatusCode != http.StatusNotFound {
			t.Errorf("another member opening it: %d, want 404", res.StatusCode)
		}
		// A like after reading starts a new group.
		fan := mustTPUser(t, db, "fan", "")
		fan.post(t, a, fmt.Sprintf("/p/%d/like", reply.ID), nil)
		if ns := notes(t, db, author, models.NotifyLike); len(ns) != 2 || ns[0].Count != 1 || ns[0].Message != "fan liked your reply in "+topic.Title {
			t.Errorf("after reading, a new like: %+v", ns)
		}
		// The API marks one read and says where it leads.
		req := withCookies(jsonReq(http.MethodPost, fmt.Sprintf("/api/v1/notifications/%d/read", notes(t, db, author, models.NotifyLike)[0].ID),
			nil, ""), author.cookie)
		req.Header.Set("X-CSRF-Token", author.csrf)
		_, body := call(t, a, req)
		if !strings.Contains(body, fmt.Sprintf(`"url":"/t/%d/%s#post-2"`, topic.ID, topic.Slug)) {
			t.Errorf("read one by the API: %s", body)
		}
	})
}

// TestStaffAlerts: staff hear of a severe flag and of a post the community hid.
func TestStaffAlerts(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		mod, admin := mustTPUser(t, db, "mona", models.RoleModerator), mustTPUser(t, db, "adam", models.RoleAdmin)
		author, flagger := mustTPUser(t, db, "author", ""), mustTPUser(t, db, "flagger", "")
		establish(t, db, "author", "flagger")
		cat := mustTPCategory(t, db, "General", "general")
		topic := mustTPTopic(t, db, author, cat, "Meet me after work", "You know where.")
		post := mustModReply(t, db, author, topic.ID, "Or else.")
		if _, err := moderation.New(db, nil).Flag(ctx, flagger.User, post.ID, "violence", ""); err != nil {
			t.Fatal(err)
		}
		for _, s := range []*tpUser{mod, admin} {
			if ns := notes(t, db, s, models.NotifyStaffFlag); len(ns) != 1 || !strings.Contains(ns[0].Message, "Threat of violence") {
				t.Errorf("%s's severe flag alerts: %+v", s.Username, ns)
			}
		}
		if ns := notes(t, db, author, models.NotifyStaffFlag); len(ns) != 0 {
			t.Error("a member got a staff alert")
		}
		// Enough weight hides the post: staff hear of it.
		for i := range 5 {
			f := mustTPUser(t, db, fmt.Sprintf("flagger%d", i), "")
			establish(t, db, f.Username)
			if _, err := moderation.New(db, nil).Flag(ctx, f.User, post.ID, "harassment", ""); err != nil {
				t.Fatal(err)
			}
		}
		if p, _ := models.PostByID(ctx, db, post.ID); p.HiddenAt == nil {
			t.Fatal("six flags did not hide the post; raise the count")
		}
		for _, s := range []*tpUser{mod, admin} {
			if ns := notes(t, db, s, models.NotifyStaffHidden); len(ns) != 1 {
				t.Errorf("%s's hidden-post alerts: %d, want 1", s.Username, len(ns))
			}
		}
	})
}

// TestBellCount: the bell shows the unread count, "99+" past 99, and
// nothing once everything is read.
func TestBellCount(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		a := newApp(t, db)
		bea := mustTPUser(t, db, "bea", "")
		add := func(n int) {
			t.Helper()
			ns := make([]*models.Notification, n)
			for i := range ns {
				ns[i] = &models.Notification{UserID: bea.ID, Kind: models.NotifyBadge, Message: fmt.Sprint("note ", i), CreatedAt: time.Now()}
			}
			if err := models.CreateNotifications(context.Background(), db, ns); err != nil {
				t.Fatal(err)
			}
		}
		add(7)
		_, page := bea.get(t, a, "/")
		tpWantContains(t, page, `<span class="count-badge bell-count">7<`)
		add(113)
		_, page = bea.get(t, a, "/")
		tpWantContains(t, page, `<span class="count-badge bell-count">99+<`)
		bea.post(t, a, "/notifications/read", nil)
		if _, page = bea.get(t, a, "/"); strings.Contains(page, "bell-count") {
			t.Error("the bell still shows a count after reading everything")
		}
	})
}
