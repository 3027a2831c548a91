package moderation_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/uptrace/bun"

	"agora/internal/testdb"
	"agora/models"
	"agora/moderation"
	"agora/policy"
)

func TestTopicActions(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		tp, _ := f.topic(t, f.author)
		f.reply(t, f.bob, tp.ID, "first answer")
		f.reply(t, f.carol, tp.ID, "second answer")

		checkLog := func(t *testing.T, action, reason string) *models.ModAction {
			t.Helper()
			es := f.logActions(t, action)
			if len(es) != 1 || es[0].TargetType != "topic" || es[0].TargetID != tp.ID || es[0].Reason != reason ||
				es[0].ModeratorID == nil || *es[0].ModeratorID != f.mod.ID || *es[0].TargetUserID != f.author.ID {
				t.Fatalf("%s log entries = %+v, want one by the moderator on topic %d with reason %q", action, es, tp.ID, reason)
			}
			return es[0]
		}

		t.Run("lock", func(t *testing.T) {
			got, err := f.svc.TopicAction(ctx, f.mod, tp.ID, moderation.TopicLock, why("going in circles"), 0)
			if err != nil {
				t.Fatal(err)
			}
			if !got.Locked {
				t.Error("topic not locked")
			}
			if _, err := f.forum.Reply(ctx, f.dave, tp.ID, "one more thing", nil); !errors.Is(err, policy.ErrLocked) {
				t.Errorf("member reply to a locked topic: %v, want ErrLocked", err)
			}
			checkLog(t, "lock_topic", "going in circles")
		})
		t.Run("unlock", func(t *testing.T) {
			got, err := f.svc.TopicAction(ctx, f.mod, tp.ID, moderation.TopicUnlock, why("cooled down"), 0)
			if err != nil {
				t.Fatal(err)
			}
			if got.Locked {
				t.Error("topic still locked")
			}
			if _, err := f.forum.Reply(ctx, f.dave, tp.ID, "one more thing", nil); err != nil {
				t.Errorf("member reply after unlocking: %v", err)
			}
			checkLog(t, "unlock_topic", "cooled down")
		})
		t.Run("pin", func(t *testing.T) {
			got, err := f.svc.TopicAction(ctx, f.mod, tp.ID, moderation.TopicPin, why("frequently asked"), 0)
			if err != nil {
				t.Fatal(err)
			}
			if !got.Pinned || !f.topicRow(t, tp.ID).Pinned {
				t.Error("topic not pinned")
			}
			checkLog(t, "pin_topic", "frequently asked")
		})
		t.Run("unpin", func(t *testing.T) {
			got, err := f.svc.TopicAction(ctx, f.mod, tp.ID, moderation.TopicUnpin, why("outdated"), 0)
			if err != nil {
				t.Fatal(err)
			}
			if got.Pinned || f.topicRow(t, tp.ID).Pinned {
				t.Error("topic still pinned")
			}
			checkLog(t, "unpin_topic", "outdated")
		})
		t.Run("move", func(t *testing.T) {
			from, to := f.categoryRow(t, f.cat.ID), f.categoryRow(t, f.cat2.ID)
			if from.TopicCount != 1 || from.PostCount != 4 || to.TopicCount != 0 || to.PostCount != 0 {
				t.Fatalf("counters before moving: %d/%d and %d/%d, want 1/4 and 0/0", from.TopicCount, from.PostCount, to.TopicCount, to.PostCount)
			}
			got, err := f.svc.TopicAction(ctx, f.mod, tp.ID, moderation.TopicMove, why("belongs in announcements"), f.cat2.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.CategoryID != f.cat2.ID {
				t.Errorf("category = %d, want %d", got.CategoryID, f.cat2.ID)
			}
			from, to = f.categoryRow(t, f.cat.ID), f.categoryRow(t, f.cat2.ID)
			if from.TopicCount != 0 || from.PostCount != 0 || to.TopicCount != 1 || to.PostCount != 4 {
				t.Errorf("counters after moving: %d/%d and %d/%d, want 0/0 and 1/4", from.TopicCount, from.PostCount, to.TopicCount, to.PostCount)
			}
			e := checkLog(t, "move_topic", "belongs in announcements")
			var d map[string]int64
			if err := json.Unmarshal([]byte(e.Details), &d); err != nil || d["from"] != f.cat.ID || d["to"] != f.cat2.ID {
				t.Errorf("move details = %s, want from %d to %d", e.Details, f.cat.ID, f.cat2.ID)
			}
		})
		t.Run("unknown category", func(t *testing.T) {
			_, err := f.svc.TopicAction(ctx, f.mod, tp.ID, moderation.TopicMove, why("elsewhere"), 424242)
			fieldErr("category_id")(t, err)
			if got := f.topicRow(t, tp.ID).CategoryID; got != f.cat2.ID {
				t.Errorf("category after a refused move = %d, want %d", got, f.cat2.ID)
			}
		})
		t.Run("no reason", func(t *testing.T) {
			_, err := f.svc.TopicAction(ctx, f.mod, tp.ID, moderation.TopicLock, why("  "), 0)
			fieldErr("reason")(t, err)
		})
		t.Run("unknown action", func(t *testing.T) {
			_, err := f.svc.TopicAction(ctx, f.mod, tp.ID, "archive", why("tidy"), 0)
			fieldErr("action")(t, err)
		})
		t.Run("member", func(t *testing.T) {
			_, err := f.svc.TopicAction(ctx, f.bob, tp.ID, moderation.TopicLock, why("mine"), 0)
			forbidCode("staff_only")(t, err)
		})
		t.Run("missing topic", func(t *testing.T) {
			if _, err := f.svc.TopicAction(ctx, f.mod, 999999, moderation.TopicLock, why("x"), 0); !errors.Is(err, models.ErrNotFound) {
				t.Errorf("err = %v, want ErrNotFound", err)
			}
		})
		if n := len(f.logRows(t)); n != 5 {
			t.Errorf("log has %d entries, want 5 (refused actions write none)", n)
		}
	})
}

// TestCategoryCountersFollowModeration checks that a category's topic and
// post counters always equal a recount of its visible topics and posts
// while moderators remove, move and restore.
func TestCategoryCountersFollowModeration(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		recount := func(t *testing.T, step string) {
			t.Helper()
			for _, c := range []*models.Category{f.cat, f.cat2} {
				var topics, posts int
				if err := db.NewSelect().TableExpr("topics").ColumnExpr("count(*)").Where("category_id = ?", c.ID).
					Where("removed_at IS NULL").Scan(ctx, &topics); err != nil {
					t.Fatal(err)
				}
				if err := db.NewSelect().TableExpr("posts AS p").Join("JOIN topics AS t ON t.id = p.topic_id").ColumnExpr("count(*)").
					Where("t.category_id = ?", c.ID).Where("t.removed_at IS NULL").Where("p.removed_at IS NULL").Scan(ctx, &posts); err != nil {
					t.Fatal(err)
				}
				got := f.categoryRow(t, c.ID)
				if got.TopicCount != topics || got.PostCount != posts {
					t.Errorf("after %s, %s counts %d topics/%d posts, recount says %d/%d", step, c.Slug, got.TopicCount, got.PostCount, topics, posts)
				}
			}
		}
		tp, first := f.topic(t, f.author)
		r1 := f.reply(t, f.bob, tp.ID, "first answer")
		f.reply(t, f.carol, tp.ID, "second answer")
		other, _ := f.topic(t, f.author)
		f.reply(t, f.bob, other.ID, "an answer elsewhere")
		recount(t, "posting")

		steps := []struct {
			name string
			do   func() error
		}{
			{"removing a reply", func() error { return errOf(f.svc.RemovePost(ctx, f.mod, r1.ID, why("spam"))) }},
			{"moving the topic", func() error {
				_, err := f.svc.TopicAction(ctx, f.mod, tp.ID, moderation.TopicMove, why("elsewhere"), f.cat2.ID)
				return err
			}},
			{"restoring the reply", func() error { return errOf(f.svc.RestorePost(ctx, f.mod, r1.ID, why("appeal"))) }},
			{"removing the topic", func() error { return errOf(f.svc.RemovePost(ctx, f.mod, first.ID, why("spam"))) }},
			{"moving the removed topic back", func() error {
				_, err := f.svc.TopicAction(ctx, f.mod, tp.ID, moderation.TopicMove, why("back"), f.cat.ID)
				return err
			}},
			{"restoring the topic", func() error { return errOf(f.svc.RestorePost(ctx, f.mod, first.ID, why("appeal"))) }},
			{"removing a reply by resolution", func() error {
				for _, u := range []*models.User{f.dave, f.erin} {
					if _, err := f.svc.Flag(ctx, u, r1.ID, "spam", ""); err != nil {
						return err
					}
				}
				_, err := f.svc.Resolve(ctx, f.mod, r1.ID, moderation.Resolution{Action: moderation.ActionRemove, Reason: why("spam")})
				return err
			}},
		}
		for _, s := range steps {
			if err := s.do(); err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
			recount(t, s.name)
		}
	})
}
