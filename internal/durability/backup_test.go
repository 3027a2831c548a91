package durability

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
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
	backedUp := l.snapshot() // everything after this is certainly not in the copy
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
	s.Stop()

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
	resp, err := http.Get(r.Base + "/t/" + itoa(tp.Topic) + "/" + tp.Slug)
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
	r.Stop()

	// Restored in place: the copy replaces the database, the data folder
	// (with the search index of the lost later writes) stays. Search must
	// forget the lost posts and find the new ones.
	restoreInPlace(t, strings.TrimPrefix(dbURL, "sqlite://"), file)
	p := start(t, e)
	out2 := p.must(201, "POST", "/api/v1/topics", f.Members[1].Token, map[string]any{"category_id": f.Category,
		"title": "Written after restoring in place zrestoredk", "body": "New after the restore: zrestoredk."})
	fresh := written{ID: num(out2, "post.id"), Topic: num(out2, "topic.id"), Word: "zrestoredk"}
	searchCaughtUp(t, p, openDB(t, dbURL), append([]written{fresh}, before.topics...), 30*time.Second)
	lost := 0
	for _, w := range append(after.topics, after.posts...) {
		if !slices.ContainsFunc(append(backedUp.topics, backedUp.posts...), func(b written) bool { return b.ID == w.ID }) {
			lost++
			if p.finds(w) {
				t.Errorf("search on the restored forum finds post %d (%s), written after the backup and lost with it", w.ID, w.Word)
			}
		}
	}
	t.Logf("restored in place: %d posts written after the backup, lost with it", lost)
}

// restoreInPlace puts the backup where the database was (the server stopped).
func restoreInPlace(t *testing.T, db, backup string) {
	t.Helper()
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if err := os.Remove(db + suffix); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(backup)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(db, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
