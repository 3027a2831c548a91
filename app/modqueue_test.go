package app_test

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/uptrace/bun"

	"agora/internal/testdb"
	"agora/models"
	"agora/moderation"
)

func TestModerationPages(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		a := newApp(t, db)
		author := mustTPUser(t, db, "alice", "member")
		flagger := mustTPUser(t, db, "bob", "member")
		mod := mustTPUser(t, db, "mia", "moderator")
		admin := mustTPUser(t, db, "ada", "admin")
		cat := mustTPCategory(t, db, "Billing", "billing")
		topic := mustTPTopic(t, db, flagger, cat, "Where is the invoice export?", "I can't find the export button anywhere.")
		reply := mustModReply(t, db, author, topic.ID, "Nobody cares, figure it out yourself.")
		postID := strconv.FormatInt(reply.ID, 10)

		t.Run("guidelines", func(t *testing.T) {
			res, body := (*tpUser)(nil).get(t, a, "/guidelines")
			tpWantStatus(t, res, body, http.StatusOK)
			tpWantContains(t, body, "Community guidelines", "Trolling, bullying or harassment", "Be respectful")
			res, body = admin.post(t, a, "/admin/guidelines", map[string]string{"body": "   "})
			tpWantStatus(t, res, body, http.StatusUnprocessableEntity)
			res, body = flagger.post(t, a, "/admin/guidelines", map[string]string{"body": "# Community guidelines\n\nBe nice."})
			tpWantStatus(t, res, body, http.StatusForbidden)
			res, body = admin.post(t, a, "/admin/guidelines", map[string]string{"body": "# Community guidelines\n\nBe **kind** to each other."})
			tpWantStatus(t, res, body, http.StatusSeeOther)
			_, body = (*tpUser)(nil).get(t, a, "/guidelines")
			tpWantContains(t, body, "<strong>kind</strong>")
		})

		t.Run("flag from the topic page", func(t *testing.T) {
			_, body := flagger.get(t, a, "/t/"+strconv.FormatInt(topic.ID, 10)+"/"+topic.Slug)
			tpWantContains(t, body, `action="/p/`+postID+`/flag"`, `value="harassment"`)
			_, body = author.get(t, a, "/t/"+strconv.FormatInt(topic.ID, 10)+"/"+topic.Slug)
			if strings.Contains(body, `action="/p/`+postID+`/flag"`) {
				t.Errorf("the author gets a flag menu on their own post")
			}
			res, body := flagger.post(t, a, "/p/"+postID+"/flag", map[string]string{"reason": "other"})
			tpWantStatus(t, res, body, http.StatusUnprocessableEntity)
			tpWantContains(t, body, "tell the moderators what is wrong", `value="other" checked`)
			res, body = flagger.post(t, a, "/p/"+postID+"/flag", map[string]string{"reason": "harassment", "note": "rude"})
			tpWantStatus(t, res, body, http.StatusSeeOther)
			if loc := res.Header.Get("Location"); !strings.HasSuffix(loc, "#post-2") {
				t.Errorf("after flagging Location = %q, want the post anchor", loc)
			}
			_, body = flagger.get(t, a, "/t/"+strconv.FormatInt(topic.ID, 10)+"/"+topic.Slug)
			tpWantContains(t, body, "You flagged this post", "/retract")
			res, body = flagger.post(t, a, "/p/"+postID+"/flag", map[string]string{"reason": "spam"})
			tpWantStatus(t, res, body, http.StatusConflict)
		})

		t.Run("my reports", func(t *testing.T) {
			res, body := flagger.get(t, a, "/me/reports")
			tpWantStatus(t, res, body, http.StatusOK)
			tpWantContains(t, body, "My reports", "Trolling, bullying or harassment", "Where is the invoice export?", "Waiting for review", "Retract")
		})

		t.Run("queue access", func(t *testing.T) {
			res, body := flagger.get(t, a, "/mod")
			tpWantStatus(t, res, body, http.StatusForbidden)
			res, body = mod.get(t, a, "/mod")
			tpWantStatus(t, res, body, http.StatusOK)
			tpWantContains(t, body, "entry-"+postID, "Nobody cares", "1 + level 1 + accuracy 0 = <strong>2</strong>", `class="count-badge"`)
			res, _ = (*tpUser)(nil).get(t, a, "/mod")
			if res.StatusCode != http.StatusSeeOther {
				t.Errorf("/mod for a guest = %d, want 303 to sign in", res.StatusCode)
			}
		})

		t.Run("resolve twice", func(t *testing.T) {
			res, body := mod.post(t, a, "/mod/queue/"+postID+"/resolve", map[string]string{"action": "remove", "reason": "", "back": "/mod"})
			tpWantStatus(t, res, body, http.StatusUnprocessableEntity)
			tpWantContains(t, body, "say which guideline was broken")
			form := map[string]string{"action": "remove", "reason_code": "harassment", "reason": "", "notify": "on", "back": "/mod"}
			res, body = mod.post(t, a, "/mod/queue/"+postID+"/resolve", form)
			tpWantStatus(t, res, body, http.StatusSeeOther)
			res, body = mod.post(t, a, "/mod/queue/"+postID+"/resolve", form)
			tpWantStatus(t, res, body, http.StatusConflict)
			tpWantContains(t, body, "Someone got there first", "Already resolved: mia chose")
			_, body = mod.get(t, a, "/mod?status=resolved")
			tpWantContains(t, body, "entry-"+postID)
			_, body = mod.get(t, a, "/mod/log")
			tpWantContains(t, body, "remove_post", "Trolling, bullying or harassment", "@alice")
			_, body = flagger.get(t, a, "/me/reports")
			tpWantContains(t, body, "Action taken")
		})

		t.Run("suspend and unsuspend", func(t *testing.T) {
			_, body := mod.get(t, a, "/u/alice")
			tpWantContains(t, body, `action="/mod/users/`+strconv.FormatInt(author.ID, 10)+`/suspend"`, "remove_post")
			_, body = flagger.get(t, a, "/u/alice")
			if strings.Contains(body, "mod-panel") {
				t.Errorf("a member sees the moderation panel")
			}
			uid := strconv.FormatInt(author.ID, 10)
			res, body := mod.post(t, a, "/mod/users/"+uid+"/suspend", map[string]string{"days": "7", "reason": ""})
			tpWantStatus(t, res, body, http.StatusUnprocessableEntity)
			res, body = mod.post(t, a, "/mod/users/"+uid+"/suspend", map[string]string{"days": "3", "reason": "cool off", "notify": "on"})
			tpWantStatus(t, res, body, http.StatusSeeOther)
			res, body = author.get(t, a, "/")
			tpWantContains(t, body, "suspension-banner", "cool off")
			res, body = author.post(t, a, "/t/"+strconv.FormatInt(topic.ID, 10)+"/reply", map[string]string{"body": "I am back with a long reply"})
			tpWantStatus(t, res, body, http.StatusForbidden)
			_, body = mod.get(t, a, "/mod/suspended")
			tpWantContains(t, body, "@alice", "cool off")
			res, body = mod.post(t, a, "/mod/users/"+uid+"/unsuspend", map[string]string{"reason": ""})
			tpWantStatus(t, res, body, http.StatusUnprocessableEntity)
			res, body = mod.post(t, a, "/mod/users/"+uid+"/unsuspend", map[string]string{"reason": "appeal accepted"})
			tpWantStatus(t, res, body, http.StatusSeeOther)
			_, body = author.get(t, a, "/")
			if strings.Contains(body, "suspension-banner") {
				t.Errorf("the banner stays after the suspension is lifted")
			}
		})

		t.Run("retract", func(t *testing.T) {
			other := mustModReply(t, db, author, topic.ID, "Another reply to report later.")
			res, _ := flagger.post(t, a, "/p/"+strconv.FormatInt(other.ID, 10)+"/flag", map[string]string{"reason": "off_topic"})
			if res.StatusCode != http.StatusSeeOther {
				t.Fatalf("flag = %d", res.StatusCode)
			}
			var f models.Flag
			if err := db.NewSelect().Model(&f).Where("post_id = ?", other.ID).Scan(context.Background()); err != nil {
				t.Fatal(err)
			}
			res, _ = flagger.post(t, a, "/flags/"+strconv.FormatInt(f.ID, 10)+"/retract", map[string]string{"next": "/me/reports"})
			if res.StatusCode != http.StatusSeeOther {
				t.Fatalf("retract = %d", res.StatusCode)
			}
			_, body := flagger.get(t, a, "/me/reports")
			tpWantContains(t, body, "Retracted")
		})
	})
}

// TestModerationAPILifecycle follows a post from three flags to removal and
// its author from suspension back to posting, through the API only.
func TestModerationAPILifecycle(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		a := newApp(t, db)
		ctx := context.Background()
		tok := map[string]string{}
		for _, name := range []string{"ada", "mia", "max", "alice", "bob", "carol", "dave"} {
			tok[name] = apiMember(t, a, name)
		}
		promote(t, db, "ada", models.RoleAdmin)
		promote(t, db, "mia", models.RoleModerator)
		promote(t, db, "max", models.RoleModerator)
		if _, err := db.ExecContext(ctx, "UPDATE users SET level = 2 WHERE username IN ('bob', 'carol', 'dave')"); err != nil {
			t.Fatal(err)
		}
		do := func(method, path string, body any, who string, want int) map[string]any {
			t.Helper()
			res, got := call(t, a, jsonReq(method, path, body, tok[who]))
			if res.StatusCode != want {
				t.Fatalf("%s %s as %s: %d %s, want %d", method, path, who, res.StatusCode, got, want)
			}
			return decode(t, got)
		}
		catID := num(do(http.MethodPost, "/api/v1/admin/categories", map[string]any{"name": "Questions"}, "ada", 201), "category", "id")
		topicID := int64(num(do(http.MethodPost, "/api/v1/topics", map[string]any{"category_id": catID,
			"title": "How do I set up single sign-on?", "body": "With Okta."}, "alice", 201), "topic", "id"))
		topicPath := fmt.Sprintf("/api/v1/topics/%d", topicID)
		postID := int64(num(do(http.MethodPost, topicPath+"/posts", map[string]any{"body": "Visit cheap-sso.example for a deal"}, "alice", 201), "post", "id"))
		aliceID := int64(num(do(http.MethodGet, "/api/v1/me", nil, "alice", 200), "user", "id"))

		for i, who := range []string{"bob", "carol", "dave"} {
			got := do(http.MethodPost, fmt.Sprintf("/api/v1/posts/%d/flags", postID), map[string]any{"reason": "spam"}, who, 201)
			if hidden := got["post_hidden"] == true; hidden != (i == 2) {
				t.Errorf("flag by %s: post_hidden %v, want %v", who, got["post_hidden"], i == 2)
			}
			if num(got, "flag", "weight") != 3 || num(got, "flag", "level_part") != 2 {
				t.Errorf("flag by %s = %v, want weight 3 with level part 2", who, got["flag"])
			}
		}
		do(http.MethodPost, fmt.Sprintf("/api/v1/posts/%d/flags", postID), map[string]any{"reason": "spam"}, "bob", 409)

		notes := do(http.MethodGet, "/api/v1/notifications", nil, "alice", 200)
		if !strings.Contains(fmt.Sprint(notes["items"]), "post_hidden") {
			t.Errorf("author's notifications = %v, want post_hidden", notes["items"])
		}
		reply := do(http.MethodGet, topicPath, nil, "carol", 200)["posts"].(map[string]any)["items"].([]any)[1].(map[string]any)
		if reply["body"] != "" || reply["notice"] == nil || reply["notice"] == "" {
			t.Errorf("hidden reply as another member sees it = %v, want a notice and no body", reply)
		}

		queue := do(http.MethodGet, "/api/v1/mod/queue", nil, "mia", 200)
		items := queue["items"].([]any)
		if num(queue, "total") != 1 || len(items) != 1 {
			t.Fatalf("queue = %v, want one entry", queue)
		}
		entry := items[0].(map[string]any)
		if num(entry, "post", "id") != float64(postID) || num(entry, "weight") != 9 || num(entry, "threshold") != 9 || num(entry, "author", "id") != float64(aliceID) {
			t.Errorf("queue entry = %v, want post %d by alice, weight 9, threshold 9", entry, postID)
		}
		flags := entry["flags"].([]any)
		if len(flags) != 3 {
			t.Fatalf("entry has %d flags, want 3", len(flags))
		}
		for i, who := range []string{"bob", "carol", "dave"} {
			fl := flags[i].(map[string]any)
			if fl["reason"] != "spam" || num(fl, "flagger", "id") == 0 || fl["flagger"].(map[string]any)["username"] != who ||
				num(fl, "level_part") != 2 || num(fl, "accuracy_part") != 0 || num(fl, "weight") != 3 {
				t.Errorf("flag %d = %v, want %s's spam flag of weight 3 (level 2, accuracy 0)", i, fl, who)
			}
		}

		res := do(http.MethodPost, fmt.Sprintf("/api/v1/mod/queue/%d/resolve", postID), map[string]any{"action": "remove", "reason": "spam"}, "mia", 200)
		if res["action"] != "remove" || num(res, "flags_closed") != 3 {
			t.Errorf("resolve = %v, want remove closing 3 flags", res)
		}
		conflict := do(http.MethodPost, fmt.Sprintf("/api/v1/mod/queue/%d/resolve", postID), map[string]any{"action": "dismiss"}, "max", 409)
		if msg := conflict["error"].(map[string]any)["message"].(string); !strings.Contains(msg, "mia") || !strings.Contains(msg, "remove") {
			t.Errorf("second resolution message = %q, want it to name mia and remove", msg)
		}
		if open := do(http.MethodGet, "/api/v1/mod/queue?status=open", nil, "mia", 200); num(open, "total") != 0 {
			t.Errorf("open queue after resolving = %v, want empty", open)
		}
		resolved := do(http.MethodGet, "/api/v1/mod/queue?status=resolved", nil, "max", 200)
		if num(resolved, "total") != 1 || num(resolved["items"].([]any)[0].(map[string]any), "post", "id") != float64(postID) {
			t.Errorf("resolved queue = %v, want the post", resolved)
		}
		do(http.MethodGet, "/api/v1/mod/queue?status=bogus", nil, "mia", 422)

		reply = do(http.MethodGet, topicPath, nil, "", 200)["posts"].(map[string]any)["items"].([]any)[1].(map[string]any)
		if reply["body"] != "" || !strings.Contains(fmt.Sprint(reply["notice"]), "Spam or self-promotion") {
			t.Errorf("removed reply as a guest sees it = %v, want the removal notice with the reason", reply)
		}
		if rc := num(do(http.MethodGet, topicPath, nil, "", 200), "topic", "reply_count"); rc != 0 {
			t.Errorf("reply_count = %v, want 0", rc)
		}

		do(http.MethodPost, fmt.Sprintf("/api/v1/mod/users/%d/suspend", aliceID), map[string]any{"days": 7, "reason": "spam", "notify": true}, "mia", 200)
		refused := do(http.MethodPost, topicPath+"/posts", map[string]any{"body": "Why was I removed?"}, "alice", 403)
		e := refused["error"].(map[string]any)
		if e["code"] != "account_suspended" || e["until"] == nil {
			t.Errorf("suspended reply error = %v, want account_suspended with until", e)
		}
		if me := do(http.MethodGet, "/api/v1/me", nil, "alice", 200); me["user"].(map[string]any)["suspended_until"] == nil {
			t.Errorf("/me of a suspended member = %v, want suspended_until", me)
		}
		do(http.MethodPost, fmt.Sprintf("/api/v1/mod/users/%d/unsuspend", aliceID), map[string]any{"reason": "appeal"}, "ada", 200)
		do(http.MethodPost, topicPath+"/posts", map[string]any{"body": "Sorry, it will not happen again."}, "alice", 201)

		lock := do(http.MethodPost, fmt.Sprintf("/api/v1/mod/topics/%d/lock", topicID), map[string]any{"reason": "resolved"}, "mia", 200)
		if lock["topic"].(map[string]any)["locked"] != true {
			t.Errorf("lock answer = %v, want locked", lock)
		}
		if got := do(http.MethodPost, topicPath+"/posts", map[string]any{"body": "+1"}, "bob", 403); got["error"].(map[string]any)["code"] != "topic_locked" {
			t.Errorf("reply to a locked topic = %v, want topic_locked", got)
		}
		do(http.MethodPost, fmt.Sprintf("/api/v1/mod/topics/%d/archive", topicID), map[string]any{"reason": "x"}, "mia", 404)
		do(http.MethodPost, fmt.Sprintf("/api/v1/mod/topics/%d/move", topicID), map[string]any{"reason": "x", "category_id": 987654}, "mia", 422)

		logPage := do(http.MethodGet, "/api/v1/mod/log", nil, "mia", 200)
		var actions []string
		for _, it := range logPage["items"].([]any) {
			actions = append(actions, it.(map[string]any)["action"].(string))
		}
		want := []string{"lock_topic", "unsuspend_user", "suspend_user", "remove_post", "auto_hide"}
		if strings.Join(actions, ",") != strings.Join(want, ",") || num(logPage, "total") != 5 {
			t.Errorf("log = %v (total %v), want %v newest first", actions, logPage["total"], want)
		}
		if broken, _, err := moderation.VerifyLog(ctx, db); err != nil || broken != 0 {
			t.Errorf("VerifyLog = %d, %v; want an intact chain", broken, err)
		}

		health := do(http.MethodGet, "/api/v1/mod/health", nil, "max", 200)
		if num(health, "open_entries") != 0 || health["median_time_to_action_7d"] == nil || num(health, "actions_per_moderator_7d", "mia") != 3 {
			t.Errorf("health = %v, want no open entries, a median and mia: 3", health)
		}
		dry := do(http.MethodGet, "/api/v1/admin/flag-threshold/dry-run?threshold=9", nil, "ada", 200)
		if num(dry, "total") != 1 {
			t.Errorf("dry run at 9 = %v, want the removed post", dry)
		}
		do(http.MethodGet, "/api/v1/admin/flag-threshold/dry-run?threshold=0", nil, "ada", 422)
	})
}
