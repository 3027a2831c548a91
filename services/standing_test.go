package services_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"agora/badges"
	"agora/forum"
	"agora/internal/testclock"
	"agora/internal/testdb"
	"agora/levels"
	"agora/models"
	"agora/moderation"
	"agora/services"
)

// community is the services over one database on an injected clock, with
// a category, a moderator and an established member (level 2) who starts
// the topics others act on.
type community struct {
	db   *bun.DB
	set  services.Set
	clk  *testclock.Clock
	cat  *models.Category
	mod  *models.User
	host *models.User
	seq  int
}

var day0 = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

func newCommunity(t *testing.T, db *bun.DB) *community {
	t.Helper()
	c := &community{db: db, clk: testclock.New(day0)}
	set, err := services.New(context.Background(), db, c.clk.Now, nil, services.Options{})
	if err != nil {
		t.Fatalf("services: %v", err)
	}
	c.set = set
	c.cat = &models.Category{Name: "Questions", Slug: "questions", Color: "#336699", CreatedAt: day0, UpdatedAt: day0}
	if err := models.CreateCategory(context.Background(), db, c.cat); err != nil {
		t.Fatal(err)
	}
	c.mod = c.member(t, "mia", models.RoleModerator, 2)
	c.host = c.member(t, "hosta", models.RoleMember, 2)
	return c
}

// member creates an account joined now and sets its level with SQL.
func (c *community) member(t *testing.T, name, role string, level int) *models.User {
	t.Helper()
	now := c.clk.Now()
	u := &models.User{Username: name, Email: name + "@example.com", Role: role, CreatedAt: now, UpdatedAt: now}
	if err := models.CreateUser(context.Background(), c.db, u); err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	c.sql(t, "UPDATE users SET level = ? WHERE id = ?", level, u.ID)
	return c.user(t, u.ID)
}

func (c *community) sql(t *testing.T, query string, args ...any) {
	t.Helper()
	if _, err := c.db.ExecContext(context.Background(), query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

func (c *community) user(t *testing.T, id int64) *models.User {
	t.Helper()
	u, err := models.UserByID(context.Background(), c.db, id)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func (c *community) topic(t *testing.T, u *models.User) (*models.Topic, *models.Post) {
	t.Helper()
	c.seq++
	tp, p, err := c.set.Forum.CreateTopic(context.Background(), c.user(t, u.ID), forum.TopicInput{CategoryID: c.cat.ID,
		Title: fmt.Sprintf("How do I rotate API keys, take %d?", c.seq), Body: "My keys are old."})
	if err != nil {
		t.Fatalf("%s starts a topic: %v", u.Username, err)
	}
	return tp, p
}

func (c *community) reply(t *testing.T, u *models.User, topicID int64) *models.Post {
	t.Helper()
	p, err := c.set.Forum.Reply(context.Background(), c.user(t, u.ID), topicID, "Rotate them under Settings, then Keys.", nil)
	if err != nil {
		t.Fatalf("%s replies: %v", u.Username, err)
	}
	return p
}

func (c *community) like(t *testing.T, u *models.User, postID int64) {
	t.Helper()
	if _, err := c.set.Forum.Like(context.Background(), c.user(t, u.ID), postID); err != nil {
		t.Fatalf("%s likes post %d: %v", u.Username, postID, err)
	}
}

func (c *community) visit(t *testing.T, u *models.User) {
	t.Helper()
	c.set.Views.Visit(u.ID)
	c.flush(t)
}

func (c *community) flush(t *testing.T) {
	t.Helper()
	if err := c.set.Views.Flush(context.Background()); err != nil {
		t.Fatalf("flush: %v", err)
	}
}

func (c *community) nightly(t *testing.T) int {
	t.Helper()
	n, err := c.set.Levels.Nightly(context.Background())
	if err != nil {
		t.Fatalf("nightly: %v", err)
	}
	return n
}

func (c *community) level(t *testing.T, u *models.User) int { return c.user(t, u.ID).Level }

// held returns how many times u holds the rule badge key (0: not at all).
func (c *community) held(t *testing.T, u *models.User, key string) int {
	t.Helper()
	hs, err := c.set.Badges.Of(context.Background(), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hs {
		if h.Rule == key {
			return h.Held.GrantCount
		}
	}
	return 0
}

func (c *community) notes(t *testing.T, u *models.User, kind string) []*models.Notification {
	t.Helper()
	var ns []*models.Notification
	if err := c.db.NewSelect().Model(&ns).Where("user_id = ?", u.ID).Where("kind = ?", kind).Order("id").
		Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	return ns
}

// badgeCase earns one rule badge: prepare brings the member one step short
// (with SQL where the real way would take hundreds of actions), act takes
// the last step the real way.
type badgeCase struct {
	prepare func(t *testing.T, c *community, u *models.User)
	act     func(t *testing.T, c *community, u *models.User)
}

// badgeCases has a case for every rule in badges.Rules.
var badgeCases = map[string]badgeCase{
	"first_topic": {act: func(t *testing.T, c *community, u *models.User) { c.topic(t, u) }},
	"first_reply": {act: func(t *testing.T, c *community, u *models.User) {
		tp, _ := c.topic(t, c.host)
		c.reply(t, u, tp.ID)
	}},
	"first_like": {act: func(t *testing.T, c *community, u *models.User) {
		_, p := c.topic(t, c.host)
		c.like(t, u, p.ID)
	}},
	"first_solution": solutionCase(0),
	"solutions_10":   solutionCase(9),
	"solutions_100":  solutionCase(99),
	"post_likes_10":  likedCase(9),
	"post_likes_100": likedCase(99),
	"topic_views_1000": {act: func(t *testing.T, c *community, u *models.User) {
		tp, _ := c.topic(t, u)
		c.sql(t, "UPDATE topics SET view_count = ? WHERE id = ?", models.PopularViews-1, tp.ID)
		c.flush(t)
		if n := c.held(t, u, "topic_views_1000"); n != 0 {
			t.Fatalf("topic with %d views: badge held %d times", models.PopularViews-1, n)
		}
		c.set.Views.Record(tp.ID, "visitor-1")
		c.flush(t)
	}},
	"visits_10":  visitsCase(9),
	"visits_100": visitsCase(99),
	"read_guidelines": {act: func(t *testing.T, c *community, u *models.User) {
		if err := c.set.Moderation.ReadGuidelines(context.Background(), c.user(t, u.ID)); err != nil {
			t.Fatal(err)
		}
	}},
	"first_flag": {act: func(t *testing.T, c *community, u *models.User) {
		spammer := c.member(t, "s_"+u.Username, models.RoleMember, 2)
		tp, _ := c.topic(t, c.host)
		p := c.reply(t, spammer, tp.ID)
		ctx := context.Background()
		if _, err := c.set.Moderation.Flag(ctx, c.user(t, u.ID), p.ID, "spam", ""); err != nil {
			t.Fatalf("flag: %v", err)
		}
		if n := c.held(t, u, "first_flag"); n != 0 {
			t.Fatalf("an open flag earned the badge %d times", n)
		}
		if _, err := c.set.Moderation.Resolve(ctx, c.mod, p.ID, moderation.Resolution{Action: moderation.ActionRemove,
			Reason: moderation.ParseReason("spam")}); err != nil {
			t.Fatalf("resolve: %v", err)
		}
	}},
	"anniversary": {
		prepare: func(t *testing.T, c *community, u *models.User) {
			c.sql(t, "UPDATE users SET created_at = ? WHERE id = ?", c.clk.Now().AddDate(-1, 0, 0).Add(time.Hour), u.ID)
			c.visit(t, u)
		},
		act: func(t *testing.T, c *community, u *models.User) {
			c.clk.Set(c.clk.Now().Add(24 * time.Hour))
			c.visit(t, u)
		},
	},
	"level_2": levelCase(2),
	"level_3": levelCase(3),
	"level_4": levelCase(4),
	"level_5": levelCase(5),
}

func solutionCase(have int) badgeCase {
	return struct {
		prepare func(t *testing.T, c *community, u *models.User)
		act     func(t *testing.T, c *community, u *models.User)
	}{
		prepare: func(t *testing.T, c *community, u *models.User) {
			c.sql(t, "UPDATE users SET solution_count = ? WHERE id = ?", have, u.ID)
		},
		act: func(t *testing.T, c *community, u *models.User) {
			tp, _ := c.topic(t, c.host)
			p := c.reply(t, u, tp.ID)
			if _, _, err := c.set.Forum.SetSolution(context.Background(), c.user(t, c.host.ID), tp.ID, p.ID); err != nil {
				t.Fatalf("set solution: %v", err)
			}
		},
	}
}

func likedCase(have int) badgeCase {
	var post int64
	return struct {
		prepare func(t *testing.T, c *community, u *models.User)
		act     func(t *testing.T, c *community, u *models.User)
	}{
		prepare: func(t *testing.T, c *community, u *models.User) {
			tp, _ := c.topic(t, c.host)
			post = c.reply(t, u, tp.ID).ID
			c.sql(t, "UPDATE posts SET like_count = ? WHERE id = ?", have, post)
		},
		act: func(t *testing.T, c *community, u *models.User) { c.like(t, c.host, post) },
	}
}

func visitsCase(have int) badgeCase {
	return struct {
		prepare func(t *testing.T, c *community, u *models.User)
		act     func(t *testing.T, c *community, u *models.User)
	}{
		prepare: func(t *testing.T, c *community, u *models.User) {
			c.sql(t, "UPDATE users SET days_visited = ?, last_visit_day = ? WHERE id = ?", have, c.clk.Now().Unix()/86400-1, u.ID)
		},
		act: func(t *testing.T, c *community, u *models.User) { c.visit(t, u) },
	}
}

// levelCase meets every threshold of level n but one day visited: the
// visit that completes it promotes the member and earns the badge.
func levelCase(n int) badgeCase {
	return struct {
		prepare func(t *testing.T, c *community, u *models.User)
		act     func(t *testing.T, c *community, u *models.User)
	}{
		prepare: func(t *testing.T, c *community, u *models.User) {
			th := threshold(t, c, n)
			meet(t, c, u, th)
			c.sql(t, "UPDATE users SET days_visited = ?, last_visit_day = ? WHERE id = ?", th.DaysVisited-1, c.clk.Now().Unix()/86400-1, u.ID)
		},
		act: func(t *testing.T, c *community, u *models.User) {
			c.visit(t, u)
			if got := c.level(t, u); got != n {
				t.Errorf("level after the visit = %d, want %d", got, n)
			}
			if ns := c.notes(t, u, models.NotifyLevel); len(ns) != 1 || !strings.Contains(ns[0].Message, fmt.Sprintf("You reached level %d", n)) {
				t.Errorf("level notifications %v, want one saying level %d", ns, n)
			}
		},
	}
}

func threshold(t *testing.T, c *community, level int) *models.LevelThreshold {
	t.Helper()
	ts, err := c.set.Levels.Thresholds(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, th := range ts {
		if th.Level == level {
			return th
		}
	}
	t.Fatalf("no threshold for level %d", level)
	return nil
}

// meet sets u's counters to exactly th (replies as posts beyond topics) and
// its join date th.DaysJoined days back.
func meet(t *testing.T, c *community, u *models.User, th *models.LevelThreshold) {
	t.Helper()
	c.sql(t, `UPDATE users SET created_at = ?, days_visited = ?, last_visit_day = ?, topics_read = ?, posts_read = ?,
		topic_count = 0, post_count = ?, likes_given = ?, likes_received = ?, solution_count = ? WHERE id = ?`,
		c.clk.Now().AddDate(0, 0, -th.DaysJoined), th.DaysVisited, c.clk.Now().Unix()/86400, th.TopicsRead, th.PostsRead,
		th.Replies, th.LikesGiven, th.LikesReceived, th.Solutions, u.ID)
}

func TestEveryBadgeRule(t *testing.T) {
	t.Parallel()
	for _, r := range badges.Rules {
		if _, ok := badgeCases[r.Key]; !ok {
			t.Errorf("badge rule %s has no test case in badgeCases", r.Key)
		}
	}
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		c := newCommunity(t, db)
		for _, r := range badges.Rules {
			tc, ok := badgeCases[r.Key]
			if !ok {
				continue
			}
			t.Run(r.Key, func(t *testing.T) {
				u := c.member(t, "e_"+r.Key, models.RoleMember, 1)
				if tc.prepare != nil {
					tc.prepare(t, c, u)
				}
				if n := c.held(t, u, r.Key); n != 0 {
					t.Fatalf("before the last step: badge held %d times, want 0", n)
				}
				before := c.user(t, u.ID).BadgeCount
				tc.act(t, c, u)
				if n := c.held(t, u, r.Key); n != 1 {
					t.Fatalf("after the last step: badge held %d times, want 1", n)
				}
				if got := c.user(t, u.ID).BadgeCount; got <= before {
					t.Errorf("badge_count %d after earning, was %d", got, before)
				}
				named := false
				for _, n := range c.notes(t, u, models.NotifyBadge) {
					named = named || strings.Contains(n.Message, r.Name)
				}
				if !named {
					t.Errorf("no badge notification names %q", r.Name)
				}
			})
		}
	})
}

func TestRepeatableBadgeCountsEachSubject(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		c := newCommunity(t, db)
		u := c.member(t, "writer", models.RoleMember, 2)
		fan := c.member(t, "fan", models.RoleMember, 2)
		tp, _ := c.topic(t, c.host)
		for i := range 2 {
			p := c.reply(t, u, tp.ID)
			c.sql(t, "UPDATE posts SET like_count = 9 WHERE id = ?", p.ID)
			c.like(t, fan, p.ID)
			c.like(t, c.host, p.ID) // the 11th like earns nothing more for this post
			if got := c.held(t, u, "post_likes_10"); got != i+1 {
				t.Errorf("after post %d reached 10 likes: badge held %d times, want %d", i+1, got, i+1)
			}
		}
		b := ruleBadge(t, c, "post_likes_10")
		if b.HolderCount != 1 {
			t.Errorf("holder_count = %d, want 1 (one member, twice)", b.HolderCount)
		}
	})
}

func ruleBadge(t *testing.T, c *community, key string) *models.Badge {
	t.Helper()
	bs, err := c.set.Badges.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bs {
		if b.Rule == key {
			return b
		}
	}
	t.Fatalf("no badge for rule %s", key)
	return nil
}

// TestEveryLevelThreshold puts, for each level and each requirement, one
// member exactly at the threshold and one a step short of it; one nightly
// pass must put the first at the level and the second one below.
func TestEveryLevelThreshold(t *testing.T) {
	t.Parallel()
	short := map[string]func(th *models.LevelThreshold) (column string, value any){
		"days since joining": nil, // by the join date below
		"days visited":       func(th *models.LevelThreshold) (string, any) { return "days_visited", th.DaysVisited - 1 },
		"topics read":        func(th *models.LevelThreshold) (string, any) { return "topics_read", th.TopicsRead - 1 },
		"posts read":         func(th *models.LevelThreshold) (string, any) { return "posts_read", th.PostsRead - 1 },
		"replies posted":     func(th *models.LevelThreshold) (string, any) { return "post_count", th.Replies - 1 },
		"likes given":        func(th *models.LevelThreshold) (string, any) { return "likes_given", th.LikesGiven - 1 },
		"likes received":     func(th *models.LevelThreshold) (string, any) { return "likes_received", th.LikesReceived - 1 },
		"best answers":       func(th *models.LevelThreshold) (string, any) { return "solution_count", th.Solutions - 1 },
	}
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		c := newCommunity(t, db)
		type want struct {
			u     *models.User
			level int
			what  string
		}
		var wants []want
		for level := levels.Min + 1; level <= levels.Max; level++ {
			th := threshold(t, c, level)
			at := c.member(t, fmt.Sprintf("at%d", level), models.RoleMember, 1)
			meet(t, c, at, th)
			wants = append(wants, want{at, level, "every threshold met exactly"})
			reqs := levels.Requirements(c.user(t, at.ID), 0, th, c.clk.Now())
			for _, r := range reqs {
				if r.AtMost {
					continue // penalties: TestPenaltiesCountFor90Days
				}
				if !r.Met {
					t.Fatalf("level %d: %s has %d, need %d, but meet() set it", level, r.Name, r.Have, r.Need)
				}
				if r.Need == 0 {
					continue // nothing to fall short of
				}
				f, ok := short[r.Name]
				if !ok {
					t.Fatalf("requirement %q has no short case", r.Name)
				}
				u := c.member(t, fmt.Sprintf("short%d_%d", level, len(wants)), models.RoleMember, 1)
				meet(t, c, u, th)
				if f == nil {
					c.sql(t, "UPDATE users SET created_at = ? WHERE id = ?", c.clk.Now().AddDate(0, 0, -th.DaysJoined).Add(time.Hour), u.ID)
				} else {
					col, v := f(th)
					c.sql(t, "UPDATE users SET "+col+" = ? WHERE id = ?", v, u.ID)
				}
				wants = append(wants, want{u, level - 1, "one short of " + r.Name})
			}
		}
		if n := c.nightly(t); n == 0 {
			t.Fatal("nightly pass changed no level")
		}
		for _, w := range wants {
			if got := c.level(t, w.u); got != w.level {
				t.Errorf("%s (%s): level %d, want %d", w.u.Username, w.what, got, w.level)
			}
		}
		if n := c.nightly(t); n != 0 {
			t.Errorf("second nightly pass changed %d levels, want 0", n)
		}
	})
}

func TestPenaltiesCountFor90Days(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		c := newCommunity(t, db)
		ctx := context.Background()
		u := c.member(t, "regular", models.RoleMember, 1)
		th := threshold(t, c, 3)
		if th.MaxPenalty != 1 {
			t.Fatalf("level 3 allows %d penalty points, the test expects 1", th.MaxPenalty)
		}
		tp, _ := c.topic(t, c.host)
		p1, p2 := c.reply(t, u, tp.ID), c.reply(t, u, tp.ID)
		meet(t, c, u, th)
		c.sql(t, "UPDATE users SET topic_count = 0, post_count = ? WHERE id = ?", th.Replies+2, u.ID)
		c.nightly(t)
		if got := c.level(t, u); got != 3 {
			t.Fatalf("level %d, want 3 before any penalty", got)
		}
		if _, err := c.set.Moderation.RemovePost(ctx, c.mod, p1.ID, moderation.ParseReason("spam")); err != nil {
			t.Fatal(err)
		}
		if got := c.level(t, u); got != 3 {
			t.Errorf("one removed post (1 point, 1 allowed): level %d, want 3", got)
		}
		if _, err := c.set.Moderation.RemovePost(ctx, c.mod, p2.ID, moderation.ParseReason("spam")); err != nil {
			t.Fatal(err)
		}
		if got := c.level(t, u); got != 2 {
			t.Errorf("two removed posts (2 points): level %d, want 2 at once", got)
		}
		if ns := c.notes(t, u, models.NotifyLevel); len(ns) == 0 || !strings.Contains(ns[len(ns)-1].Message, "level is now 2") {
			t.Errorf("level notifications %v, want the demotion to 2 last", ns)
		}
		c.clk.Set(c.clk.Now().Add(levels.PenaltyWindow - time.Hour))
		c.nightly(t)
		if got := c.level(t, u); got != 2 {
			t.Errorf("89 days later: level %d, want 2 (penalties still count)", got)
		}
		c.clk.Set(c.clk.Now().Add(2 * time.Hour))
		c.nightly(t)
		if got := c.level(t, u); got != 3 {
			t.Errorf("past 90 days: level %d, want 3 again", got)
		}
		st, err := c.set.Levels.StandingOf(ctx, c.user(t, u.ID))
		if err != nil || st.Penalty != 0 {
			t.Errorf("standing penalty %v (%v), want 0 after the window", st, err)
		}
	})
}

func TestNightlyScheduleRunsOncePerDay(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		c := newCommunity(t, db)
		ctx := context.Background()
		tick := func(at time.Time) bool {
			t.Helper()
			c.clk.Set(at)
			ran, err := c.set.Schedule.Tick(ctx)
			if err != nil {
				t.Fatalf("tick at %s: %v", at, err)
			}
			return slices.Contains(ran, services.NightlyLevels)
		}
		day := time.Date(2026, 11, 3, 0, 0, 0, 0, time.UTC)
		u := c.member(t, "climber", models.RoleMember, 1)
		c.clk.Set(day.Add(2 * time.Hour))
		meet(t, c, u, threshold(t, c, 3))
		if !tick(day.Add(2*time.Hour + 59*time.Minute)) {
			t.Fatal("a pass never run before did not run at once")
		}
		if got := c.level(t, u); got != 3 {
			t.Fatalf("after the first pass level %d, want 3", got)
		}
		admin := c.member(t, "ada", models.RoleAdmin, 2)
		ts, err := c.set.Levels.Thresholds(ctx)
		if err != nil {
			t.Fatal(err)
		}
		raised := make([]*models.LevelThreshold, len(ts))
		for i, th := range ts {
			cp := *th
			if cp.Level >= 3 {
				cp.TopicsRead += 1000
			}
			raised[i] = &cp
		}
		if err := c.set.Levels.SaveThresholds(ctx, admin, raised); err != nil {
			t.Fatal(err)
		}
		if tick(day.Add(2*time.Hour + 59*time.Minute + 30*time.Second)) {
			t.Error("the pass ran again before 03:00")
		}
		if got := c.level(t, u); got != 3 {
			t.Errorf("before the nightly pass level %d, want 3", got)
		}
		if !tick(day.Add(3 * time.Hour)) {
			t.Fatal("the pass did not run at 03:00")
		}
		if got := c.level(t, u); got != 2 {
			t.Errorf("after raised thresholds and the pass: level %d, want 2", got)
		}
		if tick(day.Add(3*time.Hour + time.Minute)) {
			t.Error("the pass ran twice on one day")
		}
		if !tick(day.AddDate(0, 0, 1).Add(3 * time.Hour)) {
			t.Error("the pass did not run the next day at 03:00")
		}
	})
}

func TestStaffLockAndUnlock(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		c := newCommunity(t, db)
		ctx := context.Background()
		u := c.member(t, "newbie", models.RoleMember, 1)
		if _, err := c.set.Levels.Lock(ctx, c.mod, u.ID, 4, "known customer"); err != nil {
			t.Fatal(err)
		}
		if got := c.user(t, u.ID); got.Level != 4 || !got.LevelLocked {
			t.Fatalf("after lock: level %d locked %v, want 4 locked", got.Level, got.LevelLocked)
		}
		if c.held(t, u, "level_4") != 1 {
			t.Error("a level locked at 4 did not earn the level 4 badge")
		}
		c.nightly(t)
		c.visit(t, u)
		if got := c.level(t, u); got != 4 {
			t.Errorf("a locked level moved to %d", got)
		}
		if _, err := c.set.Levels.Lock(ctx, c.user(t, u.ID), c.mod.ID, 5, ""); err == nil {
			t.Error("a member locked a moderator's level")
		}
		if _, err := c.set.Levels.Lock(ctx, c.mod, c.mod.ID, 5, ""); err != levels.ErrOwnLevel {
			t.Errorf("own lock: %v, want ErrOwnLevel", err)
		}
		if _, err := c.set.Levels.Unlock(ctx, c.mod, u.ID, "settled in"); err != nil {
			t.Fatal(err)
		}
		if got := c.user(t, u.ID); got.Level != 2 || got.LevelLocked {
			t.Errorf("after unlock: level %d locked %v, want 2 (3+ follow the thresholds) unlocked", got.Level, got.LevelLocked)
		}
		var actions []string
		if err := db.NewSelect().Model((*models.ModAction)(nil)).Column("action").Where("target_user_id = ?", u.ID).
			Order("id").Scan(ctx, &actions); err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(actions) != fmt.Sprint([]string{moderation.ActLockLevel, moderation.ActUnlockLevel}) {
			t.Errorf("log actions %v, want lock then unlock", actions)
		}
	})
}

// TestConcurrentEventsGrantOnce likes eight posts of one member at once:
// first_like for the liker and the likes counts must come out exact.
func TestConcurrentEventsGrantOnce(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		c := newCommunity(t, db)
		liker := c.member(t, "liker", models.RoleMember, 2)
		tp, _ := c.topic(t, c.host)
		var posts []int64
		for range 8 {
			posts = append(posts, c.reply(t, c.host, tp.ID).ID)
		}
		var wg sync.WaitGroup
		errs := make(chan error, len(posts))
		for _, id := range posts {
			wg.Go(func() {
				if _, err := c.set.Forum.Like(context.Background(), liker, id); err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("concurrent like: %v", err)
		}
		if n := c.held(t, liker, "first_like"); n != 1 {
			t.Errorf("first_like held %d times, want 1", n)
		}
		if b := ruleBadge(t, c, "first_like"); b.HolderCount != 1 {
			t.Errorf("first_like holder_count %d, want 1", b.HolderCount)
		}
		if ns := c.notes(t, liker, models.NotifyBadge); len(ns) != 1 {
			t.Errorf("%d badge notifications, want 1", len(ns))
		}
		if got := c.user(t, liker.ID); got.LikesGiven != 8 || got.BadgeCount != 1 {
			t.Errorf("likes_given %d badge_count %d, want 8 and 1", got.LikesGiven, got.BadgeCount)
		}
	})
}

func TestBackfillGrantsOnce(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		c := newCommunity(t, db)
		ctx := context.Background()
		var us []*models.User
		for i := range 3 {
			u := c.member(t, fmt.Sprintf("old%d", i), models.RoleMember, 1)
			// what an import or a rule added later leaves: counters earned, no badge
			c.sql(t, "UPDATE users SET topic_count = 1, post_count = 3, solution_count = 10, days_visited = 10 WHERE id = ?", u.ID)
			us = append(us, u)
		}
		var last [2]int
		granted, err := c.set.Badges.Backfill(ctx, func(done, total int) { last = [2]int{done, total} })
		if err != nil {
			t.Fatal(err)
		}
		if granted < len(us)*5 {
			t.Errorf("backfill granted %d, want at least %d", granted, len(us)*5)
		}
		if last[0] != last[1] || last[1] < len(us) {
			t.Errorf("last progress %d/%d, want all members done", last[0], last[1])
		}
		for _, u := range us {
			for _, key := range []string{"first_topic", "first_reply", "first_solution", "solutions_10", "visits_10"} {
				if c.held(t, u, key) != 1 {
					t.Errorf("%s lacks %s after backfill", u.Username, key)
				}
			}
		}
		again, err := c.set.Badges.Backfill(ctx, nil)
		if err != nil || again != 0 {
			t.Errorf("second backfill granted %d (%v), want 0", again, err)
		}
	})
}
