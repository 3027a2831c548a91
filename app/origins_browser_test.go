package app_test

import (
	"fmt"
	"net/url"
	"sync"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"agora/internal/browser"
	"agora/internal/testdb"
)

// TestBrowserPagesRequestNothingElsewhere: Chromium opens the pages a member
// uses and records every request the pages make: none leaves the forum's
// origin (no CDN, font, image or script from elsewhere).
func TestBrowserPagesRequestNothingElsewhere(t *testing.T) {
	db := testdb.Open(t, "sqlite")
	base := startServer(t, newApp(t, db))
	own, _ := url.Parse(base)
	olive := mustTPUser(t, db, "olive", "")
	topic := mustTPTopic(t, db, olive, mustTPCategory(t, db, "Help", "help"), "Where do requests go?", "Only **here**, with `code`.")
	ctx := browser.New(t)
	var mu sync.Mutex
	var seen, elsewhere []string
	if err := chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok {
			u, err := url.Parse(e.Request.URL)
			mu.Lock()
			defer mu.Unlock()
			seen = append(seen, e.Request.URL)
			if err != nil || (u.Scheme != "data" && u.Host != own.Host) {
				elsewhere = append(elsewhere, e.Request.URL)
			}
		}
	}); err != nil {
		t.Fatal(err)
	}
	pages := []string{"/", "/c/help", fmt.Sprintf("/t/%d/%s", topic.ID, topic.Slug), "/search?q=requests", "/login",
		"/register", "/guidelines", "/privacy", "/badges"}
	visit := func() {
		for _, p := range pages {
			if err := chromedp.Do(ctx, chromedp.Navigate(base+p), chromedp.WaitReady(chromedp.CSS("footer"))); err != nil {
				t.Fatalf("open %s: %v", p, err)
			}
		}
	}
	visit()
	browserSignIn(t, ctx, base, "olive")
	pages = append(pages, "/settings", "/notifications", "/new-topic", "/u/olive")
	visit()
	mu.Lock()
	defer mu.Unlock()
	if len(seen) < len(pages) {
		t.Fatalf("recorded only %d requests: the listener is broken", len(seen))
	}
	for _, u := range elsewhere {
		t.Errorf("a page requested %s", u)
	}
}
