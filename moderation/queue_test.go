package moderation_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"agora/forum"
	"agora/internal/testdb"
	"agora/models"
	"agora/moderation"
)

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
