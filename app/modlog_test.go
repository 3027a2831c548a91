package app_test

import (
	"context"
	"encoding/csv"
	"net/http"
	"strings"
	"testing"

	"agora/internal/testdb"
	"agora/moderation"
)

func TestModerationLogCSV(t *testing.T) {
	db := testdb.Open(t, "sqlite")
	w := newRoleWorld(t, db) // suspending sam wrote the first entry
	tp := w.topic(t, "author")
	if _, err := w.mod.TopicAction(context.Background(), w.user["moderator"], tp.ID, moderation.TopicLock, why("heated, \"really\""), 0); err != nil {
		t.Fatal(err)
	}
	res, body := call(t, w.a, jsonReq(http.MethodGet, "/api/v1/mod/log?format=csv", nil, w.token["moderator"]))
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d %s", res.StatusCode, body)
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
		t.Errorf("Content-Type = %q, want text/csv", ct)
	}
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatalf("parse CSV: %v\n%s", err, body)
	}
	header := "id,created_at,moderator_id,action,target_type,target_id,target_user_id,guideline,reason,details,hash"
	if len(rows) != 3 || strings.Join(rows[0], ",") != header {
		t.Fatalf("CSV has %d rows starting %v, want the header and 2 entries", len(rows), rows[0])
	}
	if rows[1][3] != "lock_topic" || rows[1][8] != `heated, "really"` || rows[2][3] != "suspend_user" {
		t.Errorf("CSV entries = %v, want lock_topic (newest first, reason intact) then suspend_user", rows[1:])
	}
	if res, _ := call(t, w.a, jsonReq(http.MethodGet, "/api/v1/mod/log?format=csv", nil, w.token["member"])); res.StatusCode != http.StatusForbidden {
		t.Errorf("member downloading the log: %d, want 403", res.StatusCode)
	}
}
