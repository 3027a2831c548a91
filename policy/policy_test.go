package policy_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"agora/models"
	"agora/policy"
)

// The rules are also driven through both transports (app/rules_test.go,
// app/permissions_test.go); this table pins each rule's answer for the
// people and objects it distinguishes, with no database in the way.

var now = time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)

func person(id int64, role string) *models.User {
	return &models.User{ID: id, Username: role, Role: role}
}

func suspended(u *models.User) *models.User {
	until := now.Add(72 * time.Hour)
	v := *u
	v.SuspendedUntil = &until
	return &v
}

var (
	author = person(1, models.RoleMember)
	member = person(2, models.RoleMember)
	mod    = person(3, models.RoleModerator)
	mod2   = person(4, models.RoleModerator)
	admin  = person(5, models.RoleAdmin)
)

func topic(change ...func(*models.Topic)) *models.Topic {
	t := &models.Topic{ID: 10, UserID: author.ID, CategoryID: 1}
	for _, c := range change {
		c(t)
	}
	return t
}

func post(change ...func(*models.Post)) *models.Post {
	p := &models.Post{ID: 100, TopicID: 10, UserID: author.ID, PostNumber: 2}
	for _, c := range change {
		c(p)
	}
	return p
}

var (
	locked       = func(t *models.Topic) { t.Locked = true }
	removedTopic = func(t *models.Topic) { t.RemovedAt = &now }
	removed      = func(p *models.Post) { p.RemovedAt = &now }
	hidden       = func(p *models.Post) { p.HiddenAt = &now }
	first        = func(p *models.Post) { p.PostNumber = 1 }
	elsewhere    = func(p *models.Post) { p.TopicID = 11 }
)

func code(err error) string {
	var f *models.ForbiddenError
	var c *models.ConflictError
	var v *models.ValidationError
	var sus *models.SuspendedError
	switch {
	case errors.As(err, &sus):
		return "account_suspended"
	case err == nil:
		return "ok"
	case errors.Is(err, models.ErrUnauthenticated):
		return "unauthenticated"
	case errors.Is(err, models.ErrNotFound):
		return "not_found"
	case errors.As(err, &f):
		return f.Code
	case errors.As(err, &c):
		return "conflict"
	case errors.As(err, &v):
		return "invalid"
	}
	return err.Error()
}

func TestRules(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want string
	}{
		{"guest may not reply", policy.Reply(nil, topic(), now), "unauthenticated"},
		{"member replies", policy.Reply(member, topic(), now), "ok"},
		{"suspended member may not reply", policy.Reply(suspended(member), topic(), now), "account_suspended"},
		{"member may not reply to a locked topic", policy.Reply(member, topic(locked), now), "topic_locked"},
		{"staff reply to a locked topic", policy.Reply(mod, topic(locked), now), "ok"},
		{"a removed topic is not found for members", policy.Reply(member, topic(removedTopic), now), "not_found"},

		{"author edits", policy.Edit(author, topic(), post(), now), "ok"},
		{"another member may not edit", policy.Edit(member, topic(), post(), now), "forbidden"},
		{"author may not edit a removed post", policy.Edit(author, topic(), post(removed), now), "post_removed"},
		{"staff edit any post", policy.Edit(mod, topic(), post(removed), now), "ok"},
		{"suspended author may not edit", policy.Edit(suspended(author), topic(), post(), now), "account_suspended"},
		{"suspended staff may not edit", policy.Edit(suspended(mod), topic(), post(), now), "account_suspended"},
		{"posts of a removed topic are not found for their author", policy.Edit(author, topic(removedTopic), post(), now), "not_found"},

		{"author sees revisions", policy.SeeRevisions(author, topic(), post()), "ok"},
		{"others may not see revisions", policy.SeeRevisions(member, topic(), post()), "forbidden"},
		{"staff see revisions", policy.SeeRevisions(mod, topic(), post()), "ok"},

		{"member likes", policy.Like(member, topic(), post(), now), "ok"},
		{"own post may not be liked", policy.Like(author, topic(), post(), now), "own_post"},
		{"hidden post may not be liked by members", policy.Like(member, topic(), post(hidden), now), "not_found"},
		{"staff like a hidden post", policy.Like(mod, topic(), post(hidden), now), "ok"},

		{"topic author solves", policy.Solve(author, topic(), now), "ok"},
		{"another member may not solve", policy.Solve(member, topic(), now), "forbidden"},
		{"suspended author may not solve", policy.Solve(suspended(author), topic(), now), "account_suspended"},
		{"staff solve", policy.Solve(mod, topic(), now), "ok"},

		{"member flags", policy.Flag(member, topic(), post(), now), "ok"},
		{"own post may not be flagged", policy.Flag(author, topic(), post(), now), "own_post"},
		{"removed post may not be flagged", policy.Flag(member, topic(), post(removed), now), "not_found"},
		{"posts of a removed topic may not be flagged", policy.Flag(member, topic(removedTopic), post(), now), "not_found"},
		{"suspended member may not flag", policy.Flag(suspended(member), topic(), post(), now), "account_suspended"},

		{"member may not suspend", policy.Suspend(member, author), "staff_only"},
		{"moderator suspends a member", policy.Suspend(mod, member), "ok"},
		{"moderator may not suspend a moderator", policy.Suspend(mod, mod2), "protected_user"},
		{"admin suspends a moderator", policy.Suspend(admin, mod), "ok"},
		{"nobody suspends an admin", policy.Suspend(admin, person(6, models.RoleAdmin)), "protected_user"},
		{"nobody suspends themself", policy.Suspend(mod, mod), "self"},

		{"moderator may not change roles", policy.ChangeRole(mod, member, models.RoleModerator, 1), "forbidden"},
		{"admin makes a moderator", policy.ChangeRole(admin, member, models.RoleModerator, 1), "ok"},
		{"unknown role", policy.ChangeRole(admin, member, "owner", 1), "invalid"},
		{"the last admin keeps the role", policy.ChangeRole(admin, admin, models.RoleMember, 1), "conflict"},
		{"one of two admins may step down", policy.ChangeRole(admin, admin, models.RoleMember, 2), "ok"},
	}
	for _, c := range cases {
		if got := code(c.err); got != c.want {
			t.Errorf("%s: got %s (%v), want %s", c.name, got, c.err, c.want)
		}
	}
}

func TestAnswerQuoteSolution(t *testing.T) {
	if why := policy.Answer(member, topic(), post(hidden)); why == "" {
		t.Error("members may answer a post hidden pending review")
	}
	if why := policy.Answer(mod, topic(), post(hidden)); why != "" {
		t.Errorf("staff may not answer a hidden post: %s", why)
	}
	if why := policy.Answer(member, topic(), post(elsewhere)); why == "" {
		t.Error("a reply may answer a post of another topic")
	}
	if policy.Quote(member, topic(), post(removed), now) {
		t.Error("a removed post may be quoted")
	}
	if !policy.Quote(member, topic(), post(), now) {
		t.Error("a visible post may not be quoted")
	}
	if policy.Quote(member, topic(locked), post(), now) {
		t.Error("a member may quote into a locked topic")
	}
	for name, p := range map[string]*models.Post{"the question": post(first), "a hidden reply": post(hidden),
		"a removed reply": post(removed), "a post elsewhere": post(elsewhere), "nothing": nil} {
		if policy.Solution(topic(), p) == "" {
			t.Errorf("%s may be the best answer", name)
		}
	}
	if why := policy.Solution(topic(), post()); why != "" {
		t.Errorf("a visible reply may not be the best answer: %s", why)
	}
}

func TestSeeing(t *testing.T) {
	if policy.SeeRemoved(member) || !policy.SeeRemoved(mod) || policy.SeeRemoved(nil) {
		t.Error("only staff see removed posts")
	}
	if policy.SeeArchived(mod) || !policy.SeeArchived(admin) {
		t.Error("only admins see archived categories")
	}
	if err := policy.SeeTopic(nil, topic(removedTopic)); code(err) != "not_found" {
		t.Errorf("a guest sees a removed topic: %v", err)
	}
	if err := policy.SeeTopic(mod, topic(removedTopic)); err != nil {
		t.Errorf("staff may not see a removed topic: %v", err)
	}
}

func TestNewMemberLimits(t *testing.T) {
	newbie := &models.User{ID: 7, Role: models.RoleMember, Level: 1, CreatedAt: now.Add(-time.Hour)}
	regular := &models.User{ID: 8, Role: models.RoleMember, Level: 2, CreatedAt: now.Add(-time.Hour)}
	newMod := &models.User{ID: 9, Role: models.RoleModerator, Level: 1, CreatedAt: now.Add(-time.Hour)}
	for _, c := range []struct {
		name                  string
		u                     *models.User
		links, images, embeds int
		refused               string
	}{
		{"two links", newbie, 2, 0, 0, ""},
		{"three links", newbie, 3, 0, 0, "at most 2 links in a post (this one has 3)"},
		{"an image", newbie, 0, 1, 0, "cannot post images"},
		{"an embed", newbie, 0, 0, 1, "cannot post video embeds"},
		{"level 2", regular, 9, 3, 1, ""},
		{"staff", newMod, 9, 3, 1, ""},
	} {
		err := policy.PostMedia(c.u, "body", c.links, c.images, c.embeds)
		var ve *models.ValidationError
		switch {
		case c.refused == "" && err != nil:
			t.Errorf("%s: refused: %v", c.name, err)
		case c.refused != "" && (!errors.As(err, &ve) || !strings.Contains(ve.Fields["body"], c.refused) ||
			!strings.Contains(ve.Fields["body"], "level 2")):
			t.Errorf("%s: %v, want a body error saying %q and how to reach level 2", c.name, err, c.refused)
		}
	}

	busy := *newbie
	busy.TopicCount, busy.PostCount = 3, 13 // 3 topics and 10 replies
	var rle *models.RateLimitError
	if err := policy.NewMemberPace(&busy, true, now); !errors.As(err, &rle) || rle.RetryAfter != 23*time.Hour ||
		!strings.Contains(rle.Message, "at most 3 topics") || !strings.Contains(rle.Message, "23 hours") {
		t.Errorf("fourth topic: %v, want a rate limit for 23 hours", err)
	}
	if err := policy.NewMemberPace(&busy, false, now); !errors.As(err, &rle) || !strings.Contains(rle.Message, "at most 10 replies") {
		t.Errorf("eleventh reply: %v, want the reply limit", err)
	}
	fewer := *newbie
	fewer.TopicCount, fewer.PostCount = 2, 11
	if err := policy.NewMemberPace(&fewer, true, now); err != nil {
		t.Errorf("third topic refused: %v", err)
	}
	if err := policy.NewMemberPace(&fewer, false, now); err != nil {
		t.Errorf("tenth reply refused: %v", err)
	}
	if err := policy.NewMemberPace(&busy, true, now.Add(23*time.Hour)); err != nil {
		t.Errorf("after the first day: %v", err)
	}
	busyRegular := busy
	busyRegular.Level = 2
	if err := policy.NewMemberPace(&busyRegular, true, now); err != nil {
		t.Errorf("level 2 held to the pace: %v", err)
	}
}
