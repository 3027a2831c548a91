package app_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"agora/internal/browser"
	"agora/internal/testdb"
)

// modSignIn signs in through the login form.
func modSignIn(t *testing.T, ctx context.Context, base, username string) {
	t.Helper()
	err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/login"),
		chromedp.SendKeys(chromedp.CSS("#login"), username),
		chromedp.SendKeys(chromedp.CSS("#password"), memberPassword),
		chromedp.Click(chromedp.CSS("button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS(".user-chip")),
	)
	if err != nil {
		t.Fatalf("sign in as %s: %v", username, err)
	}
}

// TestBrowserFlagRemoveSuspend: a member replies, another flags the reply
// from its menu, a moderator suspends the author from the queue (which also
// removes the post), and the author sees the banner and can no longer reply.
func TestBrowserFlagRemoveSuspend(t *testing.T) {
	db := testdb.Open(t, "sqlite")
	base := startServer(t, newApp(t, db))
	alice := mustTPUser(t, db, "alice", "member")
	mustTPUser(t, db, "bob", "member")
	mustTPUser(t, db, "mia", "moderator")
	olive := mustTPUser(t, db, "olive", "member")
	cat := mustTPCategory(t, db, "Billing", "billing")
	topic := mustTPTopic(t, db, olive, cat, "How do I export my invoices?", "I can't find the export button for invoices anywhere.")
	topicPath := base + "/t/" + strconv.FormatInt(topic.ID, 10)

	// Alice replies through the form.
	actx := browser.New(t)
	modSignIn(t, actx, base, "alice")
	err := chromedp.Do(actx,
		chromedp.Navigate(topicPath),
		chromedp.WaitVisible(chromedp.CSS("#reply-body")),
		chromedp.SendKeys(chromedp.CSS("#reply-body"), "Nobody here knows anything, you are all useless."),
		chromedp.Click(chromedp.CSS(".reply-form .btn-primary")),
		chromedp.WaitVisible(chromedp.CSS("#post-2")),
	)
	if err != nil {
		t.Fatalf("alice replies: %v", err)
	}
	var postID int64
	if err := db.NewSelect().TableExpr("posts").Column("id").Where("topic_id = ? AND post_number = 2", topic.ID).
		Scan(context.Background(), &postID); err != nil {
		t.Fatalf("find the reply: %v", err)
	}
	if n, _ := chromedp.Run(actx, chromedp.Evaluate[int](`document.querySelectorAll("#post-2 .flag-menu").length`)); n != 0 {
		t.Errorf("alice sees a flag menu on her own post")
	}

	// Bob flags it from the post's menu.
	bctx := browser.New(t)
	modSignIn(t, bctx, base, "bob")
	err = chromedp.Do(bctx,
		chromedp.Navigate(topicPath),
		chromedp.Click(chromedp.CSS("#post-2 .flag-menu summary")),
		chromedp.WaitVisible(chromedp.CSS("#post-2 .flag-panel")),
	)
	if err != nil {
		t.Fatalf("bob opens the flag menu: %v", err)
	}
	browser.Screenshot(t, bctx, "flag-menu")
	err = chromedp.Do(bctx,
		chromedp.Click(chromedp.CSS(`#post-2 input[value="harassment"]`)),
		chromedp.SendKeys(chromedp.CSS("#post-2 .flag-form textarea"), "Insults everyone who tries to help."),
		chromedp.Click(chromedp.CSS("#post-2 .flag-form button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#post-2 .flagged-state")),
	)
	if err != nil {
		t.Fatalf("bob flags the reply: %v", err)
	}
	browser.Screenshot(t, bctx, "flagged-post")
	state, _ := chromedp.Run(bctx, chromedp.Text(chromedp.CSS("#post-2 .flagged-state")))
	if !strings.Contains(state, "You flagged this post") || !strings.Contains(state, "harassment") {
		t.Errorf("flag state on the post = %q", state)
	}

	// Mia works the queue: suspend for 7 days (which removes the post).
	mctx := browser.New(t)
	modSignIn(t, mctx, base, "mia")
	entry := fmt.Sprintf("#entry-%d", postID)
	err = chromedp.Do(mctx,
		chromedp.Navigate(base+"/mod"),
		chromedp.WaitVisible(chromedp.CSS(entry)),
	)
	if err != nil {
		t.Fatalf("mia opens the queue: %v", err)
	}
	browser.Screenshot(t, mctx, "mod-queue")
	card, _ := chromedp.Run(mctx, chromedp.Text(chromedp.CSS(entry)))
	for _, want := range []string{"How do I export my invoices?", "Trolling, bullying or harassment", "@bob", "Insults everyone",
		"1 + level 1 + accuracy 0 = 2", "accuracy new", "alice"} {
		if !strings.Contains(card, want) {
			t.Errorf("queue card does not show %q:\n%s", want, card)
		}
	}
	days, _ := chromedp.Run(mctx, chromedp.Evaluate[string](fmt.Sprintf(`document.querySelector("#days-%d").value`, postID)))
	if days != "7" {
		t.Errorf("suspend days default = %q, want 7", days)
	}
	err = chromedp.Do(mctx,
		chromedp.Click(chromedp.CSS(entry+` input[value="suspend"]`)),
		chromedp.SetValue(chromedp.CSS(fmt.Sprintf("#reason-code-%d", postID)), "harassment"),
		chromedp.SendKeys(chromedp.CSS(fmt.Sprintf("#reason-%d", postID)), "Personal attacks on other members"),
		chromedp.Click(chromedp.CSS(entry+" .resolve-form button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS(".alert-success")),
	)
	if err != nil {
		t.Fatalf("mia resolves: %v", err)
	}
	browser.Screenshot(t, mctx, "mod-resolved")
	done, _ := chromedp.Run(mctx, chromedp.Text(chromedp.CSS(".alert-success")))
	if !strings.Contains(done, "suspended") {
		t.Errorf("after resolving the queue says %q", done)
	}
	if n, _ := chromedp.Run(mctx, chromedp.Evaluate[int](fmt.Sprintf(`document.querySelectorAll("#entry-%d").length`, postID))); n != 0 {
		t.Errorf("the resolved entry is still in the open queue")
	}
	for _, page := range []struct{ path, sel, shot string }{
		{"/mod/log", ".mod-table", "mod-log"},
		{"/mod/suspended", "#suspended-" + strconv.FormatInt(alice.ID, 10), "mod-suspended"},
		{"/u/alice", ".mod-panel", "profile-mod-panel"},
	} {
		if err := chromedp.Do(mctx, chromedp.Navigate(base+page.path), chromedp.WaitVisible(chromedp.CSS(page.sel))); err != nil {
			t.Fatalf("mia opens %s: %v", page.path, err)
		}
		browser.Screenshot(t, mctx, page.shot)
	}

	// Alice reloads: the banner, no reply form, and a forged reply is refused.
	err = chromedp.Do(actx,
		chromedp.Navigate(topicPath),
		chromedp.WaitVisible(chromedp.CSS(".suspension-banner")),
	)
	if err != nil {
		t.Fatalf("alice reloads: %v", err)
	}
	browser.Screenshot(t, actx, "suspended-banner")
	banner, _ := chromedp.Run(actx, chromedp.Text(chromedp.CSS(".suspension-banner")))
	until := time.Now().UTC().AddDate(0, 0, 7).Format("Jan 2, 2006")
	for _, want := range []string{"Your account is suspended until " + until, "You can read, but not post, reply, edit, like, flag or change your profile"} {
		if !strings.Contains(banner, want) {
			t.Errorf("banner = %q, want it to contain %q", banner, want)
		}
	}
	if n, _ := chromedp.Run(actx, chromedp.Evaluate[int](`document.querySelectorAll("#reply-body, .reply-form").length`)); n != 0 {
		t.Errorf("a suspended member still gets the reply form")
	}
	status, err := chromedp.Run(actx, chromedp.Evaluate[int](fmt.Sprintf(`fetch("/t/%d/reply", {method: "POST",
		headers: {"Content-Type": "application/x-www-form-urlencoded"}, redirect: "manual",
		body: "_csrf=" + encodeURIComponent(document.querySelector('meta[name="csrf-token"]').content) + "&body=" + encodeURIComponent("I am still here and I will keep posting")
	}).then(r => r.status)`, topic.ID), chromedp.EvalAwaitPromise))
	if err != nil || status != 403 {
		t.Errorf("a direct reply by the suspended author = %d (%v), want 403", status, err)
	}
	// Her settings say why the profile can't change, and keep the private sections.
	if err := chromedp.Do(actx, chromedp.Navigate(base+"/settings"), chromedp.WaitVisible(chromedp.CSS("#profile-suspended"))); err != nil {
		t.Fatalf("alice opens /settings: %v", err)
	}
	browser.Screenshot(t, actx, "suspended-settings")
	if n, _ := chromedp.Run(actx, chromedp.Evaluate[int](`document.querySelectorAll("#profile-form, #username-form").length`)); n != 0 {
		t.Errorf("a suspended member still gets the profile forms")
	}
	if n, _ := chromedp.Run(actx, chromedp.Evaluate[int](`document.querySelectorAll("#password-form, #email-preferences").length`)); n != 2 {
		t.Errorf("a suspended member lost the private settings (%d of 2 forms)", n)
	}

	// Bob's report shows the outcome.
	if err := chromedp.Do(bctx, chromedp.Navigate(base+"/me/reports"), chromedp.WaitVisible(chromedp.CSS(".mod-table"))); err != nil {
		t.Fatalf("bob opens his reports: %v", err)
	}
	browser.Screenshot(t, bctx, "my-reports")
	reports, _ := chromedp.Run(bctx, chromedp.Text(chromedp.CSS(".mod-table")))
	if !strings.Contains(reports, "Action taken") || !strings.Contains(reports, "suspend") {
		t.Errorf("my reports = %q, want the outcome", reports)
	}
	if err := chromedp.Do(bctx, chromedp.Navigate(base+"/guidelines"), chromedp.WaitVisible(chromedp.CSS(".guidelines-body"))); err != nil {
		t.Fatalf("guidelines: %v", err)
	}
	browser.Screenshot(t, bctx, "guidelines")
}
