package app_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"agora/internal/browser"
	"agora/internal/testdb"
)

// TestBrowserMentionRingsTheBell: a member is mentioned in a reply; on her
// next page the bell shows one unread, the list shows the mention, and
// opening it lands on the post and clears the bell.
func TestBrowserMentionRingsTheBell(t *testing.T) {
	db := testdb.Open(t, "sqlite")
	base := startServer(t, newApp(t, db))
	mustTPUser(t, db, "mina", "")
	olga, pat := mustTPUser(t, db, "olga", ""), mustTPUser(t, db, "pat", "")
	establish(t, db, "mina", "olga", "pat")
	cat := mustTPCategory(t, db, "Integrations", "integrations")
	topic := mustTPTopic(t, db, olga, cat, "Webhook retries stop after an hour", "Is that configurable?")

	ctx := browser.New(t)
	browserSignIn(t, ctx, base, "mina")
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/")); err != nil {
		t.Fatal(err)
	}
	if n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll(".bell-count").length`)); n != 0 {
		t.Fatalf("%d bell counts before anything happened", n)
	}
	reply := mustModReply(t, db, pat, topic.ID, "@mina wrote the retry policy, she will know.")

	err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(chromedp.CSS(".bell .bell-count")),
	)
	if err != nil {
		t.Fatalf("the bell after the mention: %v", err)
	}
	count, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(".bell-count")))
	if !strings.HasPrefix(strings.TrimSpace(count), "1") {
		t.Errorf("the bell shows %q, want 1 unread", count)
	}
	browser.Screenshot(t, ctx, "bell-unread")
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS("a.bell")),
		chromedp.WaitVisible(chromedp.CSS(".notification.unread a")),
	)
	if err != nil {
		t.Fatalf("open the notifications: %v", err)
	}
	text, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(".notification.unread a")))
	if text != "pat mentioned you in "+topic.Title {
		t.Errorf("the notification says %q", text)
	}
	browser.Screenshot(t, ctx, "bell-notifications")
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(".notification.unread a")),
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf("#post-%d a.mention", reply.PostNumber))),
	)
	if err != nil {
		t.Fatalf("follow the notification: %v", err)
	}
	url, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`location.pathname + location.hash`))
	if want := fmt.Sprintf("/t/%d/%s#post-%d", topic.ID, topic.Slug, reply.PostNumber); url != want {
		t.Errorf("landed on %q, want %q", url, want)
	}
	if n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll(".bell-count").length`)); n != 0 {
		t.Errorf("the bell still shows a count after reading")
	}
	browser.Screenshot(t, ctx, "bell-post")
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/settings#email"), chromedp.WaitVisible(chromedp.CSS("#email-preferences"))); err != nil {
		t.Fatal(err)
	}
	browser.Screenshot(t, ctx, "settings-email")
}
