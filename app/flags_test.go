package app_test

import (
	"net/http"
	"strings"
	"testing"

	"agora/internal/testdb"
)

func TestFlagReasonsAPI(t *testing.T) {
	a := newApp(t, testdb.Open(t, "sqlite"))
	res, body := call(t, a, jsonReq(http.MethodGet, "/api/v1/flag-reasons", nil, ""))
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d %s", res.StatusCode, body)
	}
	want := []string{"off_topic", "spam", "confidential", "violence", "hate", "harassment", "impersonation",
		"privacy", "vulgar", "graphic", "malware", "other"}
	items := decode(t, body)["items"].([]any)
	var got []string
	for _, it := range items {
		m := it.(map[string]any)
		got = append(got, m["code"].(string))
		if m["title"] == "" || m["description"] == "" {
			t.Errorf("reason %v lacks a title or description", m["code"])
		}
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("codes = %v, want %v", got, want)
	}
}
