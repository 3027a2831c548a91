package app_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"agora/internal/browser"
	"agora/internal/testdb"
	"agora/moderation"
)

// TestBrowserSearch: a member searches from the header box and sees
// highlighted results; a moderator ticks "Include removed and hidden posts"
// and finds the removed reply the member never saw.
func TestBrowserSearch(t *testing.T) {
	db := testdb.Open(t, "sqlite")
	deps, catchUp := withSearch(t, db)
	base := startServer(t, newApp(t, db, deps))
	mustTPUser(t, db, "alice", "member")
	bob := mustTPUser(t, db, "bob", "member")
	mia := mustTPUser(t, db, "mia", "moderator")
	cat := mustTPCategory(t, db, "Billing", "billing")
	topic := mustTPTopic(t, db, bob, cat, "Webhook retries time out after 30s",
		"Our **webhook** endpoint takes 40 seconds to answer, so every delivery hits the timeout and is retried.")
	mustModReply(t, db, mia, topic.ID, "Answer within 30 seconds and do the slow work later: the webhook timeout cannot be raised.")
	spam := mustModReply(t, db, bob, topic.ID, "Cheap webhook timeout fixes at example.com, click now!")
	if err := errOf(moderation.New(db, nil).RemovePost(context.Background(), mia.User, spam.ID, why("spam"))); err != nil {
		t.Fatal(err)
	}
	catchUp()

	actx := browser.New(t)
	modSignIn(t, actx, base, "alice")
	err := chromedp.Do(actx,
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(chromedp.CSS(".header-search input")),
		chromedp.SendKeys(chromedp.CSS(".header-search input"), "webhook timeout\n"),
		chromedp.WaitVisible(chromedp.CSS(".search-results")),
	)
	if err != nil {
		t.Fatalf("member searches from the header: %v", err)
	}
	browser.Screenshot(t, actx, "search-member")
	loc, _ := chromedp.Run(actx, chromedp.Evaluate[string](`location.pathname + location.search`))
	if u, err := url.Parse(loc); err != nil || u.Path != "/search" || u.Query().Get("q") != "webhook timeout" {
		t.Errorf("the header search went to %q, want /search?q=webhook+timeout", loc)
	}
	count, _ := chromedp.Run(actx, chromedp.Text(chromedp.CSS(".search-count")))
	if !strings.Contains(count, "2 results") {
		t.Errorf("member's count = %q, want 2 results", count)
	}
	marks, _ := chromedp.Run(actx, chromedp.Evaluate[[]string](
		`Array.from(document.querySelectorAll(".search-hit mark")).map(m => m.textContent.toLowerCase())`))
	if len(marks) < 2 || !slicesContain(marks, "webhook") || !slicesContain(marks, "timeout") {
		t.Errorf("highlighted words = %v, want webhook and timeout marked", marks)
	}
	results, _ := chromedp.Run(actx, chromedp.Text(chromedp.CSS(".search-results")))
	if strings.Contains(results, "Cheap") {
		t.Errorf("the member sees the removed reply:\n%s", results)
	}
	if n, _ := chromedp.Run(actx, chromedp.Evaluate[int](`document.querySelectorAll("input[name=include]").length`)); n != 0 {
		t.Error("a member is offered removed posts")
	}
	kept, _ := chromedp.Run(actx, chromedp.Evaluate[string](`document.querySelector(".search-form input[type=search]").value`))
	if kept != "webhook timeout" {
		t.Errorf("search box holds %q, want the query", kept)
	}
	wide, _ := chromedp.Run(actx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth`))
	if wide {
		t.Error("the results page scrolls sideways")
	}

	err = chromedp.Do(actx,
		chromedp.Navigate(base+"/search?q=%22webhook+timeout"),
		chromedp.WaitVisible(chromedp.CSS(".alert-error")),
	)
	if err != nil {
		t.Fatalf("member sends an unclosed quote: %v", err)
	}
	browser.Screenshot(t, actx, "search-bad-query")
	if msg, _ := chromedp.Run(actx, chromedp.Text(chromedp.CSS(".alert-error"))); !strings.Contains(msg, "quotation mark is not closed") {
		t.Errorf("bad query message = %q", msg)
	}
	err = chromedp.Do(actx,
		chromedp.Navigate(base+"/search?q=kangaroo+%23billing"),
		chromedp.WaitVisible(chromedp.CSS(".search-page .empty")),
	)
	if err != nil {
		t.Fatalf("member searches for something absent: %v", err)
	}
	browser.Screenshot(t, actx, "search-no-results")
	if hint, _ := chromedp.Run(actx, chromedp.Text(chromedp.CSS(".search-page .empty"))); !strings.Contains(hint, "Try fewer words, remove filters") {
		t.Errorf("empty results say %q, want the hint", hint)
	}

	mctx := browser.New(t)
	modSignIn(t, mctx, base, "mia")
	err = chromedp.Do(mctx,
		chromedp.Navigate(base+"/search?q=webhook+timeout"),
		chromedp.WaitVisible(chromedp.CSS(".search-results")),
		chromedp.Click(chromedp.CSS(`input[name="include"]`)),
		chromedp.Click(chromedp.CSS(".search-form button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS(".search-hit.state-removed")),
	)
	if err != nil {
		t.Fatalf("moderator includes removed posts: %v", err)
	}
	browser.Screenshot(t, mctx, "search-moderator-removed")
	count, _ = chromedp.Run(mctx, chromedp.Text(chromedp.CSS(".search-count")))
	if !strings.Contains(count, "3 results") {
		t.Errorf("moderator's count = %q, want 3 results", count)
	}
	removed, _ := chromedp.Run(mctx, chromedp.Evaluate[string](
		`(() => { const h = document.querySelector(".search-hit.state-removed"); return h.querySelector(".hit-state").textContent + "|" + h.querySelector(".hit-snippet").textContent })()`))
	if state, snippet, _ := strings.Cut(removed, "|"); state != "removed" || !strings.Contains(snippet, "Cheap") {
		t.Errorf("removed hit = state %q, snippet %q; want the spam reply marked removed", state, snippet)
	}
	checked, _ := chromedp.Run(mctx, chromedp.Evaluate[bool](`document.querySelector('input[name="include"]').checked`))
	if !checked {
		t.Error("the include box is not ticked on the results it produced")
	}
}

func slicesContain(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
