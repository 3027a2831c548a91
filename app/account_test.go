package app_test

import (
	"archive/zip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"agora/internal/testdb"
	"agora/models"
)

// TestSettingsProfile: a bad profile is refused with the form kept as
// typed; a good one shows on the member's profile and in the API.
func TestSettingsProfile(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		a := newApp(t, db)
		pia := mustTPUser(t, db, "pia", "")
		long := strings.Repeat("word ", 101)
		res, page := pia.post(t, a, "/settings/profile", map[string]string{"display_name": "Pia P.", "bio": long})
		tpWantStatus(t, res, page, http.StatusUnprocessableEntity)
		tpWantContains(t, page, "keep the bio under 500 characters", `value="Pia P."`, strings.TrimSpace(long[:40]))
		res, _ = pia.post(t, a, "/settings/profile", map[string]string{"display_name": "  Pia Pedersen ", "bio": "Support lead at Acme."})
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("save profile: %d", res.StatusCode)
		}
		_, page = getPage(t, a, "/u/pia")
		tpWantContains(t, page, "Pia Pedersen", "Support lead at Acme.")
		req := withCookies(jsonReq(http.MethodPatch, "/api/v1/me", map[string]any{"display_name": "Pia", "bio": ""}, ""), pia.cookie)
		req.Header.Set("X-CSRF-Token", pia.csrf)
		res, body := call(t, a, req)
		if res.StatusCode != http.StatusOK || !strings.Contains(body, `"display_name":"Pia"`) {
			t.Errorf("PATCH /api/v1/me: %d %s", res.StatusCode, body)
		}
		req = withCookies(jsonReq(http.MethodPatch, "/api/v1/me", map[string]any{"display_name": "bad\x01name"}, ""), pia.cookie)
		req.Header.Set("X-CSRF-Token", pia.csrf)
		if res, body = call(t, a, req); res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "display_name") {
			t.Errorf("a control character in the name: %d %s, want 422", res.StatusCode, body)
		}
	})
}

// TestAvatarColor: the colour a member picks shows at once on pages the
// cache already holds (the topic page, the home list, their own header),
// an unknown colour is refused with the form kept, and the API sets and
// keeps it.
func TestAvatarColor(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		a := newApp(t, db)
		ida := mustTPUser(t, db, "ida", "")
		cat := mustTPCategory(t, db, "Billing", "billing")
		topic := mustTPTopic(t, db, ida, cat, "Invoices come twice", "Every invoice arrives twice.")
		topicPath := fmt.Sprintf("/t/%d/%s", topic.ID, topic.Slug)
		auto := models.AvatarColors[ida.ID%int64(len(models.AvatarColors))]
		postAvatar := func(color string) string { return `class="avatar avatar-md av-` + color + `"` }
		for range 2 { // the second is served from the cache
			_, page := getPage(t, a, topicPath)
			tpWantContains(t, page, postAvatar(auto))
		}
		_, home := getPage(t, a, "/")
		tpWantContains(t, home, `<span class="avatar av-`+auto+`" aria-hidden="true">i</span>`)

		res, page := ida.post(t, a, "/settings/profile", map[string]string{"display_name": "Ida I.", "avatar_color": "chartreuse"})
		tpWantStatus(t, res, page, http.StatusUnprocessableEntity)
		tpWantContains(t, page, "pick one of blue, green", `value="Ida I."`)
		if _, page = getPage(t, a, topicPath); strings.Contains(page, "Ida I.") {
			t.Error("a refused profile was saved")
		}

		res, _ = ida.post(t, a, "/settings/profile", map[string]string{"display_name": "Ida I.", "avatar_color": "orange"})
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("save the colour: %d", res.StatusCode)
		}
		_, page = getPage(t, a, topicPath)
		tpWantContains(t, page, postAvatar("orange"))
		_, home = getPage(t, a, "/")
		tpWantContains(t, home, `<span class="avatar av-orange" aria-hidden="true">i</span>`)
		_, page = ida.get(t, a, topicPath)
		if h, _ := siteHeader(page); !strings.Contains(h, `<span class="avatar av-orange" aria-hidden="true">i</span>`) {
			t.Errorf("ida's own header does not show her colour: %s", h)
		}
		_, page = ida.get(t, a, "/settings")
		tpWantContains(t, page, `value="orange" checked`)

		patch := func(body map[string]any) (*http.Response, string) {
			req := withCookies(jsonReq(http.MethodPatch, "/api/v1/me", body, ""), ida.cookie)
			req.Header.Set("X-CSRF-Token", ida.csrf)
			return call(t, a, req)
		}
		if res, body := patch(map[string]any{"display_name": "Ida", "avatar_color": "teal"}); res.StatusCode != http.StatusOK ||
			!strings.Contains(body, `"avatar_color":"teal"`) {
			t.Errorf("PATCH avatar_color teal: %d %s", res.StatusCode, body)
		}
		if res, body := patch(map[string]any{"display_name": "Ida"}); res.StatusCode != http.StatusOK ||
			!strings.Contains(body, `"avatar_color":"teal"`) {
			t.Errorf("PATCH without avatar_color: %d %s, want teal kept", res.StatusCode, body)
		}
		if res, body := patch(map[string]any{"avatar_color": 7}); res.StatusCode != http.StatusBadRequest {
			t.Errorf("PATCH avatar_color 7: %d %s, want 400", res.StatusCode, body)
		}
		_, body := call(t, a, jsonReq(http.MethodGet, fmt.Sprintf("/api/v1/topics/%d", topic.ID), nil, ""))
		tpWantContains(t, body, `"username":"ida","display_name":"Ida","level":`, `"avatar_color":"teal"}`)
		if res, body := patch(map[string]any{"display_name": "Ida", "avatar_color": ""}); res.StatusCode != http.StatusOK ||
			!strings.Contains(body, `"avatar_color":""`) {
			t.Errorf("PATCH back to automatic: %d %s", res.StatusCode, body)
		}
		_, page = getPage(t, a, topicPath)
		tpWantContains(t, page, postAvatar(auto))
	})
}

// TestSettingsPassword: the current password is required; a change signs
// every other session out and keeps this one.
func TestSettingsPassword(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		a := newApp(t, db)
		uma := mustTPUser(t, db, "uma", "")
		other, token := mustAPILogin(t, a, "uma")
		res, page := uma.post(t, a, "/settings/password", map[string]string{"current_password": "wrong password!",
			"password": "a new long password", "password_again": "a new long password"})
		tpWantStatus(t, res, page, http.StatusUnauthorized)
		res, page = uma.post(t, a, "/settings/password", map[string]string{"current_password": memberPassword,
			"password": "a new long password", "password_again": "something else"})
		tpWantStatus(t, res, page, http.StatusUnprocessableEntity)
		tpWantContains(t, page, "the two passwords differ")
		res, _ = uma.post(t, a, "/settings/password", map[string]string{"current_password": memberPassword,
			"password": "a new long password", "password_again": "a new long password"})
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("change: %d", res.StatusCode)
		}
		if res, _ := uma.get(t, a, "/settings"); res.StatusCode != http.StatusOK {
			t.Errorf("this session after the change: %d, want still signed in", res.StatusCode)
		}
		if res, _ := getPage(t, a, "/settings", other); res.StatusCode != http.StatusSeeOther {
			t.Errorf("another session after the change: %d, want signed out", res.StatusCode)
		}
		if res, _ := call(t, a, jsonReq(http.MethodGet, "/api/v1/me", nil, token)); res.StatusCode != http.StatusOK {
			t.Errorf("an API token after a password change: %d, want it kept (sign out everywhere ends it)", res.StatusCode)
		}
		res, _ = call(t, a, jsonReq(http.MethodPost, "/api/v1/auth/login", map[string]any{"login": "uma", "password": "a new long password"}, ""))
		if res.StatusCode != http.StatusOK {
			t.Errorf("sign in with the new password: %d", res.StatusCode)
		}

		// A member without a password sets one within 10 minutes of signing in, not later.
		sso := mustTPUser(t, db, "ssomember", "")
		if _, err := db.NewRaw("UPDATE users SET password_hash = '' WHERE id = ?", sso.ID).Exec(context.Background()); err != nil {
			t.Fatal(err)
		}
		if _, err := db.NewRaw("UPDATE sessions SET created_at = ? WHERE user_id = ?", time.Now().UTC().Add(-time.Hour), sso.ID).
			Exec(context.Background()); err != nil {
			t.Fatal(err)
		}
		res, page = sso.post(t, a, "/settings/password", map[string]string{"password": "a first password", "password_again": "a first password"})
		tpWantStatus(t, res, page, http.StatusForbidden)
		tpWantContains(t, page, "ign in again (within the last 10 minutes)")
		if _, err := db.NewRaw("UPDATE sessions SET created_at = ? WHERE user_id = ?", time.Now().UTC(), sso.ID).
			Exec(context.Background()); err != nil {
			t.Fatal(err)
		}
		res, _ = sso.post(t, a, "/settings/password", map[string]string{"password": "a first password", "password_again": "a first password"})
		if res.StatusCode != http.StatusSeeOther {
			t.Errorf("a first password right after signing in: %d, want 303", res.StatusCode)
		}
	})
}

// TestSettingsAddress: a new address needs the password and must be free;
// it starts unconfirmed, gets the confirmation link, and the old address
// gets nothing.
func TestSettingsAddress(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		m := newMailApp(t, db)
		vera, _ := mustJoin(t, m.a, db, "vera")
		mustTPUser(t, db, "taken", "")
		ctx := context.Background()
		if _, err := models.VerifyEmail(ctx, db, vera.ID, vera.Email, time.Now()); err != nil {
			t.Fatal(err)
		}
		if err := models.MarkBouncing(ctx, db, vera.ID, "550", time.Now()); err != nil {
			t.Fatal(err)
		}
		m.deliver(t)
		m.smtp.Reset()
		res, page := vera.post(t, m.a, "/settings/email/address", map[string]string{"email": "vera@new.example.com", "password": "nope nope nope"})
		tpWantStatus(t, res, page, http.StatusUnauthorized)
		tpWantContains(t, page, `value="vera@new.example.com"`)
		res, page = vera.post(t, m.a, "/settings/email/address", map[string]string{"email": "taken@example.com", "password": memberPassword})
		tpWantStatus(t, res, page, http.StatusConflict)
		tpWantContains(t, page, "another account uses that address")
		res, page = vera.post(t, m.a, "/settings/email/address", map[string]string{"email": "not an address", "password": memberPassword})
		tpWantStatus(t, res, page, http.StatusUnprocessableEntity)
		res, _ = vera.post(t, m.a, "/settings/email/address", map[string]string{"email": "vera@new.example.com", "password": memberPassword})
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("change the address: %d", res.StatusCode)
		}
		_, page = vera.get(t, m.a, "/settings")
		tpWantContains(t, page, "<strong>vera@new.example.com</strong>", `data-email-state="unverified"`)
		if strings.Contains(page, "bouncing") {
			t.Error("the old address's bounce still shows")
		}
		m.deliver(t)
		if got := len(m.to("vera@new.example.com", "Confirm")); got != 1 {
			t.Errorf("%d confirmation mails to the new address, want 1", got)
		}
		if got := len(m.to("vera@example.com", "")); got != 0 {
			t.Errorf("%d mails to the old address, want none", got)
		}
	})
}

// TestSettingsSessionsAndTokens: the member sees their sessions and tokens
// (this browser marked), signs one out, cannot touch another member's, and
// signs out everywhere.
func TestSettingsSessionsAndTokens(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		a := newApp(t, db)
		wen := mustTPUser(t, db, "wen", "")
		xia := mustTPUser(t, db, "xia", "")
		laptop, token := mustAPILogin(t, a, "wen")
		req := withCookies(jsonReq(http.MethodGet, "/api/v1/me/sessions", nil, ""), wen.cookie)
		_, body := call(t, a, req)
		items := decode(t, body)["items"].([]any)
		if len(items) != 2 {
			t.Fatalf("sessions: %s, want 2", body)
		}
		var laptopID, currentID float64
		for _, it := range items {
			m := it.(map[string]any)
			if m["current"] == true {
				currentID = m["id"].(float64)
			} else {
				laptopID = m["id"].(float64)
			}
		}
		if currentID == 0 || laptopID == 0 || strings.Contains(body, "token_hash") || strings.Contains(body, laptop.Value) {
			t.Fatalf("sessions: %s, want this one marked and no secrets", body)
		}
		_, page := wen.get(t, a, "/settings")
		tpWantContains(t, page, fmt.Sprintf(`data-session="%d"`, int(laptopID)), "this browser", `data-token="`)
		// xia cannot sign wen's laptop out.
		if res, _ := xia.post(t, a, fmt.Sprintf("/settings/sessions/%d/revoke", int(laptopID)), nil); res.StatusCode != http.StatusNotFound {
			t.Errorf("another member's session: %d, want 404", res.StatusCode)
		}
		if res, _ := wen.post(t, a, fmt.Sprintf("/settings/sessions/%d/revoke", int(laptopID)), nil); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("sign the laptop out: %d", res.StatusCode)
		}
		if res, _ := getPage(t, a, "/settings", laptop); res.StatusCode != http.StatusSeeOther {
			t.Errorf("the laptop after signing it out: %d", res.StatusCode)
		}
		_, body = call(t, a, jsonReq(http.MethodGet, "/api/v1/me/tokens", nil, token))
		toks := decode(t, body)["items"].([]any)
		if len(toks) != 1 || strings.Contains(body, token) {
			t.Fatalf("tokens: %s", body)
		}
		tokID := int(toks[0].(map[string]any)["id"].(float64))
		if res, _ := call(t, a, jsonReq(http.MethodDelete, fmt.Sprintf("/api/v1/me/tokens/%d", tokID+1000), nil, token)); res.StatusCode != http.StatusNotFound {
			t.Errorf("revoke a token that is not theirs: %d, want 404", res.StatusCode)
		}
		// Sign out everywhere: this browser and the tokens too.
		_, second := mustAPILogin(t, a, "wen")
		res, _ := wen.post(t, a, "/settings/sessions/revoke-all", nil)
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/login" {
			t.Fatalf("sign out everywhere: %d %s", res.StatusCode, res.Header.Get("Location"))
		}
		for _, tk := range []string{token, second} {
			if res, _ := call(t, a, jsonReq(http.MethodGet, "/api/v1/me", nil, tk)); res.StatusCode != http.StatusUnauthorized {
				t.Errorf("a token after signing out everywhere: %d, want 401", res.StatusCode)
			}
		}
		if res, _ := wen.get(t, a, "/settings"); res.StatusCode != http.StatusSeeOther {
			t.Errorf("this browser after signing out everywhere: %d", res.StatusCode)
		}
		if n := rowCount(t, db, "sessions"); n != 1 { // xia's
			t.Errorf("%d sessions left, want only xia's", n)
		}
	})
}

// TestExportDownloads: the API answers one JSON document, /settings a zip
// with it and a readable page; both only for the caller, rate-limited.
func TestExportDownloads(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		a := newApp(t, db)
		yan := mustTPUser(t, db, "yan", "")
		establish(t, db, "yan")
		cat := mustTPCategory(t, db, "Help", "help")
		mustTPTopic(t, db, yan, cat, "Exporting <my> data", "Body with <b>markup</b> & ampersands.")
		res, body := call(t, a, withCookies(jsonReq(http.MethodGet, "/api/v1/me/export", nil, ""), yan.cookie))
		if res.StatusCode != http.StatusOK || !strings.Contains(res.Header.Get("Content-Disposition"), `filename="agora-yan-`) {
			t.Fatalf("export: %d %v", res.StatusCode, res.Header)
		}
		doc := decode(t, body)
		if doc["profile"].(map[string]any)["username"] != "yan" || len(doc["posts"].([]any)) != 1 {
			t.Errorf("export: %s", body)
		}
		res, body = yan.get(t, a, "/settings/export")
		if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "application/zip" {
			t.Fatalf("download: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
		}
		z, err := zip.NewReader(strings.NewReader(body), int64(len(body)))
		if err != nil {
			t.Fatal(err)
		}
		files := map[string]string{}
		for _, f := range z.File {
			r, _ := f.Open()
			b, _ := io.ReadAll(r)
			files[f.Name] = string(b)
		}
		if !json.Valid([]byte(files["export.json"])) {
			t.Error("export.json in the zip is not JSON")
		}
		tpWantContains(t, files["index.html"], "Everything we hold about yan", "Exporting &lt;my&gt; data",
			"Body with &lt;b&gt;markup&lt;/b&gt; &amp; ampersands.")
		yan.get(t, a, "/settings/export") // the third
		if res, _ := yan.get(t, a, "/settings/export"); res.StatusCode != http.StatusTooManyRequests {
			t.Errorf("a fourth export within a minute: %d, want 429", res.StatusCode)
		}
		if res, _ := call(t, a, jsonReq(http.MethodGet, "/api/v1/me/export", nil, "")); res.StatusCode != http.StatusUnauthorized {
			t.Errorf("a guest's export: %d, want 401", res.StatusCode)
		}
	})
}

// TestDoNotTrackViews: a request with DNT or Sec-GPC counts as a view and
// leaves no identifier behind, not even a hashed address.
func TestDoNotTrackViews(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		a, set := newAppSet(t, db)
		zed := mustTPUser(t, db, "zed", "")
		topic := mustTPTopic(t, db, zed, mustTPCategory(t, db, "Help", "help"), "Counting views politely", "Hello.")
		path := fmt.Sprintf("/t/%d/%s", topic.ID, topic.Slug)
		for _, h := range []string{"DNT", "Sec-GPC"} {
			req := jsonReq(http.MethodGet, path, nil, "")
			req.Header.Set(h, "1")
			if res, _ := call(t, a, req); res.StatusCode != http.StatusOK {
				t.Fatalf("GET with %s: %d", h, res.StatusCode)
			}
		}
		if err := set.Views.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		var views, hashed int
		db.NewRaw("SELECT view_count FROM topics WHERE id = ?", topic.ID).Scan(context.Background(), &views)
		db.NewRaw("SELECT count(*) FROM topic_views WHERE viewer NOT LIKE 'n%'").Scan(context.Background(), &hashed)
		if views != 2 || hashed != 0 {
			t.Errorf("views %d, identified view records %d; want 2 and 0", views, hashed)
		}
	})
}

// TestDeleteAccount: a member deletes their account (password and a
// confirmation on the page; the password in the API), is signed out, and
// their posts stay signed by a deleted member; an admin erases another on
// request, logged; members cannot.
func TestDeleteAccount(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		a := newApp(t, db)
		ctx := context.Background()
		leah := mustTPUser(t, db, "leahdel", "")
		establish(t, db, "leahdel")
		topic := mustTPTopic(t, db, leah, mustTPCategory(t, db, "Help", "help"), "Leaving soon, a question first", "Where is export?")
		res, page := leah.post(t, a, "/settings/delete", map[string]string{"password": memberPassword, "delete_posts": "1"})
		tpWantStatus(t, res, page, http.StatusUnprocessableEntity)
		tpWantContains(t, page, "tick the box to confirm", `name="delete_posts" value="1" checked`)
		res, page = leah.post(t, a, "/settings/delete", map[string]string{"password": "not my password", "confirm": "1"})
		tpWantStatus(t, res, page, http.StatusUnauthorized)
		res, page = leah.post(t, a, "/settings/delete", map[string]string{"password": memberPassword, "confirm": "1"})
		tpWantStatus(t, res, page, http.StatusOK)
		tpWantContains(t, page, "Your account is deleted")
		if res, _ := leah.get(t, a, "/settings"); res.StatusCode != http.StatusSeeOther {
			t.Errorf("the deleted member's session: /settings %d, want signed out", res.StatusCode)
		}
		_, page = getPage(t, a, fmt.Sprintf("/t/%d/%s", topic.ID, topic.Slug))
		tpWantContains(t, page, models.DeletedName, "Where is export?")
		if strings.Contains(page, "leahdel") {
			t.Error("the topic page still names the deleted member")
		}
		if res, _ := getPage(t, a, "/u/leahdel"); res.StatusCode != http.StatusNotFound {
			t.Errorf("the deleted member's profile: %d, want 404", res.StatusCode)
		}

		// By the API, with the password.
		token := apiMember(t, a, "apidel")
		res, body := call(t, a, jsonReq(http.MethodDelete, "/api/v1/me", map[string]any{"password": "wrong"}, token))
		if res.StatusCode != http.StatusUnauthorized {
			t.Errorf("DELETE /api/v1/me with a wrong password: %d %s", res.StatusCode, body)
		}
		if res, _ := call(t, a, jsonReq(http.MethodDelete, "/api/v1/me", map[string]any{"password": "a long password", "delete_posts": true}, token)); res.StatusCode != http.StatusAccepted {
			t.Fatalf("DELETE /api/v1/me: %d", res.StatusCode)
		}
		if res, _ := call(t, a, jsonReq(http.MethodGet, "/api/v1/me", nil, token)); res.StatusCode != http.StatusUnauthorized {
			t.Errorf("the token after the deletion: %d, want 401", res.StatusCode)
		}

		// An admin, on request; a member may not.
		admin := apiMember(t, a, "adminera")
		promote(t, db, "adminera", models.RoleAdmin)
		kid := mustTPUser(t, db, "kidreported", "")
		member := apiMember(t, a, "plainmember")
		path := fmt.Sprintf("/api/v1/admin/users/%d/erase", kid.ID)
		if res, _ := call(t, a, jsonReq(http.MethodPost, path, map[string]any{"reason": "x"}, member)); res.StatusCode != http.StatusForbidden {
			t.Errorf("a member erasing another: %d, want 403", res.StatusCode)
		}
		if res, _ := call(t, a, jsonReq(http.MethodPost, path, map[string]any{}, admin)); res.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("an erasure without a reason: %d, want 422", res.StatusCode)
		}
		res, body = call(t, a, jsonReq(http.MethodPost, path, map[string]any{"reason": "reported as under 16", "delete_posts": true}, admin))
		if res.StatusCode != http.StatusOK {
			t.Fatalf("admin erasure: %d %s", res.StatusCode, body)
		}
		var logged int
		db.NewRaw("SELECT count(*) FROM moderation_actions WHERE action = 'erase_user' AND target_user_id = ? AND moderator_id IS NOT NULL AND reason = 'reported as under 16'",
			kid.ID).Scan(ctx, &logged)
		if logged != 1 {
			t.Errorf("the admin's erasure is logged %d times, want 1", logged)
		}
		if res, _ := call(t, a, jsonReq(http.MethodPost, path, map[string]any{"reason": "again"}, admin)); res.StatusCode != http.StatusNotFound {
			t.Errorf("erasing an erased member: %d, want 404", res.StatusCode)
		}
	})
}

// TestChangeUsername: a member renames themself once a month; the old
// name redirects to the profile and stays theirs.
func TestChangeUsername(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		a := newApp(t, db)
		ren := mustTPUser(t, db, "renold", "")
		mustTPUser(t, db, "takenname", "")
		res, page := ren.post(t, a, "/settings/username", map[string]string{"username": "takenname"})
		tpWantStatus(t, res, page, http.StatusConflict)
		tpWantContains(t, page, `value="takenname"`)
		res, page = ren.post(t, a, "/settings/username", map[string]string{"username": "x"})
		tpWantStatus(t, res, page, http.StatusUnprocessableEntity)
		res, _ = ren.post(t, a, "/settings/username", map[string]string{"username": "rennew"})
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("rename: %d", res.StatusCode)
		}
		res, _ = getPage(t, a, "/u/renold")
		if res.StatusCode != http.StatusFound || res.Header.Get("Location") != "/u/rennew" {
			t.Errorf("the old name: %d to %q, want a redirect to /u/rennew", res.StatusCode, res.Header.Get("Location"))
		}
		if res, _ := getPage(t, a, "/u/rennew"); res.StatusCode != http.StatusOK {
			t.Errorf("the new name: %d", res.StatusCode)
		}
		res, page = ren.post(t, a, "/settings/username", map[string]string{"username": "renthird"})
		tpWantStatus(t, res, page, http.StatusTooManyRequests)
		tpWantContains(t, page, "once every 30 days")
		res, body := call(t, a, jsonReq(http.MethodPost, "/api/v1/auth/register", map[string]any{"username": "renold",
			"email": "someone@example.com", "password": "a long password", "age_confirmed": true}, ""))
		if res.StatusCode != http.StatusConflict {
			t.Errorf("registering someone's old name: %d %s, want 409", res.StatusCode, body)
		}
	})
}

// TestAdminErasesFromTheProfile: the profile's form asks for a reason,
// then erases the account and logs it.
func TestAdminErasesFromTheProfile(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		a := newApp(t, db)
		admin := mustTPUser(t, db, "adminpro", models.RoleAdmin)
		minor := mustTPUser(t, db, "minorkid", "")
		_, page := admin.get(t, a, "/u/minorkid")
		tpWantContains(t, page, fmt.Sprintf(`action="/admin/users/%d/erase"`, minor.ID))
		res, page := admin.post(t, a, fmt.Sprintf("/admin/users/%d/erase", minor.ID), map[string]string{"delete_posts": "1"})
		tpWantStatus(t, res, page, http.StatusUnprocessableEntity)
		tpWantContains(t, page, "say why", `name="delete_posts" value="1" checked`)
		res, _ = admin.post(t, a, fmt.Sprintf("/admin/users/%d/erase", minor.ID), map[string]string{"reason": "reported as under 16", "delete_posts": "1"})
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/mod/log" {
			t.Fatalf("erase: %d %s", res.StatusCode, res.Header.Get("Location"))
		}
		if res, _ := getPage(t, a, "/u/minorkid"); res.StatusCode != http.StatusNotFound {
			t.Errorf("the erased profile: %d, want 404", res.StatusCode)
		}
	})
}
