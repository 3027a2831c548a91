package app_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/uptrace/bun"

	"agora/forum"
	"agora/internal/testdb"
	"agora/models"
)

// mustModReply answers a topic as u.
func mustModReply(tb testing.TB, db *bun.DB, u *tpUser, topicID int64, body string) *models.Post {
	tb.Helper()
	p, err := forum.New(db, nil).Reply(context.Background(), u.User, topicID, body, nil)
	if err != nil {
		tb.Fatalf("reply: %v", err)
	}
	return p
}

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
			tpWantContains(t, body, "entry-"+postID, "Nobody cares", "1 + level 0 + accuracy 0 = <strong>1</strong>", `class="count-badge"`)
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
