package accounts_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"agora/accounts"
	"agora/internal/testdb"
	"agora/models"
)

// sessionIDs lists the ids of every stored session, expired or not, in order.
func sessionIDs(t *testing.T, db bun.IDB) []int64 {
	t.Helper()
	var ids []int64
	if err := db.NewSelect().Model((*models.Session)(nil)).Column("id").Order("id").
		Scan(context.Background(), &ids); err != nil {
		t.Fatal(err)
	}
	return ids
}

// startSession signs u in and returns the session.
func startSession(t *testing.T, svc *accounts.Service, u *models.User) (string, *models.Session) {
	t.Helper()
	token, sess, err := svc.StartSession(context.Background(), u.ID, "203.0.113.9", "purge test")
	if err != nil {
		t.Fatal(err)
	}
	return token, sess
}

// eventually polls cond every few milliseconds until it holds or the
// deadline passes.
func eventually(t *testing.T, within time.Duration, cond func() bool) bool {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestPurgeExpiredDeletesOnlyEndedSessions(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		clk := newClock()
		svc := accounts.New(db, clk.Now)
		u := mustRegister(t, svc, "pat", "pat@example.com")

		_, old := startSession(t, svc, u) // expires at start + TTL
		clk.Advance(time.Hour)
		slidToken, slid := startSession(t, svc, u) // kept alive by use below
		clk.Advance(10 * 24 * time.Hour)
		_, fresh := startSession(t, svc, u) // expires 10 days and an hour after old

		// Nothing has ended yet.
		if n, err := svc.PurgeExpired(ctx); err != nil || n != 0 {
			t.Fatalf("PurgeExpired before any expiry = %d, %v; want 0, nil", n, err)
		}
		if got := sessionIDs(t, db); len(got) != 3 {
			t.Fatalf("sessions after a purge with none expired = %v, want all 3", got)
		}

		// Using a session slides its expiry: slid is used an hour before old ends.
		clk.Advance(accounts.SessionTTL - 10*24*time.Hour - 2*time.Hour)
		if got, _, err := svc.SessionUser(ctx, slidToken); err != nil || got.ID != u.ID {
			t.Fatalf("SessionUser(slid) = %v, %v", got, err)
		}

		// At exactly its expiry the first session has ended; the others live.
		clk.Advance(time.Hour)
		if !clk.Now().Equal(old.ExpiresAt) {
			t.Fatalf("clock %v, want the first session's expiry %v", clk.Now(), old.ExpiresAt)
		}
		n, err := svc.PurgeExpired(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Errorf("PurgeExpired at the first expiry = %d, want 1", n)
		}
		if got, want := sessionIDs(t, db), []int64{slid.ID, fresh.ID}; !slices.Equal(got, want) {
			t.Errorf("sessions left = %v, want %v (the live ones)", got, want)
		}

		// Ten days and an hour on, the fresh session has ended too; the one in use has not.
		clk.Advance(10*24*time.Hour + time.Hour)
		if !clk.Now().Equal(fresh.ExpiresAt) {
			t.Fatalf("clock %v, want the fresh session's expiry %v", clk.Now(), fresh.ExpiresAt)
		}
		if n, err := svc.PurgeExpired(ctx); err != nil || n != 1 {
			t.Errorf("PurgeExpired at the second expiry = %d, %v; want 1, nil", n, err)
		}
		if got, want := sessionIDs(t, db), []int64{slid.ID}; !slices.Equal(got, want) {
			t.Errorf("sessions left = %v, want %v (the one in use)", got, want)
		}
		if n, err := svc.PurgeExpired(ctx); err != nil || n != 0 {
			t.Errorf("PurgeExpired again = %d, %v; want 0, nil", n, err)
		}
		// The session kept signs its member in.
		if got, _, err := svc.SessionUser(ctx, slidToken); err != nil || got.ID != u.ID {
			t.Errorf("session in use after the purges: %v, %v", got, err)
		}
	})
}

// runPurge starts svc.RunPurge in the background and returns its cancel and
// a channel closed when it returns; the errors it reports go to errs. The
// job is stopped (boundedly) before the test's database closes.
func runPurge(t *testing.T, svc *accounts.Service, every time.Duration, errs chan<- error) (context.CancelFunc, <-chan struct{}) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		svc.RunPurge(ctx, every, func(err error) {
			select {
			case errs <- err:
			default:
			}
		})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Error("RunPurge did not return after its context was cancelled")
		}
	})
	return cancel, done
}

// stopped cancels a running purge and fails unless it returns within 5s.
func stopped(t *testing.T, cancel context.CancelFunc, done <-chan struct{}) {
	t.Helper()
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("RunPurge still running 5s after its context was cancelled")
	}
}

func TestRunPurgePurgesAtStartAndStopsWhenCancelled(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		clk := newClock()
		svc := accounts.New(db, clk.Now)
		u := mustRegister(t, svc, "kim", "kim@example.com")
		_, expired := startSession(t, svc, u)
		clk.Advance(accounts.SessionTTL + time.Minute)
		_, live := startSession(t, svc, u)

		// An hour between purges, as the server runs it: the first is at once.
		errs := make(chan error, 10)
		cancel, done := runPurge(t, svc, time.Hour, errs)
		if !eventually(t, 5*time.Second, func() bool { return !slices.Contains(sessionIDs(t, db), expired.ID) }) {
			t.Fatalf("RunPurge did not purge the expired session when it started: sessions %v", sessionIDs(t, db))
		}
		if got, want := sessionIDs(t, db), []int64{live.ID}; !slices.Equal(got, want) {
			t.Errorf("sessions after the first purge = %v, want %v (the live one)", got, want)
		}
		// Waiting out the hour, it still stops as soon as it is cancelled.
		stopped(t, cancel, done)
		select {
		case err := <-errs:
			t.Errorf("RunPurge reported an error: %v", err)
		default:
		}
	})
}

func TestRunPurgePurgesOnItsIntervalUntilCancelled(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		clk := newClock()
		svc := accounts.New(db, clk.Now)
		u := mustRegister(t, svc, "ren", "ren@example.com")
		_, live := startSession(t, svc, u)
		_, later := startSession(t, svc, u)

		errs := make(chan error, 10)
		cancel, done := runPurge(t, svc, 20*time.Millisecond, errs)
		time.Sleep(60 * time.Millisecond) // the start's purge and a few ticks, with nothing to purge
		if got, want := sessionIDs(t, db), []int64{live.ID, later.ID}; !slices.Equal(got, want) {
			t.Fatalf("sessions while none has ended = %v, want %v", got, want)
		}

		// A session that ends while the job runs is purged on a following tick.
		expire := func(id int64) {
			t.Helper()
			if _, err := db.NewUpdate().Model((*models.Session)(nil)).Set("expires_at = ?", clk.Now().Add(-time.Second)).
				Where("id = ?", id).Exec(ctx); err != nil {
				t.Fatal(err)
			}
		}
		expire(later.ID)
		if !eventually(t, 5*time.Second, func() bool { return !slices.Contains(sessionIDs(t, db), later.ID) }) {
			t.Fatalf("RunPurge did not purge a session that ended after it started: sessions %v", sessionIDs(t, db))
		}
		if got, want := sessionIDs(t, db), []int64{live.ID}; !slices.Equal(got, want) {
			t.Errorf("sessions after the ticks = %v, want %v (the live one)", got, want)
		}

		// Once cancelled it stops: a session ending now is no longer purged.
		stopped(t, cancel, done)
		expire(live.ID)
		time.Sleep(100 * time.Millisecond) // five intervals
		if got, want := sessionIDs(t, db), []int64{live.ID}; !slices.Equal(got, want) {
			t.Errorf("sessions after RunPurge stopped = %v, want %v", got, want)
		}
		select {
		case err := <-errs:
			t.Errorf("RunPurge reported an error: %v", err)
		default:
		}
	})
}

func TestRunPurgeReportsErrorsAndKeepsGoing(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		svc := accounts.New(db, newClock().Now)
		// Without its table every purge fails.
		if _, err := db.ExecContext(context.Background(), "ALTER TABLE sessions RENAME TO sessions_gone"); err != nil {
			t.Fatal(err)
		}
		errs := make(chan error, 100)
		cancel, done := runPurge(t, svc, 10*time.Millisecond, errs)
		for i := range 3 {
			select {
			case err := <-errs:
				if err == nil {
					t.Errorf("error %d is nil", i)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("RunPurge reported %d failed purges in 5s, want it to keep trying (3)", i)
			}
		}
		stopped(t, cancel, done)
	})
}
