package moderation_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"agora/forum"
	"agora/internal/testdb"
	"agora/models"
	"agora/moderation"
	"agora/policy"
)

// fixture is a small community: two categories, an author, four
// established members (level 2), two moderators and an admin, with the
// moderation and forum services on one injectable clock.
type fixture struct {
	db    *bun.DB
	now   time.Time
	svc   *moderation.Service
	forum *forum.Service
	cat   *models.Category
	cat2  *models.Category

	author, bob, carol, dave, erin *models.User
	mod, mod2, admin               *models.User

	seq int
}

var start = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

func newFixture(t *testing.T, db *bun.DB) *fixture {
	t.Helper()
	f := &fixture{db: db, now: start}
	clock := func() time.Time { return f.now }
	f.svc = moderation.New(db, clock)
	f.forum = forum.New(db, clock)
	f.author = f.user(t, "author", models.RoleMember, 0)
	f.bob = f.user(t, "bob", models.RoleMember, 2)
	f.carol = f.user(t, "carol", models.RoleMember, 2)
	f.dave = f.user(t, "dave", models.RoleMember, 2)
	f.erin = f.user(t, "erin", models.RoleMember, 2)
	f.mod = f.user(t, "mia", models.RoleModerator, 0)
	f.mod2 = f.user(t, "max", models.RoleModerator, 0)
	f.admin = f.user(t, "ada", models.RoleAdmin, 0)
	f.cat = f.category(t, "Questions", "questions")
	f.cat2 = f.category(t, "Announcements", "announcements")
	return f
}

// user creates an account with a role and sets its trust level with SQL.
func (f *fixture) user(t *testing.T, name, role string, level int) *models.User {
	t.Helper()
	ctx := context.Background()
	u := &models.User{Username: name, Email: name + "@example.com", Role: role, CreatedAt: f.now, UpdatedAt: f.now}
	if err := models.CreateUser(ctx, f.db, u); err != nil {
		t.Fatalf("create user %s: %v", name, err)
	}
	if _, err := f.db.ExecContext(ctx, "UPDATE users SET level = ? WHERE id = ?", level, u.ID); err != nil {
		t.Fatalf("set level of %s: %v", name, err)
	}
	return f.reloadUser(t, u.ID)
}

func (f *fixture) category(t *testing.T, name, slug string) *models.Category {
	t.Helper()
	c := &models.Category{Name: name, Slug: slug, Color: "#336699", CreatedAt: f.now, UpdatedAt: f.now}
	if err := models.CreateCategory(context.Background(), f.db, c); err != nil {
		t.Fatalf("create category %s: %v", name, err)
	}
	return c
}

// topic starts a topic by author in the first category.
func (f *fixture) topic(t *testing.T, author *models.User) (*models.Topic, *models.Post) {
	t.Helper()
	f.seq++
	tp, p, err := f.forum.CreateTopic(context.Background(), author, forum.TopicInput{CategoryID: f.cat.ID,
		Title: fmt.Sprintf("How do I rotate API keys, take %d?", f.seq), Body: "My keys are **old**."})
	if err != nil {
		t.Fatalf("create topic: %v", err)
	}
	return tp, p
}

func (f *fixture) reply(t *testing.T, author *models.User, topicID int64, body string) *models.Post {
	t.Helper()
	p, err := f.forum.Reply(context.Background(), author, topicID, body, nil)
	if err != nil {
		t.Fatalf("reply: %v", err)
	}
	return p
}

func (f *fixture) flag(t *testing.T, u *models.User, postID int64, reason string) *moderation.FlagResult {
	t.Helper()
	res, err := f.svc.Flag(context.Background(), u, postID, reason, "")
	if err != nil {
		t.Fatalf("%s flags post %d: %v", u.Username, postID, err)
	}
	return res
}

// flagged returns a reply by author that bob, carol and dave flagged as
// spam: weight 9, hidden pending review.
func (f *fixture) flagged(t *testing.T, author *models.User) (*models.Topic, *models.Post) {
	t.Helper()
	tp, _ := f.topic(t, author)
	p := f.reply(t, author, tp.ID, "Buy *cheap* watches at example.com")
	for _, u := range []*models.User{f.bob, f.carol, f.dave} {
		f.flag(t, u, p.ID, "spam")
	}
	if f.post(t, p.ID).HiddenAt == nil {
		t.Fatalf("flagged post %d is not hidden", p.ID)
	}
	return tp, p
}

func (f *fixture) reloadUser(t *testing.T, id int64) *models.User {
	t.Helper()
	u, err := models.UserByID(context.Background(), f.db, id)
	if err != nil {
		t.Fatalf("load user %d: %v", id, err)
	}
	return u
}

func (f *fixture) post(t *testing.T, id int64) *models.Post {
	t.Helper()
	p, err := models.PostByID(context.Background(), f.db, id)
	if err != nil {
		t.Fatalf("load post %d: %v", id, err)
	}
	return p
}

func (f *fixture) topicRow(t *testing.T, id int64) *models.Topic {
	t.Helper()
	tp, err := models.TopicByID(context.Background(), f.db, id)
	if err != nil {
		t.Fatalf("load topic %d: %v", id, err)
	}
	return tp
}

func (f *fixture) categoryRow(t *testing.T, id int64) *models.Category {
	t.Helper()
	c, err := models.CategoryByID(context.Background(), f.db, id)
	if err != nil {
		t.Fatalf("load category %d: %v", id, err)
	}
	return c
}

// notes returns userID's notifications of kind, oldest first.
func (f *fixture) notes(t *testing.T, userID int64, kind string) []*models.Notification {
	t.Helper()
	var ns []*models.Notification
	if err := f.db.NewSelect().Model(&ns).Where("user_id = ?", userID).Where("kind = ?", kind).Order("id").Scan(context.Background()); err != nil {
		t.Fatalf("load notifications: %v", err)
	}
	return ns
}

// logRows returns the whole moderation log in id order.
func (f *fixture) logRows(t *testing.T) []*models.ModAction {
	t.Helper()
	var as []*models.ModAction
	if err := f.db.NewSelect().Model(&as).Order("id").Scan(context.Background()); err != nil {
		t.Fatalf("load log: %v", err)
	}
	return as
}

// logActions returns the log entries with that action, in id order.
func (f *fixture) logActions(t *testing.T, action string) []*models.ModAction {
	t.Helper()
	var out []*models.ModAction
	for _, a := range f.logRows(t) {
		if a.Action == action {
			out = append(out, a)
		}
	}
	return out
}

func (f *fixture) flagsOn(t *testing.T, postID int64) []*models.Flag {
	t.Helper()
	fs, err := models.FlagsOnPosts(context.Background(), f.db, []int64{postID})
	if err != nil {
		t.Fatalf("load flags: %v", err)
	}
	return fs
}

// queueHas reports whether the open (or resolved) queue has an entry for postID.
func (f *fixture) queueEntry(t *testing.T, resolved bool, postID int64) *moderation.QueueEntry {
	t.Helper()
	entries, _, err := f.svc.Queue(context.Background(), f.mod, moderation.QueueFilter{Resolved: resolved, Page: 1, PerPage: 100})
	if err != nil {
		t.Fatalf("queue: %v", err)
	}
	for _, e := range entries {
		if e.Post.ID == postID {
			return e
		}
	}
	return nil
}

// checkQueueMoved asserts a resolved post left the open queue for the resolved one.
func (f *fixture) checkQueueMoved(t *testing.T, postID int64) {
	t.Helper()
	if e := f.queueEntry(t, false, postID); e != nil {
		t.Errorf("open queue still has post %d with %d flags", postID, len(e.Flags))
	}
	if e := f.queueEntry(t, true, postID); e == nil {
		t.Errorf("resolved queue has no entry for post %d", postID)
	} else if len(e.Flags) != 3 {
		t.Errorf("resolved entry has %d flags, want 3", len(e.Flags))
	}
}

// asErr fails unless err is (or wraps) a T, and returns it.
func asErr[T error](t *testing.T, err error) T {
	t.Helper()
	var target T
	if !errors.As(err, &target) {
		t.Fatalf("error = %v (%T), want %T", err, err, target)
	}
	return target
}

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

func TestFlagRateLimit(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		tp, _ := f.topic(t, f.author)
		posts := make([]*models.Post, 22)
		for i := range posts {
			posts[i] = f.reply(t, f.author, tp.ID, fmt.Sprintf("reply %d", i))
		}
		flagger := f.user(t, "newbie", models.RoleMember, 0)
		for i := range 20 {
			f.now = start.Add(time.Duration(i) * time.Minute)
			f.flag(t, flagger, posts[i].ID, "off_topic")
		}
		f.now = start.Add(30 * time.Minute)
		_, err := f.svc.Flag(ctx, flagger, posts[20].ID, "off_topic", "")
		if rl := asErr[*models.RateLimitError](t, err); rl.RetryAfter <= 0 {
			t.Errorf("retry after = %v, want positive", rl.RetryAfter)
		}
		if n := len(f.flagsOn(t, posts[20].ID)); n != 0 {
			t.Errorf("the 21st flag was stored (%d rows)", n)
		}
		// An hour after the first flag, one more is allowed.
		f.now = start.Add(time.Hour + time.Second)
		if _, err := f.svc.Flag(ctx, flagger, posts[20].ID, "off_topic", ""); err != nil {
			t.Errorf("flag after the hour passed: %v", err)
		}
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

func fieldErr(field string) func(t *testing.T, err error) {
	return func(t *testing.T, err error) {
		t.Helper()
		if ve := asErr[*models.ValidationError](t, err); ve.Fields[field] == "" {
			t.Errorf("fields = %v, want %s", ve.Fields, field)
		}
	}
}

func forbidCode(code string) func(t *testing.T, err error) {
	return func(t *testing.T, err error) {
		t.Helper()
		if fe := asErr[*models.ForbiddenError](t, err); fe.Code != code {
			t.Errorf("code = %q, want %q", fe.Code, code)
		}
	}
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

func actionsOf(as []*models.ModAction) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.Action
	}
	return out
}

// logFixture writes a log of several kinds of actions.
func logFixture(t *testing.T, f *fixture) {
	t.Helper()
	ctx := context.Background()
	tp, p := f.flagged(t, f.author) // 1 auto_hide
	steps := []func() error{
		func() error { // 2 dismiss_flags
			_, err := f.svc.Resolve(ctx, f.mod, p.ID, moderation.Resolution{Action: moderation.ActionDismiss, Reason: why("fine")})
			return err
		},
		func() error {
			_, err := f.svc.TopicAction(ctx, f.mod, tp.ID, moderation.TopicLock, why("heated"), 0)
			return err
		}, // 3
		func() error {
			return errOf(f.svc.Suspend(ctx, f.mod2, f.erin.ID, 2, time.Time{}, why("harassment"), true))
		}, // 4
		func() error { return errOf(f.svc.Unsuspend(ctx, f.admin, f.erin.ID, why("appeal"))) }, // 5
		func() error { return errOf(f.svc.RemovePost(ctx, f.mod, p.ID, why("off_topic"))) },    // 6
	}
	for i, step := range steps {
		f.now = f.now.Add(time.Duration(i+1) * time.Minute)
		if err := step(); err != nil {
			t.Fatalf("log step %d: %v", i+2, err)
		}
	}
}

var hexHash = regexp.MustCompile(`^[0-9a-f]{64}$`)

func TestModerationLogChain(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		logFixture(t, f)
		rows := f.logRows(t)
		if got, want := actionsOf(rows), []string{"auto_hide", "dismiss_flags", "lock_topic", "suspend_user", "unsuspend_user", "remove_post"}; strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("log actions = %v, want %v", got, want)
		}

		t.Run("chained", func(t *testing.T) {
			for i, r := range rows {
				if r.ID != int64(i+1) {
					t.Errorf("entry %d has id %d", i, r.ID)
				}
				if !hexHash.MatchString(r.Hash) {
					t.Errorf("entry %d hash %q is not a SHA-256 hex digest", r.ID, r.Hash)
				}
				prev := ""
				if i > 0 {
					prev = rows[i-1].Hash
				}
				if r.PrevHash != prev {
					t.Errorf("entry %d prev_hash = %q, want %q", r.ID, r.PrevHash, prev)
				}
			}
		})
		t.Run("intact", func(t *testing.T) {
			broken, checked, err := moderation.VerifyLog(ctx, db)
			if err != nil || broken != 0 || checked != len(rows) {
				t.Errorf("VerifyLog = %d, %d, %v; want 0, %d, nil", broken, checked, err, len(rows))
			}
		})
		t.Run("tampered reason", func(t *testing.T) {
			if _, err := db.ExecContext(ctx, "UPDATE moderation_actions SET reason='x' WHERE id=2"); err != nil {
				t.Fatal(err)
			}
			if broken, _, err := moderation.VerifyLog(ctx, db); err != nil || broken != 2 {
				t.Errorf("VerifyLog after tampering = %d, %v; want 2", broken, err)
			}
			if _, err := db.ExecContext(ctx, "UPDATE moderation_actions SET reason=? WHERE id=2", rows[1].Reason); err != nil {
				t.Fatal(err)
			}
			if broken, _, err := moderation.VerifyLog(ctx, db); err != nil || broken != 0 {
				t.Errorf("VerifyLog after undoing the tampering = %d, %v; want 0", broken, err)
			}
		})
		t.Run("tampered moderator", func(t *testing.T) {
			if _, err := db.ExecContext(ctx, "UPDATE moderation_actions SET moderator_id=? WHERE id=4", f.mod.ID); err != nil {
				t.Fatal(err)
			}
			if broken, _, err := moderation.VerifyLog(ctx, db); err != nil || broken != 4 {
				t.Errorf("VerifyLog after changing who acted = %d, %v; want 4", broken, err)
			}
			if _, err := db.ExecContext(ctx, "UPDATE moderation_actions SET moderator_id=? WHERE id=4", f.mod2.ID); err != nil {
				t.Fatal(err)
			}
		})
		t.Run("deleted middle row", func(t *testing.T) {
			if _, err := db.ExecContext(ctx, "DELETE FROM moderation_actions WHERE id=3"); err != nil {
				t.Fatal(err)
			}
			if broken, _, err := moderation.VerifyLog(ctx, db); err != nil || broken != 4 {
				t.Errorf("VerifyLog after deleting entry 3 = %d, %v; want 4", broken, err)
			}
		})
	})
}

func TestLogListing(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		logFixture(t, f)
		cases := []struct {
			name    string
			filter  moderation.LogFilter
			actions []string
			total   int
		}{
			{"newest first", moderation.LogFilter{Page: 1, PerPage: 3}, []string{"remove_post", "unsuspend_user", "suspend_user"}, 6},
			{"second page", moderation.LogFilter{Page: 2, PerPage: 3}, []string{"lock_topic", "dismiss_flags", "auto_hide"}, 6},
			{"by moderator", moderation.LogFilter{ModeratorID: f.mod.ID, Page: 1, PerPage: 20}, []string{"remove_post", "lock_topic", "dismiss_flags"}, 3},
			{"by member", moderation.LogFilter{UserID: f.erin.ID, Page: 1, PerPage: 20}, []string{"unsuspend_user", "suspend_user"}, 2},
			{"by action", moderation.LogFilter{Action: "auto_hide", Page: 1, PerPage: 20}, []string{"auto_hide"}, 1},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				got, total, err := f.svc.Log(ctx, f.mod, c.filter)
				if err != nil {
					t.Fatal(err)
				}
				if strings.Join(actionsOf(got), ",") != strings.Join(c.actions, ",") || total != c.total {
					t.Errorf("Log = %v total %d, want %v total %d", actionsOf(got), total, c.actions, c.total)
				}
			})
		}
	})
}

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

func TestQueueHealth(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		tp, _ := f.topic(t, f.author)
		posts := make([]*models.Post, 3)
		for i := range posts {
			posts[i] = f.reply(t, f.author, tp.ID, fmt.Sprintf("questionable %d", i))
		}
		health := func(t *testing.T) *moderation.Health {
			t.Helper()
			h, err := f.svc.QueueHealth(ctx, f.mod)
			if err != nil {
				t.Fatal(err)
			}
			return h
		}

		h := health(t)
		if h.Open != 0 || h.OldestWaiting != nil || h.MedianFirstAction != nil || len(h.ActionsByMod) != 0 {
			t.Errorf("empty queue health = %+v", h)
		}
		for i, p := range posts {
			f.now = start.Add(time.Duration(i) * 10 * time.Minute)
			f.flag(t, f.bob, p.ID, "off_topic")
		}
		f.flag(t, f.carol, posts[2].ID, "off_topic")
		h = health(t)
		if h.Open != 3 || h.OldestWaiting == nil || !h.OldestWaiting.Equal(start) || h.MedianFirstAction != nil {
			t.Errorf("health with three open entries = open %d oldest %v median %v; want 3, %v, nil", h.Open, h.OldestWaiting, h.MedianFirstAction, start)
		}

		// Resolved after 1h, 2h and 4h: the median is 2h.
		resolve := func(mod *models.User, p *models.Post, after time.Duration, action string) {
			t.Helper()
			f.now = start.Add(after)
			if _, err := f.svc.Resolve(ctx, mod, p.ID, moderation.Resolution{Action: action, Reason: why("off_topic")}); err != nil {
				t.Fatal(err)
			}
		}
		resolve(f.mod, posts[0], time.Hour, moderation.ActionDismiss)
		h = health(t)
		if h.Open != 2 || h.OldestWaiting == nil || !h.OldestWaiting.Equal(start.Add(10*time.Minute)) {
			t.Errorf("after one resolution: open %d oldest %v; want 2, %v", h.Open, h.OldestWaiting, start.Add(10*time.Minute))
		}
		if h.MedianFirstAction == nil || *h.MedianFirstAction != time.Hour {
			t.Errorf("median after one resolution = %v, want 1h", h.MedianFirstAction)
		}
		if len(h.ActionsByMod) != 1 || h.ActionsByMod["mia"] != 1 {
			t.Errorf("actions per moderator = %v, want mia: 1", h.ActionsByMod)
		}
		resolve(f.mod, posts[1], 10*time.Minute+2*time.Hour, moderation.ActionRemove)
		resolve(f.mod2, posts[2], 20*time.Minute+4*time.Hour, moderation.ActionDismiss)
		h = health(t)
		if h.Open != 0 || h.OldestWaiting != nil {
			t.Errorf("after every resolution: open %d oldest %v; want 0, nil", h.Open, h.OldestWaiting)
		}
		if h.MedianFirstAction == nil || *h.MedianFirstAction != 2*time.Hour {
			t.Errorf("median time to action = %v, want 2h", h.MedianFirstAction)
		}
		if len(h.ActionsByMod) != 2 || h.ActionsByMod["mia"] != 2 || h.ActionsByMod["max"] != 1 {
			t.Errorf("actions per moderator = %v, want mia: 2, max: 1", h.ActionsByMod)
		}

		f.now = start.AddDate(0, 0, 8)
		h = health(t)
		if h.MedianFirstAction != nil || len(h.ActionsByMod) != 0 {
			t.Errorf("a week later: median %v actions %v; want neither", h.MedianFirstAction, h.ActionsByMod)
		}
	})
}

func TestDryRun(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		tp, _ := f.topic(t, f.author)
		p := f.reply(t, f.author, tp.ID, "borderline")
		f.reply(t, f.author, tp.ID, "nobody minds")
		fl := f.flag(t, f.bob, p.ID, "off_topic").Flag

		cases := []struct {
			name      string
			threshold int
			want      []int64
		}{
			{"threshold 3", 3, []int64{p.ID}},
			{"threshold 4", 4, nil},
			{"threshold 100", 100, nil},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				r, err := f.svc.DryRun(ctx, f.admin, c.threshold)
				if err != nil {
					t.Fatal(err)
				}
				got := r.PostIDs
				if len(r.Posts) != len(got) {
					t.Errorf("DryRun(%d) loaded %d posts for %d ids", c.threshold, len(r.Posts), len(got))
				}
				if fmt.Sprint(got) != fmt.Sprint(c.want) && !(len(got) == 0 && len(c.want) == 0) {
					t.Errorf("DryRun(%d) = %v, want %v", c.threshold, got, c.want)
				}
			})
		}
		if got := f.post(t, p.ID).HiddenAt; got != nil {
			t.Errorf("dry run hid the post (%v)", got)
		}
		t.Run("retracted flags do not count", func(t *testing.T) {
			if err := f.svc.Retract(ctx, f.bob, fl.ID); err != nil {
				t.Fatal(err)
			}
			if got, err := f.svc.DryRun(ctx, f.admin, 3); err != nil || len(got.PostIDs) != 0 {
				t.Errorf("DryRun(3) after retracting = %v, %v; want none", got, err)
			}
		})
		t.Run("flags older than 30 days do not count", func(t *testing.T) {
			f.flag(t, f.carol, p.ID, "off_topic")
			f.now = start.AddDate(0, 0, 31)
			if got, err := f.svc.DryRun(ctx, f.admin, 3); err != nil || len(got.PostIDs) != 0 {
				t.Errorf("DryRun(3) a month later = %v, %v; want none", got, err)
			}
		})
		t.Run("member", func(t *testing.T) {
			_, err := f.svc.DryRun(ctx, f.bob, 3)
			forbidCode("staff_only")(t, err)
		})
	})
}

func TestQueueOrderAndFilters(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		tp, _ := f.topic(t, f.author)
		light := f.reply(t, f.author, tp.ID, "mildly off topic")
		f.flag(t, f.bob, light.ID, "off_topic")
		f.now = f.now.Add(time.Minute)
		_, hidden := f.flagged(t, f.author)
		f.now = f.now.Add(time.Minute)
		severe := f.reply(t, f.author, tp.ID, "I know where you live")
		f.flag(t, f.erin, severe.ID, "violence")
		other, _, err := f.forum.CreateTopic(ctx, f.author, forum.TopicInput{CategoryID: f.cat2.ID, Title: "An announcement about pricing", Body: "x"})
		if err != nil {
			t.Fatal(err)
		}
		elsewhere := f.reply(t, f.author, other.ID, "click my link")
		f.flag(t, f.erin, elsewhere.ID, "spam")
		// Member flags never hide a moderator's post: heavier, yet below the hidden one.
		heavy := f.reply(t, f.mod2, tp.ID, "Locking this soon.")
		for _, u := range []*models.User{f.bob, f.carol, f.dave, f.erin} {
			f.flag(t, u, heavy.ID, "harassment")
		}

		ids := func(es []*moderation.QueueEntry) []int64 {
			out := make([]int64, len(es))
			for i, e := range es {
				out[i] = e.Post.ID
			}
			return out
		}
		cases := []struct {
			name   string
			filter moderation.QueueFilter
			want   []int64
			total  int
		}{
			{"severe, then hidden, then weight, then age", moderation.QueueFilter{Page: 1, PerPage: 20}, []int64{severe.ID, hidden.ID, heavy.ID, light.ID, elsewhere.ID}, 5},
			{"paged", moderation.QueueFilter{Page: 2, PerPage: 2}, []int64{heavy.ID, light.ID}, 5},
			{"by reason", moderation.QueueFilter{Reason: "violence", Page: 1, PerPage: 20}, []int64{severe.ID}, 1},
			{"by category", moderation.QueueFilter{CategoryID: f.cat2.ID, Page: 1, PerPage: 20}, []int64{elsewhere.ID}, 1},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				es, total, err := f.svc.Queue(ctx, f.mod, c.filter)
				if err != nil {
					t.Fatal(err)
				}
				if fmt.Sprint(ids(es)) != fmt.Sprint(c.want) || total != c.total {
					t.Errorf("queue = %v total %d, want %v total %d", ids(es), total, c.want, c.total)
				}
			})
		}
		es, _, _ := f.svc.Queue(ctx, f.mod, moderation.QueueFilter{Reason: "violence", Page: 1, PerPage: 20})
		if len(es) == 1 && !es[0].Severe {
			t.Errorf("violence entry not marked severe")
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

// why is a moderator's reason in the plain string form.
func why(s string) moderation.Reason { return moderation.ParseReason(s) }

// errOf keeps only the error of a call that returns a value too.
func errOf[T any](_ T, err error) error { return err }
