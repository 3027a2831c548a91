package moderation_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"agora/internal/testdb"
	"agora/models"
	"agora/moderation"
)

func TestFlagLifecycle(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		tp, _ := f.topic(t, f.author)
		p := f.reply(t, f.author, tp.ID, "Buy cheap watches at example.com")

		for _, u := range []*models.User{f.bob, f.carol} {
			res := f.flag(t, u, p.ID, "spam")
			if res.Hidden {
				t.Errorf("flag by %s hid the post, want it visible below the threshold", u.Username)
			}
			if got := res.Flag; got.Weight != 3 || got.LevelPart != 2 || got.AccuracyPart != 0 || got.Status != models.FlagOpen {
				t.Errorf("flag by %s: weight %d (level %d, accuracy %d) %s; want 3 (2, 0) open",
					u.Username, got.Weight, got.LevelPart, got.AccuracyPart, got.Status)
			}
		}
		if got := f.post(t, p.ID).HiddenAt; got != nil {
			t.Errorf("after two flags hidden_at = %v, want nil", got)
		}
		if n := len(f.notes(t, f.author.ID, "post_hidden")); n != 0 {
			t.Errorf("author got %d post_hidden notifications after two flags, want 0", n)
		}
		if n := len(f.logActions(t, "auto_hide")); n != 0 {
			t.Errorf("%d auto_hide log entries after two flags, want 0", n)
		}

		res := f.flag(t, f.dave, p.ID, "spam")
		if !res.Hidden {
			t.Errorf("third flag: post_hidden = false, want true")
		}
		if got := f.post(t, p.ID).HiddenAt; got == nil || !got.Equal(f.now) {
			t.Errorf("after three flags hidden_at = %v, want %v", got, f.now)
		}
		ns := f.notes(t, f.author.ID, "post_hidden")
		if len(ns) != 1 || ns[0].PostID == nil || *ns[0].PostID != p.ID || !strings.Contains(ns[0].Message, tp.Title) {
			t.Errorf("author's post_hidden notifications = %+v, want one about post %d naming the topic", ns, p.ID)
		}
		hides := f.logActions(t, "auto_hide")
		if len(hides) != 1 {
			t.Fatalf("%d auto_hide log entries, want 1", len(hides))
		}
		h := hides[0]
		if h.ModeratorID != nil || h.TargetType != "post" || h.TargetID != p.ID || h.TargetUserID == nil || *h.TargetUserID != f.author.ID {
			t.Errorf("auto_hide entry: moderator %v, target %s %d user %v; want NULL, post %d, user %d",
				h.ModeratorID, h.TargetType, h.TargetID, h.TargetUserID, p.ID, f.author.ID)
		}
		var details map[string]int
		if err := json.Unmarshal([]byte(h.Details), &details); err != nil || details["weight"] != 9 || details["threshold"] != 9 {
			t.Errorf("auto_hide details = %s (%v), want weight 9 and threshold 9", h.Details, err)
		}

		entries, total, err := f.svc.Queue(ctx, f.mod, moderation.QueueFilter{Page: 1, PerPage: 20})
		if err != nil {
			t.Fatal(err)
		}
		if total != 1 || len(entries) != 1 {
			t.Fatalf("queue: total %d, %d entries; want 1, 1", total, len(entries))
		}
		e := entries[0]
		if e.Post.ID != p.ID || e.Author.ID != f.author.ID || e.Topic.ID != tp.ID {
			t.Errorf("entry is post %d by %d in topic %d, want post %d by %d in %d", e.Post.ID, e.Author.ID, e.Topic.ID, p.ID, f.author.ID, tp.ID)
		}
		if e.Weight != 9 || e.Threshold != 9 || e.Severe {
			t.Errorf("entry weight %d threshold %d severe %v; want 9, 9, false", e.Weight, e.Threshold, e.Severe)
		}
		if e.History.FlagsAgainst != 3 {
			t.Errorf("author history flags received = %d, want 3", e.History.FlagsAgainst)
		}
		if len(e.Context) != 1 || e.Context[0].PostNumber != 1 {
			t.Errorf("entry context has %d posts, want the question", len(e.Context))
		}
		if len(e.Flags) != 3 {
			t.Fatalf("entry has %d flags, want 3", len(e.Flags))
		}
		for i, want := range []*models.User{f.bob, f.carol, f.dave} {
			fv := e.Flags[i]
			if fv.Flagger == nil || fv.Flagger.ID != want.ID || fv.Reason != "spam" || fv.Weight != 3 || fv.LevelPart != 2 || fv.AccuracyPart != 0 || fv.Accuracy != -1 {
				t.Errorf("flag %d: flagger %v reason %q weight %d (level %d, accuracy %d) accuracy %v; want %s spam 3 (2, 0) -1",
					i, fv.Flagger, fv.Reason, fv.Weight, fv.LevelPart, fv.AccuracyPart, fv.Accuracy, want.Username)
			}
		}
		if resolved, n, err := f.svc.Queue(ctx, f.mod, moderation.QueueFilter{Resolved: true, Page: 1, PerPage: 20}); err != nil || n != 0 || len(resolved) != 0 {
			t.Errorf("resolved queue: %d entries, total %d, %v; want empty", len(resolved), n, err)
		}
		if _, _, err := f.svc.Queue(ctx, f.bob, moderation.QueueFilter{Page: 1, PerPage: 20}); asErr[*models.ForbiddenError](t, err).Code != "staff_only" {
			t.Errorf("member reading the queue: %v, want staff_only", err)
		}

		// A fourth flag on an already hidden post neither hides nor notifies again.
		if res := f.flag(t, f.erin, p.ID, "spam"); res.Hidden {
			t.Errorf("fourth flag reported hiding an already hidden post")
		}
		if n := len(f.notes(t, f.author.ID, "post_hidden")); n != 1 {
			t.Errorf("author has %d post_hidden notifications after a fourth flag, want 1", n)
		}
	})
}

func TestMemberFlagsNeverHideStaffPosts(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		f := newFixture(t, db)
		tp, _ := f.topic(t, f.author)
		p := f.reply(t, f.mod, tp.ID, "Please read the guidelines before posting.")
		for _, u := range []*models.User{f.bob, f.carol, f.dave, f.erin} {
			if res := f.flag(t, u, p.ID, "harassment"); res.Hidden {
				t.Errorf("flag by %s hid a moderator's post", u.Username)
			}
		}
		if got := f.post(t, p.ID).HiddenAt; got != nil {
			t.Errorf("moderator's post hidden_at = %v after member flags, want nil", got)
		}
		if e := f.queueEntry(t, false, p.ID); e == nil || e.Weight != 12 {
			t.Errorf("queue entry for the moderator's post = %+v, want weight 12 awaiting review", e)
		}
		if n := len(f.logActions(t, "auto_hide")); n != 0 {
			t.Errorf("%d auto_hide entries, want 0", n)
		}
	})
}

func TestStaffFlagHidesAtOnce(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		f := newFixture(t, db)
		tp, _ := f.topic(t, f.author)
		p := f.reply(t, f.author, tp.ID, "Here is the admin password: hunter2")
		res := f.flag(t, f.mod, p.ID, "privacy")
		if !res.Hidden || res.Flag.Weight != moderation.DefaultThreshold {
			t.Errorf("moderator flag: hidden %v weight %d; want true, %d", res.Hidden, res.Flag.Weight, moderation.DefaultThreshold)
		}
		if f.post(t, p.ID).HiddenAt == nil {
			t.Error("post not hidden after a moderator's flag")
		}
		if n := len(f.notes(t, f.author.ID, "post_hidden")); n != 1 {
			t.Errorf("author has %d post_hidden notifications, want 1", n)
		}
	})
}

func TestFlagRefusals(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		tp, _ := f.topic(t, f.author)
		p := f.reply(t, f.author, tp.ID, "An ordinary reply")
		f.flag(t, f.bob, p.ID, "off_topic")
		if err := errOf(f.svc.Suspend(ctx, f.mod, f.erin.ID, 7, time.Time{}, why("harassment"), false)); err != nil {
			t.Fatal(err)
		}
		suspended := f.reloadUser(t, f.erin.ID)

		cases := []struct {
			name   string
			user   *models.User
			reason string
			note   string
			check  func(t *testing.T, err error)
		}{
			{"own post", f.author, "spam", "", func(t *testing.T, err error) {
				if fe := asErr[*models.ForbiddenError](t, err); fe.Code != "own_post" {
					t.Errorf("code = %q, want own_post", fe.Code)
				}
			}},
			{"second open flag", f.bob, "spam", "", func(t *testing.T, err error) {
				asErr[*models.ConflictError](t, err)
			}},
			{"other without a note", f.carol, "other", "  ", func(t *testing.T, err error) {
				if ve := asErr[*models.ValidationError](t, err); ve.Fields["note"] == "" {
					t.Errorf("fields = %v, want note", ve.Fields)
				}
			}},
			{"unknown reason", f.carol, "boring", "", func(t *testing.T, err error) {
				if ve := asErr[*models.ValidationError](t, err); ve.Fields["reason"] == "" {
					t.Errorf("fields = %v, want reason", ve.Fields)
				}
			}},
			{"note too long", f.carol, "other", strings.Repeat("x", 1001), func(t *testing.T, err error) {
				if ve := asErr[*models.ValidationError](t, err); ve.Fields["note"] == "" {
					t.Errorf("fields = %v, want note", ve.Fields)
				}
			}},
			{"suspended member", suspended, "spam", "", func(t *testing.T, err error) {
				if se := asErr[*models.SuspendedError](t, err); se.Until == nil || !se.Until.Equal(start.AddDate(0, 0, 7)) {
					t.Errorf("until = %v, want %v", se.Until, start.AddDate(0, 0, 7))
				}
			}},
			{"anonymous", nil, "spam", "", func(t *testing.T, err error) {
				if !errors.Is(err, models.ErrUnauthenticated) {
					t.Errorf("err = %v, want ErrUnauthenticated", err)
				}
			}},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				res, err := f.svc.Flag(ctx, c.user, p.ID, c.reason, c.note)
				if err == nil {
					t.Fatalf("flag accepted: %+v", res.Flag)
				}
				c.check(t, err)
			})
		}
		if fs := f.flagsOn(t, p.ID); len(fs) != 1 {
			t.Errorf("%d flags stored, want only bob's first one", len(fs))
		}
		t.Run("other with a note", func(t *testing.T) {
			res, err := f.svc.Flag(ctx, f.carol, p.ID, "other", "  posts the same link in every topic ")
			if err != nil {
				t.Fatal(err)
			}
			if res.Flag.Note != "posts the same link in every topic" {
				t.Errorf("note = %q, want it trimmed", res.Flag.Note)
			}
		})
	})
}

func TestRetract(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		tp, _ := f.topic(t, f.author)
		p := f.reply(t, f.author, tp.ID, "A reply")
		own := f.flag(t, f.bob, p.ID, "spam").Flag
		other := f.flag(t, f.carol, p.ID, "spam").Flag

		t.Run("someone else's flag", func(t *testing.T) {
			if err := f.svc.Retract(ctx, f.bob, other.ID); !errors.Is(err, models.ErrNotFound) {
				t.Errorf("err = %v, want ErrNotFound", err)
			}
		})
		t.Run("own open flag", func(t *testing.T) {
			if err := f.svc.Retract(ctx, f.bob, own.ID); err != nil {
				t.Fatal(err)
			}
			got, _ := models.FlagByID(ctx, db, own.ID)
			if got.Status != models.FlagRetracted || got.ResolvedAt == nil {
				t.Errorf("flag after retracting: %s resolved %v, want retracted with a time", got.Status, got.ResolvedAt)
			}
			if e := f.queueEntry(t, false, p.ID); e == nil || e.Weight != 3 || len(e.Flags) != 1 {
				t.Errorf("queue entry after retracting = %+v, want carol's flag alone, weight 3", e)
			}
		})
		t.Run("retracted flag again", func(t *testing.T) {
			asErr[*models.ConflictError](t, f.svc.Retract(ctx, f.bob, own.ID))
		})
		t.Run("resolved flag", func(t *testing.T) {
			if _, err := f.svc.Resolve(ctx, f.mod, p.ID, moderation.Resolution{Action: moderation.ActionDismiss}); err != nil {
				t.Fatal(err)
			}
			asErr[*models.ConflictError](t, f.svc.Retract(ctx, f.carol, other.ID))
		})
		t.Run("missing flag", func(t *testing.T) {
			if err := f.svc.Retract(ctx, f.bob, 999999); !errors.Is(err, models.ErrNotFound) {
				t.Errorf("err = %v, want ErrNotFound", err)
			}
		})
	})
}

func TestFlagWeight(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name                   string
		user                   models.User
		level, accuracy, total int
	}{
		{"new member", models.User{Role: models.RoleMember}, 0, 0, 1},
		{"level 2", models.User{Role: models.RoleMember, Level: 2}, 2, 0, 3},
		{"9 of 10 right", models.User{Role: models.RoleMember, Level: 2, FlagsAgreed: 9, FlagsDisagreed: 1}, 2, 2, 5},
		{"1 of 10 right", models.User{Role: models.RoleMember, Level: 2, FlagsAgreed: 1, FlagsDisagreed: 9}, 2, -2, 1},
		{"7 of 10 right", models.User{Role: models.RoleMember, Level: 1, FlagsAgreed: 7, FlagsDisagreed: 3}, 1, 1, 3},
		{"half right", models.User{Role: models.RoleMember, Level: 1, FlagsAgreed: 5, FlagsDisagreed: 5}, 1, 0, 2},
		{"all right, six reviewed", models.User{Role: models.RoleMember, FlagsAgreed: 6}, 0, 2, 3},
		{"five reviewed all right", models.User{Role: models.RoleMember, Level: 2, FlagsAgreed: 5}, 2, 0, 3},
		{"five reviewed all wrong", models.User{Role: models.RoleMember, Level: 2, FlagsDisagreed: 5}, 2, 0, 3},
		{"never below zero", models.User{Role: models.RoleMember, FlagsDisagreed: 20}, 0, -2, 0},
		{"moderator", models.User{Role: models.RoleModerator}, 0, 0, 9},
		{"admin", models.User{Role: models.RoleAdmin, Level: 4}, 0, 0, 9},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := moderation.FlagWeight(&c.user, 9)
			want := moderation.Weight{Level: c.level, Accuracy: c.accuracy, Total: c.total}
			if got != want {
				t.Errorf("FlagWeight = %+v, want %+v", got, want)
			}
		})
	}
}

func TestFlagRecordsAccuracy(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		f := newFixture(t, db)
		tp, _ := f.topic(t, f.author)
		cases := []struct {
			name              string
			agreed, disagreed int
			accuracy, weight  int
		}{
			{"mostly right", 9, 1, 2, 5},
			{"mostly wrong", 1, 9, -2, 1},
			{"too few reviewed", 5, 0, 0, 3},
		}
		for i, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				u := f.user(t, fmt.Sprintf("tracked%d", i), models.RoleMember, 2)
				if _, err := db.ExecContext(context.Background(), "UPDATE users SET flags_agreed = ?, flags_disagreed = ? WHERE id = ?", c.agreed, c.disagreed, u.ID); err != nil {
					t.Fatal(err)
				}
				u = f.reloadUser(t, u.ID)
				p := f.reply(t, f.author, tp.ID, "reply "+c.name)
				fl := f.flag(t, u, p.ID, "off_topic").Flag
				stored, err := models.FlagByID(context.Background(), db, fl.ID)
				if err != nil {
					t.Fatal(err)
				}
				if stored.LevelPart != 2 || stored.AccuracyPart != c.accuracy || stored.Weight != c.weight {
					t.Errorf("stored flag: level %d accuracy %d weight %d; want 2, %d, %d", stored.LevelPart, stored.AccuracyPart, stored.Weight, c.accuracy, c.weight)
				}
			})
		}
	})
}
