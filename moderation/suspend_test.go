package moderation_test

import (
	"context"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"agora/forum"
	"agora/internal/testdb"
	"agora/models"
	"agora/moderation"
)

func TestSuspensionRules(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		cases := []struct {
			name       string
			by, target *models.User
			code       string // "" when allowed
		}{
			{"moderator suspends an admin", f.mod, f.admin, "protected_user"},
			{"moderator suspends a moderator", f.mod, f.mod2, "protected_user"},
			{"moderator suspends themself", f.mod, f.mod, "self"},
			{"admin suspends themself", f.admin, f.admin, "self"},
			{"member suspends a member", f.bob, f.carol, "staff_only"},
			{"admin suspends a moderator", f.admin, f.mod2, ""},
			{"moderator suspends a member", f.mod, f.carol, ""},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				err := errOf(f.svc.Suspend(ctx, c.by, c.target.ID, 5, time.Time{}, why("vulgar"), false))
				got := f.reloadUser(t, c.target.ID)
				if c.code != "" {
					if err == nil {
						t.Fatal("suspension accepted")
					}
					forbidCode(c.code)(t, err)
					if got.SuspendedUntil != nil {
						t.Errorf("suspended_until = %v after a refused suspension", got.SuspendedUntil)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if want := f.now.AddDate(0, 0, 5); got.SuspendedUntil == nil || !got.SuspendedUntil.Equal(want) {
					t.Errorf("suspended_until = %v, want %v", got.SuspendedUntil, want)
				}
			})
		}

		t.Run("bad input", func(t *testing.T) {
			fieldErr("reason")(t, errOf(f.svc.Suspend(ctx, f.mod, f.dave.ID, 1, time.Time{}, why(" "), false)))
			fieldErr("days")(t, errOf(f.svc.Suspend(ctx, f.mod, f.dave.ID, -3, time.Time{}, why("spam"), false)))
			fieldErr("until")(t, errOf(f.svc.Suspend(ctx, f.mod, f.dave.ID, 0, f.now.Add(-time.Hour), why("spam"), false)))
		})
		t.Run("until a time", func(t *testing.T) {
			until := f.now.Add(36 * time.Hour)
			if err := errOf(f.svc.Suspend(ctx, f.mod, f.dave.ID, 0, until, why("spam"), false)); err != nil {
				t.Fatal(err)
			}
			if got := f.reloadUser(t, f.dave.ID).SuspendedUntil; got == nil || !got.Equal(until) {
				t.Errorf("suspended_until = %v, want %v", got, until)
			}
		})

		t.Run("unsuspend", func(t *testing.T) {
			f.now = f.now.Add(time.Hour)
			if err := errOf(f.svc.Unsuspend(ctx, f.mod, f.carol.ID, why("apologised"))); err != nil {
				t.Fatal(err)
			}
			got := f.reloadUser(t, f.carol.ID)
			if got.SuspendedUntil != nil || got.SuspendedReason != "" {
				t.Errorf("after unsuspending: until %v reason %q, want neither", got.SuspendedUntil, got.SuspendedReason)
			}
			var sp models.Suspension
			if err := db.NewSelect().Model(&sp).Where("user_id = ?", f.carol.ID).Scan(ctx); err != nil {
				t.Fatal(err)
			}
			if sp.LiftedAt == nil || !sp.LiftedAt.Equal(f.now) || sp.LiftedBy == nil || *sp.LiftedBy != f.mod.ID {
				t.Errorf("suspension lifted at %v by %v, want %v by %d", sp.LiftedAt, sp.LiftedBy, f.now, f.mod.ID)
			}
			if es := f.logActions(t, "unsuspend_user"); len(es) != 1 || es[0].TargetID != f.carol.ID || es[0].Reason != "apologised" {
				t.Errorf("unsuspend_user entries = %+v", es)
			}
			tp, _ := f.topic(t, f.author)
			if _, err := f.forum.Reply(ctx, got, tp.ID, "thanks", nil); err != nil {
				t.Errorf("reply after unsuspending: %v", err)
			}
		})
		t.Run("unsuspend a member who is not suspended", func(t *testing.T) {
			asErr[*models.ConflictError](t, errOf(f.svc.Unsuspend(ctx, f.mod, f.bob.ID, why("why not"))))
		})
		t.Run("unsuspend by a member", func(t *testing.T) {
			forbidCode("staff_only")(t, errOf(f.svc.Unsuspend(ctx, f.bob, f.dave.ID, why("friends"))))
		})

		t.Run("suspension ends", func(t *testing.T) {
			tp, _ := f.topic(t, f.author)
			if err := errOf(f.svc.Suspend(ctx, f.mod, f.erin.ID, 2, time.Time{}, why("vulgar"), false)); err != nil {
				t.Fatal(err)
			}
			end := f.now.AddDate(0, 0, 2)
			u := f.reloadUser(t, f.erin.ID)
			if _, err := f.forum.Reply(ctx, u, tp.ID, "still here", nil); err == nil {
				t.Fatal("suspended member replied")
			}
			justBefore := forum.New(db, func() time.Time { return end.Add(-time.Minute) })
			if _, err := justBefore.Reply(ctx, u, tp.ID, "still here", nil); err == nil {
				t.Error("member replied a minute before the suspension ends")
			}
			afterNow := func() time.Time { return end.Add(time.Minute) }
			later := forum.New(db, afterNow)
			if _, err := later.Reply(ctx, u, tp.ID, "back again", nil); err != nil {
				t.Errorf("reply after the suspension ended: %v", err)
			}
			if _, _, err := later.CreateTopic(ctx, u, forum.TopicInput{CategoryID: f.cat.ID, Title: "A new question after my break", Body: "hi"}); err != nil {
				t.Errorf("new topic after the suspension ended: %v", err)
			}
			if _, err := moderation.New(db, afterNow).Flag(ctx, u, f.reply(t, f.author, tp.ID, "flag me").ID, "spam", ""); err != nil {
				t.Errorf("flag after the suspension ended: %v", err)
			}
			asErr[*models.ConflictError](t, errOf(moderation.New(db, afterNow).Unsuspend(ctx, f.mod, f.erin.ID, why("ended anyway"))))
		})
	})
}
