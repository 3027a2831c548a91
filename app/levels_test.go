package app_test

import (
	"fmt"
	"html"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"agora/app"
	"agora/internal/testdb"
	"agora/models"
)

const (
	twoLinks   = "See https://example.com/a and https://example.com/b for the steps."
	threeLinks = "See https://example.com/a, https://example.com/b and https://example.com/c."
	anImage    = "Here is my screen: ![error](https://example.com/shot.png)"
)

// hostedTopic is a category with a topic by an established member, for newcomers to answer.
func hostedTopic(t *testing.T, db *bun.DB) (*models.Category, *models.Topic) {
	t.Helper()
	cat := mustTPCategory(t, db, "Questions", "questions")
	host := mustTPUser(t, db, "hosta", models.RoleMember)
	establish(t, db, "hosta")
	return cat, mustTPTopic(t, db, host, cat, "How do I rotate API keys?", "Mine are old.")
}

func TestNewMemberLimitsThroughTheAPI(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		a := newApp(t, db)
		cat, tp := hostedTopic(t, db)
		token := apiMember(t, a, "newbie")
		reply := func(body string) (*http.Response, string) {
			return call(t, a, jsonReq(http.MethodPost, fmt.Sprintf("/api/v1/topics/%d/posts", tp.ID), map[string]any{"body": body}, token))
		}

		res, body := reply(twoLinks)
		tpWantStatus(t, res, body, http.StatusCreated)
		postID := int64(num(decode(t, body), "post", "id"))
		before := rowCount(t, db, "posts")
		res, body = reply(threeLinks)
		tpWantStatus(t, res, body, http.StatusUnprocessableEntity)
		if _, fields := apiErr(t, body); !strings.Contains(fmt.Sprint(fields["body"]), "at most 2 links in a post (this one has 3)") ||
			!strings.Contains(fmt.Sprint(fields["body"]), "level 2") {
			t.Errorf("three links: fields %v, want the link limit and how to reach level 2", fields)
		}
		res, body = reply(anImage)
		tpWantStatus(t, res, body, http.StatusUnprocessableEntity)
		if _, fields := apiErr(t, body); !strings.Contains(fmt.Sprint(fields["body"]), "cannot post images") {
			t.Errorf("image: fields %v, want the image limit", fields)
		}
		if n := rowCount(t, db, "posts"); n != before {
			t.Errorf("refused posts wrote %d rows", n-before)
		}
		// An edit is held to the same limits.
		res, body = call(t, a, jsonReq(http.MethodPatch, fmt.Sprintf("/api/v1/posts/%d", postID), map[string]any{"body": threeLinks}, token))
		tpWantStatus(t, res, body, http.StatusUnprocessableEntity)
		if _, fields := apiErr(t, body); !strings.Contains(fmt.Sprint(fields["body"]), "at most 2 links") {
			t.Errorf("edit to three links: fields %v, want the link limit", fields)
		}
		var kept string
		if err := db.NewSelect().Model((*models.Post)(nil)).Column("body").Where("id = ?", postID).Scan(t.Context(), &kept); err != nil || kept != twoLinks {
			t.Errorf("after the refused edit the post reads %q (%v), want it unchanged", kept, err)
		}

		for i := range 3 {
			res, body = call(t, a, jsonReq(http.MethodPost, "/api/v1/topics", map[string]any{"category_id": cat.ID,
				"title": fmt.Sprintf("Where are the invoices, part %d?", i+1), "body": "I cannot find them."}, token))
			tpWantStatus(t, res, body, http.StatusCreated)
		}
		res, body = call(t, a, jsonReq(http.MethodPost, "/api/v1/topics", map[string]any{"category_id": cat.ID,
			"title": "Where are the invoices, part 4?", "body": "I cannot find them."}, token))
		tpWantStatus(t, res, body, http.StatusTooManyRequests)
		if code, _ := apiErr(t, body); code != "rate_limited" || !strings.Contains(body, "at most 3 topics in their first 24 hours") {
			t.Errorf("fourth topic: %s, want rate_limited naming the topic limit", body)
		}
		if res.Header.Get("Retry-After") == "" {
			t.Error("fourth topic: no Retry-After")
		}

		// Level 2 lifts every limit.
		establish(t, db, "newbie")
		res, body = reply(threeLinks + "\n\n" + anImage)
		tpWantStatus(t, res, body, http.StatusCreated)
		res, body = call(t, a, jsonReq(http.MethodPost, "/api/v1/topics", map[string]any{"category_id": cat.ID,
			"title": "Where are the invoices, part 4?", "body": "I cannot find them."}, token))
		tpWantStatus(t, res, body, http.StatusCreated)
	})
}

func TestNewMemberLimitsInTheForms(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		a := newApp(t, db)
		cat, tp := hostedTopic(t, db)
		u := mustTPUser(t, db, "newbie", models.RoleMember)
		path := fmt.Sprintf("/t/%d/reply", tp.ID)

		res, body := u.post(t, a, path, map[string]string{"body": twoLinks})
		tpWantStatus(t, res, body, http.StatusSeeOther)
		res, body = u.post(t, a, path, map[string]string{"body": threeLinks})
		tpWantStatus(t, res, body, http.StatusUnprocessableEntity)
		tpWantContains(t, html.UnescapeString(body), "at most 2 links in a post (this one has 3)", ">"+threeLinks+"</textarea>")
		res, body = u.post(t, a, path, map[string]string{"body": anImage})
		tpWantStatus(t, res, body, http.StatusUnprocessableEntity)
		tpWantContains(t, html.UnescapeString(body), "cannot post images", anImage+"</textarea>")

		for i := range 3 {
			res, body = u.post(t, a, "/new-topic", map[string]string{"category_id": fmt.Sprint(cat.ID),
				"title": fmt.Sprintf("Where are the invoices, part %d?", i+1), "body": "I cannot find them."})
			tpWantStatus(t, res, body, http.StatusSeeOther)
		}
		res, body = u.post(t, a, "/new-topic", map[string]string{"category_id": fmt.Sprint(cat.ID),
			"title": "Where are the invoices, part 4?", "body": "Still cannot find them."})
		tpWantStatus(t, res, body, http.StatusTooManyRequests)
		tpWantContains(t, html.UnescapeString(body), "at most 3 topics in their first 24 hours",
			`value="Where are the invoices, part 4?"`, "Still cannot find them.</textarea>")
		if res.Header.Get("Retry-After") == "" {
			t.Error("the refused form has no Retry-After")
		}
	})
}

// TestLevelShowsEverywhere locks a member's level through the API and finds
// the new level, once the flair grace is over, on the cached topic page, the
// topic list, the profile and the JSON, with the lock in the moderation log.
func TestLevelShowsEverywhere(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		var mu sync.Mutex
		now := time.Now()
		a := newApp(t, db, func(d *app.Deps) {
			d.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
		})
		cat := mustTPCategory(t, db, "Questions", "questions")
		u := mustTPUser(t, db, "judy", models.RoleMember)
		tp := mustTPTopic(t, db, u, cat, "How do I rotate API keys?", "Mine are old.")
		mustTPUser(t, db, "mia", models.RoleModerator)
		_, modToken := mustAPILogin(t, a, "mia")
		topicPath := fmt.Sprintf("/t/%d/%s", tp.ID, tp.Slug)

		for range 2 { // the second read is served by the page cache
			res, body := getPage(t, a, topicPath)
			tpWantStatus(t, res, body, http.StatusOK)
			tpWantContains(t, body, "Userlevel 1 · Badge +0")
		}
		res, body := call(t, a, jsonReq(http.MethodPost, fmt.Sprintf("/api/v1/mod/users/%d/lock-level", u.ID),
			map[string]any{"level": 4, "reason": "long-time customer"}, modToken))
		tpWantStatus(t, res, body, http.StatusOK)

		// Flair may show up to 30 s late on cached pages (flairGrace).
		mu.Lock()
		now = now.Add(31 * time.Second)
		mu.Unlock()
		// Badge +3: the level 2, 3 and 4 badges came with the lock.
		want := "Userlevel 4 · Badge +3"
		for _, path := range []string{topicPath, "/", "/u/judy"} {
			res, body := getPage(t, a, path)
			tpWantStatus(t, res, body, http.StatusOK)
			tpWantContains(t, body, want)
		}
		_, body = call(t, a, jsonReq(http.MethodGet, "/api/v1/users/judy", nil, ""))
		m := decode(t, body)
		if num(m, "user", "level") != 4 || num(m, "user", "badge_count") != 3 || num(m, "standing", "level") != 4 {
			t.Errorf("API user: %s, want level 4 with 3 badges", body)
		}
		_, body = call(t, a, jsonReq(http.MethodGet, fmt.Sprintf("/api/v1/topics/%d", tp.ID), nil, ""))
		if !strings.Contains(body, `"level":4`) || !strings.Contains(body, `"badge_count":3`) {
			t.Errorf("API topic does not carry the author's level and badges: %.400s", body)
		}
		var actions []string
		if err := db.NewSelect().Model((*models.ModAction)(nil)).Column("action").Where("target_user_id = ?", u.ID).
			Scan(t.Context(), &actions); err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(actions) != "[lock_level]" {
			t.Errorf("log: %v, want one lock_level", actions)
		}
	})
}

func TestProfileShowsProgress(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		a := newApp(t, db)
		u := mustTPUser(t, db, "judy", models.RoleMember)
		if _, err := db.NewUpdate().Model((*models.User)(nil)).Set("topics_read = 3, days_visited = 1").Where("id = ?", u.ID).
			Exec(t.Context()); err != nil {
			t.Fatal(err)
		}
		res, body := getPage(t, a, "/u/judy")
		tpWantStatus(t, res, body, http.StatusOK)
		page := html.UnescapeString(body)
		tpWantContains(t, page, "Level 1 · New member", "Toward level 2 · Member",
			"topics read", "3 of 5", "2 to go", // the seeded level 2 needs 5 topics read
			"days visited", "1 of 2", "1 to go",
			"any number of links, images and video embeds in a post")
		_, body = call(t, a, jsonReq(http.MethodGet, "/api/v1/users/judy", nil, ""))
		if !strings.Contains(body, `{"name":"topics read","have":3,"need":5,"met":false}`) {
			t.Errorf("API standing lacks the topics-read requirement: %.600s", body)
		}
	})
}

func TestManualBadgeGrantAndRevoke(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		a := newApp(t, db)
		mustTPUser(t, db, "ada", models.RoleAdmin)
		u := mustTPUser(t, db, "judy", models.RoleMember)
		_, adminToken := mustAPILogin(t, a, "ada")
		res, body := call(t, a, jsonReq(http.MethodPost, "/api/v1/admin/badges", map[string]any{"name": "Beta tester",
			"description": "Tried the product before launch.", "tier": "silver", "icon": "trophy"}, adminToken))
		tpWantStatus(t, res, body, http.StatusCreated)
		id := int64(num(decode(t, body), "badge", "id"))
		grant := func(action string) (*http.Response, string) {
			return call(t, a, jsonReq(http.MethodPost, fmt.Sprintf("/api/v1/admin/badges/%d/%s", id, action),
				map[string]any{"user_id": u.ID, "reason": "beta programme"}, adminToken))
		}
		res, body = grant("grant")
		tpWantStatus(t, res, body, http.StatusOK)
		_, body = getPage(t, a, fmt.Sprintf("/badges/%d", id))
		tpWantContains(t, body, "Beta tester", `href="/u/judy"`)
		_, body = getPage(t, a, "/u/judy")
		tpWantContains(t, body, "Beta tester", "Badge +1")
		_, body = call(t, a, jsonReq(http.MethodGet, "/api/v1/badges", nil, ""))
		if !strings.Contains(body, `"name":"Beta tester"`) || !strings.Contains(body, `"holder_count":1`) {
			t.Errorf("badge list lacks the holder: %.300s", body)
		}
		res, body = grant("revoke")
		tpWantStatus(t, res, body, http.StatusOK)
		_, body = getPage(t, a, "/u/judy")
		if strings.Contains(body, "Beta tester") || !strings.Contains(body, "Badge +0") {
			t.Error("profile still shows the revoked badge")
		}
		var actions []string
		if err := db.NewSelect().Model((*models.ModAction)(nil)).Column("action").Where("target_type = 'badge'").
			Order("id").Scan(t.Context(), &actions); err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(actions) != "[create_badge grant_badge revoke_badge]" {
			t.Errorf("log: %v, want create, grant, revoke", actions)
		}
		// Rule badges are the engine's: an admin cannot hand them out.
		var rule int64
		if err := db.NewSelect().Model((*models.Badge)(nil)).Column("id").Where("rule = 'first_topic'").Scan(t.Context(), &rule); err != nil {
			t.Fatal(err)
		}
		res, body = call(t, a, jsonReq(http.MethodPost, fmt.Sprintf("/api/v1/admin/badges/%d/grant", rule),
			map[string]any{"user_id": u.ID}, adminToken))
		tpWantStatus(t, res, body, http.StatusForbidden)
	})
}
