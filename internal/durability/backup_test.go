package durability

import (
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"agora/internal/testdb"
)

// `agora backup` while the server writes; a fresh server on the copy
// serves what was acknowledged before the backup began (topic pages and
// search), the copy passes SQLite's integrity check, and its moderation
// log verifies.
func TestBackupUnderWriteLoadRestores(t *testing.T) {
	dbURL := testdb.URL(t, "sqlite")
	e := newEnv(t, dbURL)
	s := start(t, e)
	f := setup(t, s, e, 6)

	var l ledger
	stop := make(chan struct{})
	wg := load(s, f, &l, stop)
	time.Sleep(1500 * time.Millisecond)
	before := l.snapshot()
	file := filepath.Join(t.TempDir(), "backup.db")
	began := time.Now()
	code, out := agora(t, e, "backup", file)
	took := time.Since(began)
	time.Sleep(500 * time.Millisecond)
	close(stop)
	wg.Wait()
	serverErrors(t, s, l.other)
	if code != 0 {
		t.Fatalf("agora backup under load: exit %d: %s", code, out)
	}
	after := l.snapshot()
	t.Logf("backup took %s under load (%s); %d posts acknowledged before it began, %d by the end of the load",
		took.Round(time.Millisecond), strings.TrimSpace(out), len(before.topics)+len(before.posts), len(after.topics)+len(after.posts))
	if len(after.topics)+len(after.posts) <= len(before.topics)+len(before.posts) {
		t.Fatal("no write was acknowledged during or after the backup: it did not run under load")
	}
	s.stop()

	copyURL := "sqlite://" + file
	ce := newEnv(t, copyURL) // a data dir of its own: no search index, rebuilt from the copy
	db := openDB(t, copyURL)
	integrityOK(t, db)
	checkWrites(t, db, before)
	if code, out := agora(t, ce, "modlog", "verify"); code != 0 || !strings.Contains(out, "hash chain intact") {
		t.Errorf("modlog verify on the copy: exit %d: %s", code, out)
	}

	r := start(t, ce)
	tp := before.topics[len(before.topics)-1]
	resp, err := http.Get(r.base + "/t/" + itoa(tp.Topic) + "/" + tp.Slug)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), tp.Word) {
		t.Errorf("topic page %d on the restored server: %d, has %s: %v", tp.Topic, resp.StatusCode, tp.Word,
			strings.Contains(string(page), tp.Word))
	}
	searchCaughtUp(t, r, db, append(before.topics, before.posts...), 30*time.Second)
	// And it takes writes.
	r.must(201, "POST", "/api/v1/topics", f.Members[0].Token, map[string]any{"category_id": f.Category,
		"title": "Written on the restored copy", "body": "The restored forum takes new posts."})
}
