package app_test

// TEMPORARY (perf work): dumps rendered pages to $GOLDEN_DIR so the output
// can be diffed before and after a change. Delete before finishing.

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"agora/accounts"
	"agora/app"
	"agora/forum"
	"agora/internal/testdb"
	"agora/models"
	"agora/moderation"
	"agora/seed"
)

func TestZZGolden(t *testing.T) {
	dir := os.Getenv("GOLDEN_DIR")
	if dir == "" {
		t.Skip("GOLDEN_DIR not set")
	}
	ctx := context.Background()
	db := testdb.Open(t, "sqlite")
	base := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	clock := base.Add(-45 * 24 * time.Hour)
	tick := func(d time.Duration) { clock = clock.Add(d) }
	now := func() time.Time { return clock }
	if _, err := seed.Synthetic(ctx, db, seed.Options{Topics: 40, Replies: 300, Users: 20, Seed: 1}, base.Add(-50*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	acc := accounts.New(db, now)
	fs := forum.New(db, now)
	ms := moderation.New(db, now)
	users := map[string]*models.User{}
	cookies := map[string]*http.Cookie{}
	mk := func(name, role string) *models.User {
		u, err := acc.Register(ctx, accounts.RegisterInput{Username: name, Email: name + "@example.com",
			Password: "a long enough password", AgeConfirmed: true, Role: role})
		if err != nil {
			t.Fatal(err)
		}
		users[name] = u
		return u
	}
	alice, bob, carol := mk("alice", ""), mk("bob", ""), mk("carol", "")
	mod, adm, sus, gone := mk("mod", models.RoleModerator), mk("adm", models.RoleAdmin), mk("sus", ""), mk("gone", "")
	_ = adm
	if _, err := db.NewUpdate().Model((*models.User)(nil)).Set("display_name = ?", "Alice A. <b>").Set("level = 3").Set("badge_count = 7").
		Where("id = ?", alice.ID).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	cat := &models.Category{Name: "Billing & Co", Slug: "billing", Color: "#3b6ea8", Position: 1, Description: "Money <stuff>"}
	if err := models.CreateCategory(ctx, db, cat); err != nil {
		t.Fatal(err)
	}
	empty := &models.Category{Name: "Empty", Slug: "empty", Color: "#aa0000", Position: 2}
	if err := models.CreateCategory(ctx, db, empty); err != nil {
		t.Fatal(err)
	}
	tick(time.Hour)
	t1, _, err := fs.CreateTopic(ctx, alice, forum.TopicInput{CategoryID: cat.ID, Title: "Invoices show the wrong currency & \"more\"",
		Body: "My invoice says **USD** but I pay in EUR.\n\n```\ncode <x>\n```"})
	if err != nil {
		t.Fatal(err)
	}
	var posts []*models.Post
	who := []*models.User{bob, carol, alice, gone, sus}
	for i := range 27 {
		tick(time.Duration(i*i+1) * 37 * time.Minute)
		var rt *int64
		if i == 1 || i == 6 {
			rt = &posts[0].ID
		}
		if i == 24 {
			rt = &posts[22].ID
		}
		p, err := fs.Reply(ctx, who[i%len(who)], t1.ID, fmt.Sprintf("Reply %d with *markdown* and <script>x</script> @alice", i), rt)
		if err != nil {
			t.Fatal(i, err)
		}
		posts = append(posts, p)
	}
	tick(time.Hour)
	if _, err := fs.Reply(ctx, mod, t1.ID, "Staff note", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := fs.EditPost(ctx, bob, posts[0].ID, "Edited reply by bob", "typo"); err != nil {
		t.Fatal(err)
	}
	if _, err := fs.Like(ctx, carol, posts[0].ID); err != nil {
		t.Fatal(err)
	}
	if _, err := fs.Like(ctx, alice, posts[0].ID); err != nil {
		t.Fatal(err)
	}
	if _, err := fs.Like(ctx, bob, posts[1].ID); err != nil {
		t.Fatal(err)
	}
	if _, err := fs.SetSolution(ctx, alice, t1.ID, posts[1].ID); err != nil {
		t.Fatal(err)
	}
	if _, err := ms.Flag(ctx, carol, posts[2].ID, "spam", "looks like spam"); err != nil {
		t.Fatal(err)
	}
	if _, err := ms.Flag(ctx, carol, posts[20].ID, "other", "note"); err != nil {
		t.Fatal(err)
	}
	if err := ms.RemovePost(ctx, mod, posts[4].ID, "spam"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.NewUpdate().Model((*models.Post)(nil)).Set("hidden_at = ?", clock).Where("id = ?", posts[5].ID).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := db.NewUpdate().Model((*models.Post)(nil)).Set("hidden_at = ?", clock).Where("id = ?", posts[8].ID).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	// t2: locked and pinned, no replies.
	tick(time.Hour)
	t2, _, err := fs.CreateTopic(ctx, bob, forum.TopicInput{CategoryID: cat.ID, Title: "Locked and pinned topic here", Body: "Nothing to see."})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ms.TopicAction(ctx, mod, t2.ID, moderation.TopicLock, "done", 0); err != nil {
		t.Fatal(err)
	}
	if _, err := ms.TopicAction(ctx, mod, t2.ID, moderation.TopicPin, "important", 0); err != nil {
		t.Fatal(err)
	}
	// t3: solution on page 2.
	tick(time.Hour)
	t3, _, err := fs.CreateTopic(ctx, carol, forum.TopicInput{CategoryID: cat.ID, Title: "Solved on the second page", Body: "Question?"})
	if err != nil {
		t.Fatal(err)
	}
	var p3 []*models.Post
	for i := range 22 {
		tick(time.Minute)
		p, err := fs.Reply(ctx, who[i%2], t3.ID, fmt.Sprintf("Answer %d", i), nil)
		if err != nil {
			t.Fatal(err)
		}
		p3 = append(p3, p)
	}
	if _, err := fs.SetSolution(ctx, carol, t3.ID, p3[21].ID); err != nil {
		t.Fatal(err)
	}
	tick(time.Hour)
	if err := ms.Suspend(ctx, mod, sus.ID, 3, time.Time{}, "rude", false); err != nil {
		t.Fatal(err)
	}
	if _, err := db.NewUpdate().Model((*models.User)(nil)).Set("deleted_at = ?", clock).Where("id = ?", gone.ID).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	tick(2 * time.Hour)

	for name, u := range users {
		tok, _, err := acc.StartSession(ctx, u.ID, "127.0.0.1", "test")
		if err != nil {
			t.Fatal(err)
		}
		cookies[name] = &http.Cookie{Name: "agora_session", Value: tok}
	}
	a := newApp(t, db, func(d *app.Deps) { d.Now = now })
	csrfRE := regexp.MustCompile(`(name="_csrf" value="|name="csrf-token" content=")[^"]*"`)
	u1 := fmt.Sprintf("/t/%d/%s", t1.ID, t1.Slug)
	u2 := fmt.Sprintf("/t/%d/%s", t2.ID, t2.Slug)
	u3 := fmt.Sprintf("/t/%d/%s", t3.ID, t3.Slug)
	paths := []string{u1, u1 + "?page=2", fmt.Sprintf("%s?quote=%d", u1, posts[0].ID), fmt.Sprintf("%s?reply_to=%d", u1, posts[1].ID),
		fmt.Sprintf("%s?page=2&quote=%d", u1, posts[22].ID),
		u2, u3, u3 + "?page=2", "/", "/?filter=unanswered", "/?filter=solved", "/?filter=top", "/?page=2", "/?filter=top&page=2",
		"/c/billing", "/c/empty", "/c/empty?filter=solved", "/c/billing?filter=unanswered", "/?filter=unanswered&page=999", "/login", "/register", "/search?q=invoice"}
	viewers := []string{"", "alice", "bob", "carol", "mod", "adm", "sus"}
	for _, v := range viewers {
		for i, p := range paths {
			req := httptest.NewRequest(http.MethodGet, p, nil)
			if v != "" {
				req.AddCookie(cookies[v])
			}
			res, body := call(t, a, req)
			body = csrfRE.ReplaceAllString(body, `${1}TOKEN"`)
			name := v
			if name == "" {
				name = "guest"
			}
			out := fmt.Sprintf("%s %d %s cache=%s\n%s", p, res.StatusCode, res.Header.Get("Content-Type"), res.Header.Get("Cache-Control"), body)
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%s_%02d.html", name, i)), []byte(out), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Form round trips: preview and an error.
	forms := []struct {
		name, who, path string
		vals            map[string]string
	}{
		{"preview", "bob", fmt.Sprintf("/t/%d/reply", t1.ID), map[string]string{"body": "**Preview** <i>x</i>", "preview": "1", "page": "2", "reply_to_post_id": fmt.Sprint(posts[1].ID)}},
		{"empty", "bob", fmt.Sprintf("/t/%d/reply", t1.ID), map[string]string{"body": "", "page": "1"}},
		{"badref", "carol", fmt.Sprintf("/t/%d/reply", t1.ID), map[string]string{"body": "hello there friends", "page": "1", "reply_to_post_id": "x"}},
		{"modpreview", "mod", fmt.Sprintf("/t/%d/reply", t2.ID), map[string]string{"body": "staff", "preview": "1"}},
	}
	for _, f := range forms {
		var tok string
		if err := db.NewSelect().TableExpr("sessions").Column("csrf_token").
			Where("token_hash = ?", accounts.HashToken(cookies[f.who].Value)).Scan(ctx, &tok); err != nil {
			t.Fatal(err)
		}
		vals := map[string]string{"_csrf": tok}
		for k, v := range f.vals {
			vals[k] = v
		}
		res, body := call(t, a, formReq(f.path, vals, cookies[f.who]))
		body = csrfRE.ReplaceAllString(body, `${1}TOKEN"`)
		out := fmt.Sprintf("%s %d\n%s", f.path, res.StatusCode, body)
		if err := os.WriteFile(filepath.Join(dir, "form_"+f.name+".html"), []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_ = strings.Contains
}
