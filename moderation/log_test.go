package moderation_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"agora/internal/testdb"
	"agora/models"
	"agora/moderation"
)

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
