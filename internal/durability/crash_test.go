package durability

import (
	"math/rand/v2"
	"testing"
	"time"

	"agora/internal/testdb"
)

// Kill -9 under concurrent writes, restart: every write the server
// acknowledged is there, the counters agree with the rows, the moderation
// log verifies, SQLite's integrity check passes, and search catches up
// with every acknowledged post.
func TestCrashUnderWriteLoad(t *testing.T) {
	for _, kind := range testdb.Kinds {
		t.Run(kind, func(t *testing.T) {
			dbURL := testdb.URL(t, kind)
			e := newEnv(t, dbURL)
			s := start(t, e)
			f := setup(t, s, e, 6)

			var l ledger
			stop := make(chan struct{})
			wg := load(s, f, &l, stop)
			// Between 2 and 3 s of load, so the kill lands at no fixed point.
			time.Sleep(2*time.Second + rand.N(time.Second))
			s.Kill()
			close(stop)
			wg.Wait()
			acked := l.snapshot()
			t.Logf("killed after %d topics, %d replies, %d likes, %d flags, %d pins/unpins acknowledged; other answers: %s",
				len(acked.topics), len(acked.posts), len(acked.likes), len(acked.flags), acked.mod, statusSummary(l.other))
			serverErrors(t, s, l.other)
			if l.other[0] == 0 {
				t.Fatal("no request was cut off: the kill did not land mid-load")
			}
			if len(acked.topics)+len(acked.posts) < 20 {
				t.Fatalf("only %d posts acknowledged before the kill: the load did not run", len(acked.topics)+len(acked.posts))
			}

			s = start(t, e)
			db := openDB(t, dbURL)
			if kind == "sqlite" {
				integrityOK(t, db)
			}
			checkWrites(t, db, acked)
			if code, out := agora(t, e, "modlog", "verify"); code != 0 {
				t.Errorf("modlog verify after the crash: exit %d: %s", code, out)
			}
			searchCaughtUp(t, s, db, append(acked.topics, acked.posts...), 30*time.Second)
			// The restarted server takes writes again.
			s.must(201, "POST", "/api/v1/topics", f.Members[0].Token, map[string]any{"category_id": f.Category,
				"title": "Written after the restart", "body": "The server takes writes after a crash."})
		})
	}
}
