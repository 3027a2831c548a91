package forum_test

import (
	"context"
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
	"agora/policy"
)

// fixture is a forum with one category, two members and a moderator.
type fixture struct {
	db       *bun.DB
	svc      *forum.Service
	cat      *models.Category
	alice    *models.User
	bob      *models.User
	mod      *models.User
	now      time.Time
	question string
}

func newFixture(t *testing.T, db *bun.DB) *fixture {
	t.Helper()
	ctx := context.Background()
	now := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	f := &fixture{db: db, now: now, question: "How do I export my tasks to CSV?"}
	f.svc = forum.New(db, func() time.Time { return f.now })
	mk := func(name, role string) *models.User {
		u := &models.User{Username: name, Email: name + "@example.com", Role: role, CreatedAt: now, UpdatedAt: now}
		if err := models.CreateUser(ctx, db, u); err != nil {
			t.Fatal(err)
		}
		return u
	}
	f.alice, f.bob, f.mod = mk("alice", models.RoleMember), mk("bob", models.RoleMember), mk("mia", models.RoleModerator)
	f.cat = &models.Category{Name: "Questions", Slug: "questions", Color: "#112233", CreatedAt: now, UpdatedAt: now}
	if err := models.CreateCategory(ctx, db, f.cat); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) topic(t *testing.T) (*models.Topic, *models.Post) {
	t.Helper()
	tp, p, err := f.svc.CreateTopic(context.Background(), f.alice, forum.TopicInput{CategoryID: f.cat.ID, Title: f.question, Body: "I need **all** tasks."})
	if err != nil {
		t.Fatal(err)
	}
	return tp, p
}

func reload[T any](t *testing.T, db bun.IDB, id int64) *T {
	t.Helper()
	v := new(T)
	if err := db.NewSelect().Model(v).Where("id = ?", id).Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestCreateTopicKeepsCountersAndRendersOnce(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		f := newFixture(t, db)
		tp, p := f.topic(t)
		if tp.Slug != "how-do-i-export-my-tasks-to-csv" {
			t.Errorf("slug = %q", tp.Slug)
		}
		if p.PostNumber != 1 || !strings.Contains(p.HTML, "<strong>all</strong>") {
			t.Errorf("first post = #%d %q, want #1 rendered", p.PostNumber, p.HTML)
		}
		got := reload[models.Topic](t, db, tp.ID)
		if got.FirstPostID == nil || *got.FirstPostID != p.ID {
			t.Errorf("first_post_id = %v, want %d", got.FirstPostID, p.ID)
		}
		cat := reload[models.Category](t, db, f.cat.ID)
		if cat.TopicCount != 1 || cat.PostCount != 1 {
			t.Errorf("category counts = %d/%d, want 1/1", cat.TopicCount, cat.PostCount)
		}
		u := reload[models.User](t, db, f.alice.ID)
		if u.TopicCount != 1 || u.PostCount != 1 {
			t.Errorf("user counts = %d/%d, want 1/1", u.TopicCount, u.PostCount)
		}
		var outbox int
		db.NewSelect().Model((*models.OutboxEntry)(nil)).ColumnExpr("count(*)").Where("entity_id = ?", p.ID).Scan(context.Background(), &outbox)
		if outbox != 1 {
			t.Errorf("search outbox rows = %d, want 1", outbox)
		}
	})
}

func TestCreateTopicRejectsBadInput(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		cases := []struct {
			name  string
			in    forum.TopicInput
			field string
		}{
			{"short title", forum.TopicInput{CategoryID: f.cat.ID, Title: "Too short", Body: "x"}, "title"},
			{"long title", forum.TopicInput{CategoryID: f.cat.ID, Title: strings.Repeat("a", 201), Body: "x"}, "title"},
			{"empty body", forum.TopicInput{CategoryID: f.cat.ID, Title: f.question, Body: "  \n"}, "body"},
			{"huge body", forum.TopicInput{CategoryID: f.cat.ID, Title: f.question, Body: strings.Repeat("b", forum.BodyMax+1)}, "body"},
			{"no category", forum.TopicInput{Title: f.question, Body: "x"}, "category_id"},
			{"unknown category", forum.TopicInput{CategoryID: 999, Title: f.question, Body: "x"}, "category_id"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				_, _, err := f.svc.CreateTopic(ctx, f.alice, c.in)
				var ve *models.ValidationError
				if !errors.As(err, &ve) || ve.Fields[c.field] == "" {
					t.Fatalf("err = %v, want a validation error on %s", err, c.field)
				}
			})
		}
		var n int
		db.NewSelect().TableExpr("topics").ColumnExpr("count(*)").Scan(ctx, &n)
		if n != 0 {
			t.Errorf("%d topics written by rejected input", n)
		}
	})
}

func TestReplyNumbersPostsAndNotifies(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		tp, _ := f.topic(t)
		f.now = f.now.Add(time.Hour)
		r1, err := f.svc.Reply(ctx, f.bob, tp.ID, "Use **Export**.", nil)
		if err != nil {
			t.Fatal(err)
		}
		r2, err := f.svc.Reply(ctx, f.mod, tp.ID, "> Use Export\n\nYes.", &r1.ID)
		if err != nil {
			t.Fatal(err)
		}
		if r1.PostNumber != 2 || r2.PostNumber != 3 {
			t.Errorf("post numbers = %d, %d; want 2, 3", r1.PostNumber, r2.PostNumber)
		}
		got := reload[models.Topic](t, db, tp.ID)
		if got.ReplyCount != 2 || !got.LastPostedAt.Equal(f.now) || *got.LastPostUserID != f.mod.ID {
			t.Errorf("topic after replies: count %d, last %v by %v", got.ReplyCount, got.LastPostedAt, *got.LastPostUserID)
		}
		// bob is told about the answer to his reply, alice about both replies.
		for _, c := range []struct {
			user *models.User
			want int
		}{{f.alice, 2}, {f.bob, 1}, {f.mod, 0}} {
			n, err := models.UnreadNotifications(ctx, db, c.user.ID)
			if err != nil || n != c.want {
				t.Errorf("%s has %d notifications (%v), want %d", c.user.Username, n, err, c.want)
			}
		}
		missing := int64(99999)
		var ve *models.ValidationError
		if _, err := f.svc.Reply(ctx, f.bob, tp.ID, "x", &missing); !errors.As(err, &ve) {
			t.Errorf("reply to a missing post: %v, want validation error", err)
		}
		if _, err := f.svc.Reply(ctx, f.bob, 4242, "x", nil); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("reply to a missing topic: %v, want ErrNotFound", err)
		}
	})
}

func TestReplyRefusedWhenLockedOrSuspended(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		tp, _ := f.topic(t)
		if _, err := db.NewUpdate().Model((*models.Topic)(nil)).Set("locked = ?", true).Where("id = ?", tp.ID).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Reply(ctx, f.bob, tp.ID, "hello", nil); !errors.Is(err, policy.ErrLocked) {
			t.Errorf("reply to locked topic: %v, want ErrLocked", err)
		}
		if _, err := f.svc.Reply(ctx, f.mod, tp.ID, "staff may still answer", nil); err != nil {
			t.Errorf("moderator reply to locked topic: %v", err)
		}
		until := f.now.Add(48 * time.Hour)
		f.bob.SuspendedUntil = &until
		var se *models.SuspendedError
		_, err := f.svc.Reply(ctx, f.bob, tp.ID, "hello", nil)
		if !errors.As(err, &se) || se.Until == nil || !se.Until.Equal(until) {
			t.Errorf("suspended reply: %v, want SuspendedError until %v", err, until)
		}
		if _, _, err := f.svc.CreateTopic(ctx, f.bob, forum.TopicInput{CategoryID: f.cat.ID, Title: f.question, Body: "x"}); !errors.As(err, &se) {
			t.Errorf("suspended topic: %v, want SuspendedError", err)
		}
		if _, err := f.svc.Reply(ctx, nil, tp.ID, "hello", nil); !errors.Is(err, models.ErrUnauthenticated) {
			t.Errorf("guest reply: %v, want ErrUnauthenticated", err)
		}
	})
}

// TestConcurrentRepliesGetDistinctNumbers: the topic row lock hands out post numbers one at a time.
func TestConcurrentRepliesGetDistinctNumbers(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		f := newFixture(t, db)
		tp, _ := f.topic(t)
		var wg sync.WaitGroup
		errs := make(chan error, 16)
		for i := range 16 {
			wg.Go(func() {
				_, err := f.svc.Reply(context.Background(), f.bob, tp.ID, fmt.Sprintf("reply %d", i), nil)
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		var numbers []int
		db.NewSelect().Model((*models.Post)(nil)).Column("post_number").Where("topic_id = ?", tp.ID).Order("post_number").Scan(context.Background(), &numbers)
		for i, n := range numbers {
			if n != i+1 {
				t.Fatalf("post numbers %v are not 1..17", numbers)
			}
		}
		if got := reload[models.Topic](t, db, tp.ID); got.ReplyCount != 16 || len(numbers) != 17 {
			t.Errorf("reply_count = %d with %d posts, want 16 and 17", got.ReplyCount, len(numbers))
		}
	})
}

func TestEditKeepsRevisions(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		_, p := f.topic(t)
		f.now = f.now.Add(time.Minute)
		edited, err := f.svc.EditPost(ctx, f.alice, p.ID, "I need *every* task.", "clearer")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(edited.HTML, "<em>every</em>") || edited.EditedAt == nil || edited.RevisionCount != 1 {
			t.Errorf("edited post = %+v", edited)
		}
		if _, err := f.svc.EditPost(ctx, f.mod, p.ID, "I need *every* task, please.", "tone"); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.EditPost(ctx, f.bob, p.ID, "hijack", ""); !errors.Is(err, models.ErrForbidden) {
			t.Errorf("edit by another member: %v, want ErrForbidden", err)
		}
		_, _, revs, err := f.svc.Revisions(ctx, f.alice, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := []struct {
			body, reason string
			by           int64
		}{{"I need **all** tasks.", "original", f.alice.ID}, {"I need *every* task.", "clearer", f.alice.ID}, {"I need *every* task, please.", "tone", f.mod.ID}}
		if len(revs) != len(want) {
			t.Fatalf("%d revisions, want %d", len(revs), len(want))
		}
		for i, w := range want {
			if revs[i].Number != i || revs[i].Body != w.body || revs[i].Reason != w.reason || revs[i].UserID != w.by {
				t.Errorf("revision %d = %+v, want %+v", i, revs[i], w)
			}
		}
		if _, _, _, err := f.svc.Revisions(ctx, f.bob, p.ID); !errors.Is(err, models.ErrForbidden) {
			t.Errorf("revisions for another member: %v, want ErrForbidden", err)
		}
	})
}

func TestLikesAreConsistentUnderConcurrency(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		tp, p := f.topic(t)
		if _, err := f.svc.Like(ctx, f.alice, p.ID); !errors.Is(err, policy.ErrOwnPost) {
			t.Errorf("liking own post: %v, want ErrOwnPost", err)
		}
		var wg sync.WaitGroup
		for range 8 { // the same member liking many times at once counts once
			wg.Go(func() {
				if _, err := f.svc.Like(ctx, f.bob, p.ID); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		n, err := f.svc.Like(ctx, f.mod, p.ID)
		if err != nil || n != 2 {
			t.Fatalf("like count = %d (%v), want 2", n, err)
		}
		if got := reload[models.Topic](t, db, tp.ID); got.LikeCount != 2 {
			t.Errorf("topic like_count = %d, want 2", got.LikeCount)
		}
		if got := reload[models.User](t, db, f.alice.ID); got.LikesReceived != 2 {
			t.Errorf("likes_received = %d, want 2", got.LikesReceived)
		}
		if n, err := f.svc.Unlike(ctx, f.bob, p.ID); err != nil || n != 1 {
			t.Errorf("after unlike = %d (%v), want 1", n, err)
		}
		if n, err := f.svc.Unlike(ctx, f.bob, p.ID); err != nil || n != 1 {
			t.Errorf("second unlike = %d (%v), want still 1", n, err)
		}
	})
}

func TestSolution(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		tp, first := f.topic(t)
		r, err := f.svc.Reply(ctx, f.bob, tp.ID, "Settings → Export.", nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := f.svc.SetSolution(ctx, f.bob, tp.ID, r.ID); !errors.Is(err, models.ErrForbidden) {
			t.Errorf("non-author marking: %v, want ErrForbidden", err)
		}
		var ve *models.ValidationError
		if _, _, err := f.svc.SetSolution(ctx, f.alice, tp.ID, first.ID); !errors.As(err, &ve) {
			t.Errorf("marking the question: %v, want validation error", err)
		}
		got, _, err := f.svc.SetSolution(ctx, f.alice, tp.ID, r.ID)
		if err != nil || got.SolvedPostID == nil || *got.SolvedPostID != r.ID {
			t.Fatalf("solution = %v (%v), want %d", got.SolvedPostID, err, r.ID)
		}
		list, _, err := models.ListTopics(ctx, db, models.TopicListOptions{Filter: models.FilterSolved, Page: 1, PerPage: 20})
		if err != nil || len(list) != 1 {
			t.Errorf("solved list = %d topics (%v), want 1", len(list), err)
		}
		v, err := f.svc.TopicPage(ctx, nil, tp.ID, 1)
		if err != nil || v.Solution == nil || v.Solution.ID != r.ID || !v.Posts[1].IsSolution {
			t.Errorf("topic page solution = %+v (%v)", v, err)
		}
		if got, _, err := f.svc.SetSolution(ctx, f.mod, tp.ID, 0); err != nil || got.SolvedPostID != nil {
			t.Errorf("unmark by moderator = %v (%v), want nil", got, err)
		}
	})
}

func TestTopicPagePagesAndHidesRemoved(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		tp, _ := f.topic(t)
		var last *models.Post
		for i := range 25 {
			p, err := f.svc.Reply(ctx, f.bob, tp.ID, fmt.Sprintf("reply %d", i), nil)
			if err != nil {
				t.Fatal(err)
			}
			last = p
		}
		now := f.now
		if _, err := db.NewUpdate().Model((*models.Post)(nil)).Set("removed_at = ?", now).Set("removed_reason = ?", "spam").
			Where("id = ?", last.ID).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		p1, err := f.svc.TopicPage(ctx, nil, tp.ID, 1)
		if err != nil || len(p1.Posts) != 20 || p1.Pages != 2 {
			t.Fatalf("page 1: %d posts of %d pages (%v), want 20 of 2", len(p1.Posts), p1.Pages, err)
		}
		p2, err := f.svc.TopicPage(ctx, f.alice, tp.ID, 2)
		if err != nil || len(p2.Posts) != 6 || p2.Posts[0].PostNumber != 21 {
			t.Fatalf("page 2: %d posts from #%d (%v), want 6 from #21", len(p2.Posts), p2.Posts[0].PostNumber, err)
		}
		removed := p2.Posts[5]
		if removed.HTML != "" || removed.Body != "" || !strings.Contains(removed.Notice, "removed by a moderator") || !strings.Contains(removed.Notice, "spam") {
			t.Errorf("removed post for a member = %+v", removed)
		}
		staff, _ := f.svc.TopicPage(ctx, f.mod, tp.ID, 2)
		if sp := staff.Posts[5]; sp.Body == "" || !sp.Hidden {
			t.Errorf("removed post for staff = %+v, want content and Hidden", sp)
		}
		if _, err := f.svc.TopicPage(ctx, nil, tp.ID, 3); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("page 3: %v, want ErrNotFound", err)
		}
	})
}

func TestSlugify(t *testing.T) {
	for in, want := range map[string]string{
		"How do I export tasks?":    "how-do-i-export-tasks",
		"Café crème — ünïcode":      "cafe-creme-unicode",
		"!!!":                       "topic",
		"  spaces   everywhere  ":   "spaces-everywhere",
		strings.Repeat("long ", 40): strings.TrimRight(strings.Repeat("long-", 16), "-"),
	} {
		if got := forum.Slugify(in); got != want {
			t.Errorf("Slugify(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestViewCounterCountsOncePerViewerPerHour(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		tp, _ := f.topic(t)
		vc := forum.NewViewCounter(db, func() time.Time { return f.now })
		for range 5 {
			vc.Record(tp.ID, "u1")
		}
		vc.Record(tp.ID, "a-guest")
		if err := vc.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		vc.Record(tp.ID, "u1") // same hour, after a flush: still once
		if err := vc.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if got := reload[models.Topic](t, db, tp.ID); got.ViewCount != 2 {
			t.Errorf("views = %d, want 2", got.ViewCount)
		}
		f.now = f.now.Add(time.Hour)
		vc.Record(tp.ID, "u1")
		vc.Flush(ctx)
		if got := reload[models.Topic](t, db, tp.ID); got.ViewCount != 3 {
			t.Errorf("views next hour = %d, want 3", got.ViewCount)
		}
	})
}

func TestRemovedTopicIsOutOfReach(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		tp, first := f.topic(t)
		reply, err := f.svc.Reply(ctx, f.bob, tp.ID, "an answer", nil)
		if err != nil {
			t.Fatal(err)
		}
		db.NewUpdate().Model((*models.Post)(nil)).Set("removed_at = ?", f.now).Where("id = ?", reply.ID).Exec(ctx)
		var ve *models.ValidationError
		if _, err := f.svc.Reply(ctx, f.alice, tp.ID, "quoting it", &reply.ID); !errors.As(err, &ve) || ve.Fields["reply_to_post_id"] == "" {
			t.Errorf("reply to a removed post: %v, want a validation error", err)
		}
		db.NewUpdate().Model((*models.Topic)(nil)).Set("removed_at = ?", f.now).Where("id = ?", tp.ID).Exec(ctx)
		if _, err := f.svc.EditPost(ctx, f.alice, first.ID, "still mine?", ""); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("author editing in a removed topic: %v, want ErrNotFound", err)
		}
		if _, _, _, err := f.svc.Revisions(ctx, f.alice, first.ID); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("revisions in a removed topic: %v, want ErrNotFound", err)
		}
		if _, err := f.svc.Like(ctx, f.bob, first.ID); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("like in a removed topic: %v, want ErrNotFound", err)
		}
		if _, err := f.svc.EditPost(ctx, f.mod, first.ID, "moderator fix", "cleanup"); err != nil {
			t.Errorf("moderator editing in a removed topic: %v", err)
		}
	})
}
