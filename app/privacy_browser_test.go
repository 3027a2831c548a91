package app_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"agora/internal/browser"
	"agora/internal/testdb"
)

// TestBrowserDownloadAndDelete: a member downloads their data from
// /settings (the browser gets a zip), then deletes the account there:
// confirmation, password, and they are signed out.
func TestBrowserDownloadAndDelete(t *testing.T) {
	db := testdb.Open(t, "sqlite")
	base := startServer(t, newApp(t, db))
	mustTPUser(t, db, "gwen", "")
	ctx := browser.New(t)
	browserSignIn(t, ctx, base, "gwen")
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/settings#data"), chromedp.WaitVisible(chromedp.CSS("#download-data"))); err != nil {
		t.Fatal(err)
	}
	// What the link downloads, fetched by the page itself with its cookies.
	got, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(async () => {
		const r = await fetch(document.querySelector("#download-data").href);
		const b = new Uint8Array(await r.arrayBuffer());
		return r.status + " " + r.headers.get("content-type") + " " + r.headers.get("content-disposition") + " " +
			String.fromCharCode(b[0], b[1]);
	})()`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(got, "200 application/zip attachment; filename=\"agora-gwen-") || !strings.HasSuffix(got, " PK") {
		t.Errorf("the download: %q, want a zip for gwen", got)
	}
	browser.Screenshot(t, ctx, "settings-data")
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(".delete-account summary")),
		chromedp.WaitVisible(chromedp.CSS("#delete_password")),
		chromedp.SendKeys(chromedp.CSS("#delete_password"), memberPassword),
		chromedp.Click(chromedp.CSS("#delete-account")),
		chromedp.WaitVisible(chromedp.CSS("#delete-form .field-error")),
	)
	if err != nil {
		t.Fatal(err)
	}
	text, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#delete-form .field-error")))
	if !strings.Contains(strings.ToLower(text), "tick the box") {
		t.Fatalf("without the confirmation: %q, want it asked for", text)
	}
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`#delete-form input[name="confirm"]`)),
		chromedp.SendKeys(chromedp.CSS("#delete_password"), memberPassword),
		chromedp.Click(chromedp.CSS("#delete-account")),
		chromedp.WaitVisible(chromedp.CSS(".auth-card h1")), // the result page, not the settings still on screen
	)
	if err != nil {
		t.Fatal(err)
	}
	h1, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(".auth-card h1")))
	if h1 != "Your account is deleted" {
		t.Errorf("after deleting: %q", h1)
	}
	browser.Screenshot(t, ctx, "account-deleted")
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/settings"), chromedp.WaitVisible(chromedp.CSS("#login"))); err != nil {
		t.Errorf("/settings after deleting: %v, want the sign-in page", err)
	}
}

// TestBrowserAvatarColor: a member picks a colour in /settings and their
// avatar in the header is drawn in it (the stylesheet has it).
func TestBrowserAvatarColor(t *testing.T) {
	db := testdb.Open(t, "sqlite")
	base := startServer(t, newApp(t, db))
	mustTPUser(t, db, "hugo", "")
	ctx := browser.New(t)
	browserSignIn(t, ctx, base, "hugo")
	err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/settings#profile"),
		chromedp.Click(chromedp.CSS(`#profile-form input[name="avatar_color"][value="purple"]`)),
		chromedp.Click(chromedp.CSS(`#profile-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(".alert-success")),
	)
	if err != nil {
		t.Fatal(err)
	}
	got, err := chromedp.Run(ctx, chromedp.Evaluate[string](`getComputedStyle(document.querySelector(".user-chip .avatar")).backgroundColor + " " +
		document.querySelector('#profile-form input[value="purple"]').checked`))
	if err != nil {
		t.Fatal(err)
	}
	if got != "rgb(237, 229, 251) true" { // .av-purple in app.css
		t.Errorf("the header's avatar after picking purple: %q", got)
	}
	browser.Screenshot(t, ctx, "settings-avatar")
}
