package moderation_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"agora/forum"
	"agora/internal/testdb"
	"agora/models"
	"agora/moderation"
)

func TestResolve(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		flaggers := []*models.User{f.bob, f.carol, f.dave}

		// checkFlags asserts every flag on the post closed with status and
		// outcome, and each flagger's tally moved once.
		checkFlags := func(t *testing.T, postID int64, status, outcome string, before map[int64]*models.User) {
			t.Helper()
			for _, fl := range f.flagsOn(t, postID) {
				if fl.Status != status || fl.Outcome != outcome || fl.ResolvedBy == nil || *fl.ResolvedBy != f.mod.ID || fl.ResolvedAt == nil || !fl.ResolvedAt.Equal(f.now) {
					t.Errorf("flag %d: %s/%s by %v at %v; want %s/%s by %d at %v", fl.ID, fl.Status, fl.Outcome, fl.ResolvedBy, fl.ResolvedAt, status, outcome, f.mod.ID, f.now)
				}
			}
			for _, u := range flaggers {
				got, was := f.reloadUser(t, u.ID), before[u.ID]
				wantAgreed, wantDisagreed := was.FlagsAgreed, was.FlagsDisagreed
				if status == models.FlagAgreed {
					wantAgreed++
				} else {
					wantDisagreed++
				}
				if got.FlagsAgreed != wantAgreed || got.FlagsDisagreed != wantDisagreed {
					t.Errorf("%s flags agreed/disagreed = %d/%d, want %d/%d", u.Username, got.FlagsAgreed, got.FlagsDisagreed, wantAgreed, wantDisagreed)
				}
				ns := f.notes(t, u.ID, "flag_outcome")
				if len(ns) == 0 || ns[len(ns)-1].PostID == nil || *ns[len(ns)-1].PostID != postID {
					t.Errorf("%s has no flag_outcome notification about post %d", u.Username, postID)
				}
			}
		}
		tallies := func() map[int64]*models.User {
			m := map[int64]*models.User{}
			for _, u := range flaggers {
				m[u.ID] = f.reloadUser(t, u.ID)
			}
			return m
		}

		t.Run("dismiss", func(t *testing.T) {
			_, p := f.flagged(t, f.author)
			before := tallies()
			f.now = f.now.Add(time.Hour)
			res, err := f.svc.Resolve(ctx, f.mod, p.ID, moderation.Resolution{Action: moderation.ActionDismiss, Reason: why("fair criticism")})
			if err != nil {
				t.Fatal(err)
			}
			if res.Action != moderation.ActionDismiss || res.FlagsClosed != 3 {
				t.Errorf("result = %+v, want dismiss closing 3", res)
			}
			if got := f.post(t, p.ID); got.HiddenAt != nil || got.RemovedAt != nil {
				t.Errorf("post hidden %v removed %v, want visible again", got.HiddenAt, got.RemovedAt)
			}
			checkFlags(t, p.ID, models.FlagDisagreed, moderation.ActionDismiss, before)
			ns := f.notes(t, f.bob.ID, "flag_outcome")
			if msg := ns[len(ns)-1].Message; !strings.Contains(msg, "no violation") {
				t.Errorf("dismissed flagger told %q, want it to say no violation was found", msg)
			}
			if es := f.logActions(t, "dismiss_flags"); len(es) != 1 || es[0].TargetID != p.ID || es[0].ModeratorID == nil || *es[0].ModeratorID != f.mod.ID {
				t.Errorf("dismiss_flags log entries = %+v, want one by the moderator on post %d", es, p.ID)
			}
			f.checkQueueMoved(t, p.ID)
		})

		t.Run("edit", func(t *testing.T) {
			_, p := f.flagged(t, f.author)
			before := tallies()
			f.now = f.now.Add(time.Hour)
			body := "Watches are *off topic* here."
			res, err := f.svc.Resolve(ctx, f.mod, p.ID, moderation.Resolution{Action: moderation.ActionEdit, Reason: why("spam"), Body: body, Notify: true})
			if err != nil {
				t.Fatal(err)
			}
			if res.FlagsClosed != 3 {
				t.Errorf("flags closed = %d, want 3", res.FlagsClosed)
			}
			got := f.post(t, p.ID)
			if got.Body != body || !strings.Contains(got.HTML, "<em>off topic</em>") || got.HiddenAt != nil || got.RevisionCount != 1 {
				t.Errorf("edited post: body %q html %q hidden %v revisions %d; want the new body rendered, visible, 1 revision", got.Body, got.HTML, got.HiddenAt, got.RevisionCount)
			}
			revs, err := models.PostRevisions(ctx, db, p.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(revs) != 2 || revs[0].Body != p.Body || revs[1].Body != body || revs[1].UserID != f.mod.ID || revs[1].Reason != "Spam or self-promotion" {
				t.Errorf("revisions = %+v, want the original and the moderator's edit", revs)
			}
			ns := f.notes(t, f.author.ID, "post_edited")
			if len(ns) != 1 || *ns[0].PostID != p.ID || !strings.Contains(ns[0].Message, "Spam or self-promotion") {
				t.Errorf("post_edited notifications = %+v, want one naming the guideline", ns)
			}
			checkFlags(t, p.ID, models.FlagAgreed, moderation.ActionEdit, before)
			es := f.logActions(t, "edit_post")
			if len(es) != 1 || es[0].TargetID != p.ID || es[0].Guideline != "spam" {
				t.Fatalf("edit_post log entries = %+v, want one on post %d with guideline spam", es, p.ID)
			}
			var d map[string]string
			if err := json.Unmarshal([]byte(es[0].Details), &d); err != nil || d["before"] != p.Body || d["after"] != body {
				t.Errorf("edit_post details = %s (%v), want before %q after %q", es[0].Details, err, p.Body, body)
			}
			f.checkQueueMoved(t, p.ID)
		})

		t.Run("remove reply", func(t *testing.T) {
			tp, p := f.flagged(t, f.author)
			before := tallies()
			f.now = f.now.Add(time.Hour)
			if _, err := f.svc.Resolve(ctx, f.mod, p.ID, moderation.Resolution{Action: moderation.ActionRemove, Reason: why("spam"), Notify: true}); err != nil {
				t.Fatal(err)
			}
			got := f.post(t, p.ID)
			if got.RemovedAt == nil || !got.RemovedAt.Equal(f.now) || got.RemovedReason != "Spam or self-promotion" || got.RemovedBy == nil || *got.RemovedBy != f.mod.ID || got.HiddenAt != nil {
				t.Errorf("removed post: at %v reason %q by %v hidden %v; want now, %q, %d, not hidden",
					got.RemovedAt, got.RemovedReason, got.RemovedBy, got.HiddenAt, "Spam or self-promotion", f.mod.ID)
			}
			if rc := f.topicRow(t, tp.ID).ReplyCount; rc != 0 {
				t.Errorf("topic reply_count = %d, want 0", rc)
			}
			if n := len(f.notes(t, f.author.ID, "post_removed")); n != 1 {
				t.Errorf("author has %d post_removed notifications, want 1", n)
			}
			checkFlags(t, p.ID, models.FlagAgreed, moderation.ActionRemove, before)
			if es := f.logActions(t, "remove_post"); len(es) != 1 || es[0].TargetID != p.ID || es[0].Guideline != "spam" || es[0].Reason != "" {
				t.Errorf("remove_post entries = %+v, want one on post %d under guideline spam", es, p.ID)
			}
			page, err := f.forum.TopicPage(ctx, f.erin, tp.ID, 1)
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Posts) != 2 {
				t.Fatalf("topic page has %d posts, want 2", len(page.Posts))
			}
			pv := page.Posts[1]
			if want := forum.RemovedNotice + " (Spam or self-promotion)"; pv.Notice != want || pv.Body != "" || pv.HTML != "" {
				t.Errorf("member sees notice %q body %q; want %q and no content", pv.Notice, pv.Body, want)
			}
			f.checkQueueMoved(t, p.ID)

			if err := errOf(f.svc.RestorePost(ctx, f.mod, p.ID, why("appeal accepted"))); err != nil {
				t.Fatal(err)
			}
			if got := f.post(t, p.ID); got.RemovedAt != nil || got.RemovedReason != "" {
				t.Errorf("restored post: removed %v reason %q, want neither", got.RemovedAt, got.RemovedReason)
			}
			if rc := f.topicRow(t, tp.ID).ReplyCount; rc != 1 {
				t.Errorf("topic reply_count after restoring = %d, want 1", rc)
			}
			if es := f.logActions(t, "restore_post"); len(es) != 1 || es[0].Reason != "appeal accepted" {
				t.Errorf("restore_post entries = %+v, want one with the reason", es)
			}
			asErr[*models.ConflictError](t, errOf(f.svc.RestorePost(ctx, f.mod, p.ID, why("again"))))
		})

		t.Run("remove first post", func(t *testing.T) {
			tp, first := f.topic(t, f.author)
			for _, u := range flaggers {
				f.flag(t, u, first.ID, "spam")
			}
			topicsBefore := f.categoryRow(t, f.cat.ID).TopicCount
			f.now = f.now.Add(time.Hour)
			if _, err := f.svc.Resolve(ctx, f.mod, first.ID, moderation.Resolution{Action: moderation.ActionRemove, Reason: why("spam")}); err != nil {
				t.Fatal(err)
			}
			if got := f.topicRow(t, tp.ID); got.RemovedAt == nil || !got.RemovedAt.Equal(f.now) {
				t.Errorf("topic removed_at = %v, want %v", got.RemovedAt, f.now)
			}
			if got := f.post(t, first.ID); got.RemovedAt == nil || got.RemovedReason != "Spam or self-promotion" {
				t.Errorf("first post removed %v reason %q", got.RemovedAt, got.RemovedReason)
			}
			if n := f.categoryRow(t, f.cat.ID).TopicCount; n != topicsBefore-1 {
				t.Errorf("category topic_count = %d, want %d", n, topicsBefore-1)
			}
			if es := f.logActions(t, "remove_topic"); len(es) != 1 || es[0].TargetID != tp.ID || es[0].TargetType != "topic" {
				t.Errorf("remove_topic entries = %+v, want one on topic %d", es, tp.ID)
			}
			if _, err := f.forum.TopicPage(ctx, f.erin, tp.ID, 1); !errors.Is(err, models.ErrNotFound) {
				t.Errorf("member opening the removed topic: %v, want ErrNotFound", err)
			}
			page, err := f.forum.TopicPage(ctx, f.mod, tp.ID, 1)
			if err != nil {
				t.Fatalf("moderator opening the removed topic: %v", err)
			}
			if pv := page.Posts[0]; !pv.Hidden || pv.Body != first.Body {
				t.Errorf("moderator sees hidden %v body %q, want the content marked hidden", pv.Hidden, pv.Body)
			}
			f.checkQueueMoved(t, first.ID)

			if err := errOf(f.svc.RestorePost(ctx, f.mod, first.ID, why("appeal accepted"))); err != nil {
				t.Fatal(err)
			}
			if got := f.topicRow(t, tp.ID); got.RemovedAt != nil {
				t.Errorf("restored topic removed_at = %v, want nil", got.RemovedAt)
			}
			if n := f.categoryRow(t, f.cat.ID).TopicCount; n != topicsBefore {
				t.Errorf("category topic_count after restoring = %d, want %d", n, topicsBefore)
			}
			page, err = f.forum.TopicPage(ctx, f.erin, tp.ID, 1)
			if err != nil {
				t.Fatalf("member opening the restored topic: %v", err)
			}
			if pv := page.Posts[0]; pv.Notice != "" || pv.Body != first.Body {
				t.Errorf("member sees notice %q body %q after restoring, want the content", pv.Notice, pv.Body)
			}
			if es := f.logActions(t, "restore_topic"); len(es) != 1 || es[0].TargetID != tp.ID {
				t.Errorf("restore_topic entries = %+v, want one on topic %d", es, tp.ID)
			}
		})

		t.Run("suspend", func(t *testing.T) {
			spammer := f.user(t, "spammer", models.RoleMember, 0)
			tp, p := f.flagged(t, spammer)
			before := tallies()
			f.now = f.now.Add(time.Hour)
			if _, err := f.svc.Resolve(ctx, f.mod, p.ID, moderation.Resolution{Action: moderation.ActionSuspend, Reason: why("spam"), SuspendDays: 7, Notify: true}); err != nil {
				t.Fatal(err)
			}
			until := f.now.AddDate(0, 0, 7)
			if got := f.post(t, p.ID); got.RemovedAt == nil || got.RemovedReason != "Spam or self-promotion" {
				t.Errorf("post removed %v reason %q, want removed for spam", got.RemovedAt, got.RemovedReason)
			}
			u := f.reloadUser(t, spammer.ID)
			if u.SuspendedUntil == nil || !u.SuspendedUntil.Equal(until) || u.SuspendedReason != "Spam or self-promotion" {
				t.Errorf("suspended_until %v reason %q, want %v and the guideline", u.SuspendedUntil, u.SuspendedReason, until)
			}
			var sps []*models.Suspension
			if err := db.NewSelect().Model(&sps).Where("user_id = ?", spammer.ID).Scan(ctx); err != nil {
				t.Fatal(err)
			}
			if len(sps) != 1 || sps[0].EndsAt == nil || !sps[0].EndsAt.Equal(until) || *sps[0].ModeratorID != f.mod.ID || !sps[0].Notified || sps[0].LiftedAt != nil {
				t.Errorf("suspensions = %+v, want one by the moderator ending %v", sps, until)
			}
			if n := len(f.notes(t, spammer.ID, "suspended")); n != 1 {
				t.Errorf("suspended member has %d suspended notifications, want 1", n)
			}
			_, err := f.forum.Reply(ctx, u, tp.ID, "let me explain", nil)
			if se := asErr[*models.SuspendedError](t, err); se.Until == nil || !se.Until.Equal(until) {
				t.Errorf("reply while suspended: until %v, want %v", se.Until, until)
			}
			checkFlags(t, p.ID, models.FlagAgreed, moderation.ActionSuspend, before)
			if es := f.logActions(t, "suspend_user"); len(es) != 1 || es[0].TargetID != spammer.ID || es[0].TargetType != "user" {
				t.Errorf("suspend_user entries = %+v, want one on the member", es)
			}
			f.checkQueueMoved(t, p.ID)
		})

		t.Run("suspend keeping the post", func(t *testing.T) {
			troll := f.user(t, "troll", models.RoleMember, 0)
			_, p := f.flagged(t, troll)
			f.now = f.now.Add(time.Hour)
			if _, err := f.svc.Resolve(ctx, f.mod, p.ID, moderation.Resolution{Action: moderation.ActionSuspend, Reason: why("harassment"), SuspendDays: 3, KeepPost: true}); err != nil {
				t.Fatal(err)
			}
			got := f.post(t, p.ID)
			if got.RemovedAt != nil || got.HiddenAt != nil {
				t.Errorf("kept post: removed %v hidden %v, want it left up", got.RemovedAt, got.HiddenAt)
			}
			if u := f.reloadUser(t, troll.ID); u.SuspendedUntil == nil || !u.SuspendedUntil.Equal(f.now.AddDate(0, 0, 3)) {
				t.Errorf("suspended_until = %v, want %v", u.SuspendedUntil, f.now.AddDate(0, 0, 3))
			}
			if n := len(f.notes(t, troll.ID, "suspended")); n != 0 {
				t.Errorf("member told %d times without notify, want 0", n)
			}
			f.checkQueueMoved(t, p.ID)
		})

		t.Run("suspend indefinitely", func(t *testing.T) {
			bot := f.user(t, "spambot", models.RoleMember, 0)
			tp, p := f.flagged(t, bot)
			f.now = f.now.Add(time.Hour)
			if _, err := f.svc.Resolve(ctx, f.mod, p.ID, moderation.Resolution{Action: moderation.ActionSuspend, Reason: why("malware"), SuspendDays: 0}); err != nil {
				t.Fatal(err)
			}
			u := f.reloadUser(t, bot.ID)
			if u.SuspendedUntil == nil || !u.SuspendedUntil.Equal(models.IndefiniteSuspension) {
				t.Errorf("suspended_until = %v, want %v", u.SuspendedUntil, models.IndefiniteSuspension)
			}
			if se := asErr[*models.SuspendedError](t, u.Suspension(f.now.AddDate(50, 0, 0))); se.Until != nil {
				t.Errorf("Suspension().Until = %v, want nil for an indefinite suspension", se.Until)
			}
			var sp models.Suspension
			if err := db.NewSelect().Model(&sp).Where("user_id = ?", bot.ID).Scan(ctx); err != nil || sp.EndsAt != nil {
				t.Errorf("suspension ends_at = %v (%v), want NULL", sp.EndsAt, err)
			}
			es := f.logActions(t, "suspend_user")
			var d map[string]any
			if err := json.Unmarshal([]byte(es[len(es)-1].Details), &d); err != nil || d["indefinite"] != true {
				t.Errorf("suspend_user details = %s, want indefinite", es[len(es)-1].Details)
			}
			_, err := f.forum.Reply(ctx, u, tp.ID, "hello", nil)
			if se := asErr[*models.SuspendedError](t, err); se.Until != nil {
				t.Errorf("reply refused until %v, want indefinitely", se.Until)
			}
			f.checkQueueMoved(t, p.ID)
		})
	})
}

func TestResolveRefusals(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		_, p := f.flagged(t, f.author)
		tp, _ := f.topic(t, f.author)
		staffPost := f.reply(t, f.mod2, tp.ID, "A moderator's answer")
		f.flag(t, f.bob, staffPost.ID, "vulgar")
		cases := []struct {
			name   string
			mod    *models.User
			postID int64
			r      moderation.Resolution
			check  func(t *testing.T, err error)
		}{
			{"unknown action", f.mod, p.ID, moderation.Resolution{Action: "ban", Reason: why("spam")}, fieldErr("action")},
			{"edit without body", f.mod, p.ID, moderation.Resolution{Action: moderation.ActionEdit, Reason: why("spam"), Body: " "}, fieldErr("body")},
			{"remove without reason", f.mod, p.ID, moderation.Resolution{Action: moderation.ActionRemove}, fieldErr("reason")},
			{"negative days", f.mod, p.ID, moderation.Resolution{Action: moderation.ActionSuspend, Reason: why("spam"), SuspendDays: -1}, fieldErr("suspend_days")},
			{"member", f.bob, p.ID, moderation.Resolution{Action: moderation.ActionDismiss}, forbidCode("staff_only")},
			{"missing post", f.mod, 999999, moderation.Resolution{Action: moderation.ActionDismiss}, func(t *testing.T, err error) {
				if !errors.Is(err, models.ErrNotFound) {
					t.Errorf("err = %v, want ErrNotFound", err)
				}
			}},
			{"moderator suspends a moderator", f.mod, staffPost.ID, moderation.Resolution{Action: moderation.ActionSuspend, Reason: why("vulgar"), SuspendDays: 1}, forbidCode("protected_user")},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				_, err := f.svc.Resolve(ctx, c.mod, c.postID, c.r)
				if err == nil {
					t.Fatal("resolution accepted")
				}
				c.check(t, err)
			})
		}
		for _, fl := range append(f.flagsOn(t, p.ID), f.flagsOn(t, staffPost.ID)...) {
			if fl.Status != models.FlagOpen {
				t.Errorf("flag %d is %s after refused resolutions, want open", fl.ID, fl.Status)
			}
		}
		t.Run("no open flags", func(t *testing.T) {
			plain := f.reply(t, f.author, tp.ID, "never flagged")
			_, err := f.svc.Resolve(ctx, f.mod, plain.ID, moderation.Resolution{Action: moderation.ActionDismiss})
			asErr[*models.ConflictError](t, err)
		})
	})
}

func TestConcurrentResolve(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		cases := []struct {
			name       string
			firstPost  bool
			resolution [2]moderation.Resolution
			outcome    [2]string // flag status each resolution leaves
		}{
			{"dismiss against remove", false,
				[2]moderation.Resolution{{Action: moderation.ActionDismiss}, {Action: moderation.ActionRemove, Reason: why("spam")}},
				[2]string{models.FlagDisagreed, models.FlagAgreed}},
			{"remove against dismiss on a first post", true,
				[2]moderation.Resolution{{Action: moderation.ActionRemove, Reason: why("spam")}, {Action: moderation.ActionDismiss}},
				[2]string{models.FlagAgreed, models.FlagDisagreed}},
			{"suspend keeping the post against edit", false,
				[2]moderation.Resolution{{Action: moderation.ActionSuspend, Reason: why("harassment"), SuspendDays: 2, KeepPost: true},
					{Action: moderation.ActionEdit, Reason: why("vulgar"), Body: "[edited by a moderator]"}},
				[2]string{models.FlagAgreed, models.FlagAgreed}},
			{"edit against remove", false,
				[2]moderation.Resolution{{Action: moderation.ActionEdit, Reason: why("vulgar"), Body: "[edited]"}, {Action: moderation.ActionRemove, Reason: why("vulgar")}},
				[2]string{models.FlagAgreed, models.FlagAgreed}},
		}
		mods := [2]*models.User{f.mod, f.mod2}
		for i, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				author := f.user(t, fmt.Sprintf("racer%d", i), models.RoleMember, 0)
				tp, first := f.topic(t, author)
				post := first
				if !c.firstPost {
					post = f.reply(t, author, tp.ID, "something rude")
				}
				flaggers := []*models.User{f.bob, f.carol, f.dave}
				tally := map[int64]int{}
				for _, u := range flaggers {
					f.flag(t, u, post.ID, "harassment")
					u := f.reloadUser(t, u.ID)
					tally[u.ID] = u.FlagsAgreed + u.FlagsDisagreed
				}
				logBefore := len(f.logRows(t))

				var wg sync.WaitGroup
				var results [2]*moderation.ResolveResult
				var errs [2]error
				gate := make(chan struct{})
				for k := range 2 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						<-gate
						results[k], errs[k] = f.svc.Resolve(ctx, mods[k], post.ID, c.resolution[k])
					}()
				}
				close(gate)
				wg.Wait()

				winner := -1
				for k := range 2 {
					if errs[k] == nil {
						if winner != -1 {
							t.Fatalf("both resolutions succeeded: %+v, %+v", results[0], results[1])
						}
						winner = k
					}
				}
				if winner == -1 {
					t.Fatalf("both resolutions failed: %v; %v", errs[0], errs[1])
				}
				loser := 1 - winner
				ce := asErr[*models.ConflictError](t, errs[loser])
				if !strings.Contains(ce.Message, mods[winner].Username) || !strings.Contains(ce.Message, c.resolution[winner].Action) {
					t.Errorf("conflict message %q does not name %s and %q", ce.Message, mods[winner].Username, c.resolution[winner].Action)
				}
				if results[winner].FlagsClosed != 3 {
					t.Errorf("winner closed %d flags, want 3", results[winner].FlagsClosed)
				}
				for _, fl := range f.flagsOn(t, post.ID) {
					if fl.Status != c.outcome[winner] || fl.Outcome != c.resolution[winner].Action || fl.ResolvedBy == nil || *fl.ResolvedBy != mods[winner].ID {
						t.Errorf("flag %d: %s/%s by %v; want %s/%s by %d", fl.ID, fl.Status, fl.Outcome, fl.ResolvedBy,
							c.outcome[winner], c.resolution[winner].Action, mods[winner].ID)
					}
				}
				for _, u := range flaggers {
					got := f.reloadUser(t, u.ID)
					if n := got.FlagsAgreed + got.FlagsDisagreed; n != tally[u.ID]+1 {
						t.Errorf("%s reviewed flags went %d → %d, want one more", u.Username, tally[u.ID], n)
					}
				}
				added := f.logRows(t)[logBefore:]
				if len(added) != 1 || added[0].ModeratorID == nil || *added[0].ModeratorID != mods[winner].ID {
					t.Errorf("log gained %d entries (%v), want exactly one resolution by %s", len(added), actionsOf(added), mods[winner].Username)
				}
				if _, _, err := moderation.VerifyLog(ctx, db); err != nil {
					t.Fatal(err)
				}
			})
		}
		if broken, _, err := moderation.VerifyLog(ctx, db); err != nil || broken != 0 {
			t.Errorf("VerifyLog after concurrent resolutions = %d, %v; want 0", broken, err)
		}
	})
}

func TestSecondResolutionNamesTheFirst(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		cases := []struct {
			name      string
			firstPost bool
			r         moderation.Resolution
		}{
			{"dismiss", false, moderation.Resolution{Action: moderation.ActionDismiss}},
			{"edit", false, moderation.Resolution{Action: moderation.ActionEdit, Reason: why("vulgar"), Body: "[edited]"}},
			{"remove a reply", false, moderation.Resolution{Action: moderation.ActionRemove, Reason: why("spam")}},
			{"remove a first post", true, moderation.Resolution{Action: moderation.ActionRemove, Reason: why("spam")}},
			{"suspend", false, moderation.Resolution{Action: moderation.ActionSuspend, Reason: why("spam"), SuspendDays: 1}},
			{"suspend keeping the post", false, moderation.Resolution{Action: moderation.ActionSuspend, Reason: why("spam"), SuspendDays: 1, KeepPost: true}},
		}
		for i, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				author := f.user(t, fmt.Sprintf("writer%d", i), models.RoleMember, 0)
				tp, post := f.topic(t, author)
				if !c.firstPost {
					post = f.reply(t, author, tp.ID, "rude words")
				}
				for _, u := range []*models.User{f.bob, f.carol, f.dave} {
					f.flag(t, u, post.ID, "vulgar")
				}
				f.now = f.now.Add(time.Minute)
				if _, err := f.svc.Resolve(ctx, f.mod, post.ID, c.r); err != nil {
					t.Fatal(err)
				}
				_, err := f.svc.Resolve(ctx, f.mod2, post.ID, moderation.Resolution{Action: moderation.ActionDismiss})
				ce := asErr[*models.ConflictError](t, err)
				for _, want := range []string{f.mod.Username, `"` + c.r.Action + `"`, f.now.Format(time.RFC3339)} {
					if !strings.Contains(ce.Message, want) {
						t.Errorf("conflict message %q does not contain %s", ce.Message, want)
					}
				}
			})
		}
	})
}
