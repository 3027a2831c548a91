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

func TestPurgeExpiredDeletesOnlyEndedSessions(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		clk := newClock()
		svc := accounts.New(db, clk.Now)
		u := mustRegister(t, svc, "pat", "pat@example.com")

		_, old := startSession(t, svc, u) // expires at start + TTL
		clk.Add(time.Hour)
		slidToken, slid := startSession(t, svc, u) // kept alive by use below
		clk.Add(10 * 24 * time.Hour)
		_, fresh := startSession(t, svc, u) // expires 10 days and an hour after old

		// Nothing has ended yet.
		if n, err := svc.PurgeExpired(ctx); err != nil || n != 0 {
			t.Fatalf("PurgeExpired before any expiry = %d, %v; want 0, nil", n, err)
		}
		if got := sessionIDs(t, db); len(got) != 3 {
			t.Fatalf("sessions after a purge with none expired = %v, want all 3", got)
		}

		// Using a session slides its expiry: slid is used an hour before old ends.
		clk.Add(accounts.SessionTTL - 10*24*time.Hour - 2*time.Hour)
		if got, _, err := svc.SessionUser(ctx, slidToken); err != nil || got.ID != u.ID {
			t.Fatalf("SessionUser(slid) = %v, %v", got, err)
		}

		// At exactly its expiry the first session has ended; the others live.
		clk.Add(time.Hour)
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
		clk.Add(10*24*time.Hour + time.Hour)
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
