package app_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"agora/internal/browser"
	"agora/internal/testdb"
)

// TestBrowserRegisterLogoutLogin walks the account flow as a person would.
func TestBrowserRegisterLogoutLogin(t *testing.T) {
	ctx := browser.New(t)
	base := startServer(t, newApp(t, testdb.Open(t, "sqlite")))

	// A mistake first: the form answers with field errors and keeps the input.
	err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/register"),
		chromedp.SendKeys(chromedp.CSS("#username"), "carol"),
		chromedp.SendKeys(chromedp.CSS("#email"), "carol@example.com"),
		chromedp.SendKeys(chromedp.CSS("#password"), "short"),
		chromedp.Click(chromedp.CSS("button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS(".field-error")),
	)
	if err != nil {
		t.Fatal(err)
	}
	browser.Screenshot(t, ctx, "register-errors")
	kept, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("#email").value`))
	if err != nil || kept != "carol@example.com" {
		t.Fatalf("email after a failed submit = %q (%v), want it kept", kept, err)
	}
	errs, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(".auth-card")))
	for _, want := range []string{"at least 10 characters", "16 or older"} {
		if !strings.Contains(errs, want) {
			t.Errorf("register page does not say %q:\n%s", want, errs)
		}
	}

	err = chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS("#password"), "a long enough password"),
		chromedp.Click(chromedp.CSS("#age_confirmed")),
		chromedp.Click(chromedp.CSS("button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS(".user-chip")),
	)
	if err != nil {
		t.Fatal(err)
	}
	browser.Screenshot(t, ctx, "home-signed-in")
	who, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(".user-chip")))
	if !strings.Contains(who, "carol") {
		t.Fatalf("header after registering shows %q, want carol", who)
	}

	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS("#logout")),
		chromedp.WaitVisible(chromedp.CSS(`a[href="/login"]`)),
		chromedp.Navigate(base+"/login"),
		chromedp.SendKeys(chromedp.CSS("#login"), "carol"),
		chromedp.SendKeys(chromedp.CSS("#password"), "wrong password!"),
		chromedp.Click(chromedp.CSS("button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS(".alert-error")),
	)
	if err != nil {
		t.Fatal(err)
	}
	browser.Screenshot(t, ctx, "login-failed")
	err = chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS("#password"), "a long enough password"),
		chromedp.Click(chromedp.CSS("button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS(".user-chip")),
		chromedp.Navigate(base+"/u/carol"),
		chromedp.WaitVisible(chromedp.CSS(".profile")),
	)
	if err != nil {
		t.Fatal(err)
	}
	browser.Screenshot(t, ctx, "profile")
	profile, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(".profile")))
	if !strings.Contains(profile, "Userlevel 1") || !strings.Contains(profile, "Badge +0") {
		t.Errorf("profile shows %q, want level and badges", profile)
	}
}
