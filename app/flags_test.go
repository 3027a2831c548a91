package app_test

import (
	"fmt"
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

func TestFlagRateLimitAPI(t *testing.T) {
	db := testdb.Open(t, "sqlite")
	w := newRoleWorld(t, db)
	tp := w.topic(t, "author")
	for i := range 21 {
		p := w.reply(t, "author", tp.ID)
		res, body := call(t, w.a, jsonReq(http.MethodPost, fmt.Sprintf("/api/v1/posts/%d/flags", p.ID), map[string]any{"reason": "off_topic"}, w.token["member"]))
		if i < 20 {
			if res.StatusCode != http.StatusCreated {
				t.Fatalf("flag %d: %d %s, want 201", i+1, res.StatusCode, body)
			}
			continue
		}
		if res.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("21st flag: %d %s, want 429", res.StatusCode, body)
		}
		if ra := res.Header.Get("Retry-After"); ra != "3600" {
			t.Errorf("Retry-After = %q, want 3600", ra)
		}
		if code, _ := apiErr(t, body); code != "rate_limited" {
			t.Errorf("code = %q, want rate_limited", code)
		}
	}
}
