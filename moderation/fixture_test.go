package moderation_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"agora/forum"
	"agora/models"
	"agora/moderation"
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

var hexHash = regexp.MustCompile(`^[0-9a-f]{64}$`)

// why is a moderator's reason in the plain string form.
func why(s string) moderation.Reason { return moderation.ParseReason(s) }

// errOf keeps only the error of a call that returns a value too.
func errOf[T any](_ T, err error) error { return err }
