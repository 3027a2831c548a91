package app_test

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"agora/app"
	"agora/config"
	"agora/internal/browser"
	"agora/internal/oidctest"
	"agora/internal/testdb"
)

// TestBrowserSignInWithOIDC: a visitor signs in with the company's identity
// provider (a real one, inside the test) from /login, picks a username and
// arrives signed in.
func TestBrowserSignInWithOIDC(t *testing.T) {
	db := testdb.Open(t, "sqlite")
	idp := oidctest.New(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	a := newApp(t, db, func(d *app.Deps) {
		d.Config.BaseURL = base // the provider sends the browser back here
		d.Config.OIDCDiscoveryURL = idp.DiscoveryURL()
		d.Config.OIDC = config.Client{ID: idp.ClientID, Secret: idp.ClientSecret}
		d.Config.OIDCName = "Acme ID"
	})
	go a.Listener(ln)
	t.Cleanup(func() { a.ShutdownWithTimeout(5 * time.Second) })

	actx := browser.New(t)
	err = chromedp.Do(actx,
		chromedp.Navigate(base+"/login"),
		chromedp.WaitVisible(chromedp.CSS(`a[data-provider="oidc"]`)),
	)
	if err != nil {
		t.Fatalf("open /login: %v", err)
	}
	browser.Screenshot(t, actx, "signin-login")
	err = chromedp.Do(actx,
		chromedp.Click(chromedp.CSS(`a[data-provider="oidc"]`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/auth/signup"]`)),
	)
	if err != nil {
		t.Fatalf("continue with Acme ID: %v", err)
	}
	browser.Screenshot(t, actx, "signin-signup")
	name, _ := chromedp.Run(actx, chromedp.Value(chromedp.CSS("#username")))
	if name != "ana" {
		t.Errorf("suggested username %q, want the provider's ana", name)
	}
	err = chromedp.Do(actx,
		chromedp.SetValue(chromedp.CSS("#username"), "ana_lima"),
		chromedp.Click(chromedp.CSS("#age_confirmed")),
		chromedp.Click(chromedp.CSS(`form[action="/auth/signup"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(".user-chip")),
	)
	if err != nil {
		t.Fatalf("finish joining: %v", err)
	}
	chip, _ := chromedp.Run(actx, chromedp.Evaluate[string](`document.querySelector(".user-chip").getAttribute("href")`))
	if chip != "/u/ana_lima" {
		t.Errorf("signed in as %q, want /u/ana_lima", chip)
	}
	if err := chromedp.Do(actx, chromedp.Navigate(base+"/settings"), chromedp.WaitVisible(chromedp.CSS(".identity-list"))); err != nil {
		t.Fatal(err)
	}
	text, _ := chromedp.Run(actx, chromedp.Text(chromedp.CSS(".identity-list")))
	if !strings.Contains(text, "Acme ID") || !strings.Contains(text, "your only way to sign in") {
		t.Errorf("settings show %q, want the linked Acme ID as the only way to sign in", text)
	}
	browser.Screenshot(t, actx, "signin-settings")
}
