package app_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"agora/internal/testdb"
	"agora/models"
)

func TestLockedTopicRefusesReplies(t *testing.T) {
	db := testdb.Open(t, "sqlite")
	a := newApp(t, db)
	admin, member := apiMember(t, a, "admin1"), apiMember(t, a, "member1")
	promote(t, db, "admin1", models.RoleAdmin)
	_, body := call(t, a, jsonReq(http.MethodPost, "/api/v1/admin/categories", map[string]any{"name": "General"}, admin))
	catID := num(decode(t, body), "category", "id")
	_, body = call(t, a, jsonReq(http.MethodPost, "/api/v1/topics", map[string]any{"category_id": catID, "title": "A topic that will be locked", "body": "x"}, admin))
	topicID := int64(num(decode(t, body), "topic", "id"))
	db.NewUpdate().Model((*models.Topic)(nil)).Set("locked = ?", true).Where("id = ?", topicID).Exec(context.Background())
	res, body := call(t, a, jsonReq(http.MethodPost, fmt.Sprintf("/api/v1/topics/%d/posts", topicID), map[string]any{"body": "hello"}, member))
	if res.StatusCode != http.StatusForbidden || !strings.Contains(body, "locked") {
		t.Errorf("reply to locked topic: %d %s, want 403 mentioning locked", res.StatusCode, body)
	}
}
