package app_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"agora/accounts"
	"agora/internal/browser"
	"agora/internal/testdb"
	"agora/models"
)

// browserSignIn signs username in through the login page.
func browserSignIn(t *testing.T, ctx context.Context, base, username string) {
	t.Helper()
	err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/login"),
		chromedp.SendKeys(chromedp.CSS("#login"), username),
		chromedp.SendKeys(chromedp.CSS("#password"), "a long enough password"),
		chromedp.Click(chromedp.CSS("button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS(".user-chip")),
	)
	if err != nil {
		t.Fatalf("sign in %s: %v", username, err)
	}
}

// TestBrowserAskAnswerSolve: a member asks (previewing first), another quotes
// the question in a reply, the asker marks it as the best answer, and the
// solved list shows the topic.
func TestBrowserAskAnswerSolve(t *testing.T) {
	alice := browser.New(t)
	bob := browser.New(t)
	db := testdb.Open(t, "sqlite")
	base := startServer(t, newApp(t, db))
	bg := context.Background()
	acc := accounts.New(db, nil)
	for _, name := range []string{"alice", "bob"} {
		if _, err := acc.Register(bg, accounts.RegisterInput{Username: name, Email: name + "@example.com",
			Password: "a long enough password", AgeConfirmed: true}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.NewUpdate().Table("users").Set("display_name = ?", "Bob Builder").Set("level = 2").Set("badge_count = 3").
		Where("username = ?", "bob").Exec(bg); err != nil {
		t.Fatal(err)
	}
	cat := &models.Category{Name: "Billing", Slug: "billing", Description: "Invoices, payments and plans.", Color: "#2f9e6e", Position: 1}
	if err := models.CreateCategory(bg, db, cat); err != nil {
		t.Fatal(err)
	}

	// Alice asks, previewing the Markdown first.
	const title = "Invoice PDF shows the wrong currency"
	question := "Since the last update my invoices say **USD** but my account is set to EUR.\n\n" +
		"Steps:\n\n1. Open *Billing → Invoices*\n2. Download the latest PDF\n\n```\nGET /api/invoices/2024-031.pdf\nX-Currency: USD\n```\n"
	browserSignIn(t, alice, base, "alice")
	err := chromedp.Do(alice,
		chromedp.Navigate(base+"/c/billing"),
		chromedp.Click(chromedp.CSS(".new-topic-btn")),
		chromedp.WaitVisible(chromedp.CSS("#title")),
		chromedp.SendKeys(chromedp.CSS("#title"), title),
		chromedp.SetValue(chromedp.CSS("#body"), question),
		chromedp.Click(chromedp.CSS(`button[name="preview"]`)),
		chromedp.WaitVisible(chromedp.CSS("#preview .preview-body strong")),
	)
	if err != nil {
		t.Fatal(err)
	}
	browser.Screenshot(t, alice, "new-topic-preview")
	strong, _ := chromedp.Run(alice, chromedp.Text(chromedp.CSS("#preview .preview-body strong")))
	if strong != "USD" {
		t.Errorf("preview shows <strong>%s</strong>, want USD", strong)
	}
	selected, _ := chromedp.Run(alice, chromedp.Value(chromedp.CSS("#category_id")))
	kept, _ := chromedp.Run(alice, chromedp.Value(chromedp.CSS("#title")))
	if kept != title || selected == "" {
		t.Errorf("after preview: title %q, category %q; want both kept", kept, selected)
	}
	err = chromedp.Do(alice,
		chromedp.Click(chromedp.CSS(".compose-form button.btn-primary")),
		chromedp.WaitVisible(chromedp.CSS(".topic-heading")),
	)
	if err != nil {
		t.Fatal(err)
	}
	browser.Screenshot(t, alice, "topic-unanswered")
	topicURL, _ := chromedp.Run(alice, chromedp.Location())
	page, _ := chromedp.Run(alice, chromedp.Text(chromedp.CSS(".post-stream")))
	for _, want := range []string{"Be the first to reply!", "0 replies", "Level 0 · Badge +0"} {
		if !strings.Contains(page, want) {
			t.Errorf("new topic page does not say %q", want)
		}
	}

	// Bob quotes the question and answers.
	browserSignIn(t, bob, base, "bob")
	err = chromedp.Do(bob,
		chromedp.Navigate(topicURL),
		chromedp.Click(chromedp.CSS(`#post-1 a[href*="quote="]`)),
		chromedp.WaitVisible(chromedp.CSS(".replying-to")),
	)
	if err != nil {
		t.Fatal(err)
	}
	prefill, _ := chromedp.Run(bob, chromedp.Value(chromedp.CSS("#reply-body")))
	if !strings.HasPrefix(prefill, "@alice wrote:\n> Since the last update") {
		t.Errorf("quote prefilled %q", prefill)
	}
	answer := prefill + "The PDF uses the currency of the **billing profile**, not the account. Change it here:\n\n" +
		"| Setting | Where |\n| --- | --- |\n| Currency | Billing → Profile |\n| Tax id | Billing → Profile |\n"
	err = chromedp.Do(bob,
		chromedp.SetValue(chromedp.CSS("#reply-body"), answer),
		chromedp.Click(chromedp.CSS(".reply-form button.btn-primary")),
		chromedp.WaitVisible(chromedp.CSS("#post-2")),
	)
	if err != nil {
		t.Fatal(err)
	}
	reply, _ := chromedp.Run(bob, chromedp.Text(chromedp.CSS("#post-2")))
	for _, want := range []string{"Bob Builder", "@bob", "Level 2 · Badge +3", "billing profile", "Since the last update"} {
		if !strings.Contains(reply, want) {
			t.Errorf("reply shows %q, want %q in it", reply, want)
		}
	}

	// Alice marks it as the best answer.
	err = chromedp.Do(alice,
		chromedp.Navigate(topicURL),
		chromedp.Click(chromedp.CSS("#post-2 .solve-btn")),
		chromedp.WaitVisible(chromedp.CSS(".best-answer")),
	)
	if err != nil {
		t.Fatal(err)
	}
	browser.Screenshot(t, alice, "topic-page")
	box, _ := chromedp.Run(alice, chromedp.Text(chromedp.CSS(".best-answer")))
	if !strings.Contains(box, "Best answer") || !strings.Contains(box, "billing profile") {
		t.Errorf("best answer box shows %q", box)
	}

	// Bob likes the question (with JavaScript: no reload).
	err = chromedp.Do(bob,
		chromedp.Navigate(topicURL),
		chromedp.Click(chromedp.CSS("#post-1 .like-btn")),
		chromedp.WaitVisible(chromedp.CSS("#post-1 .like-btn.liked")),
	)
	if err != nil {
		t.Fatal(err)
	}
	likes, _ := chromedp.Run(bob, chromedp.Text(chromedp.CSS("#post-1 .like-count")))
	if likes != "1" {
		t.Errorf("like count after liking = %q, want 1", likes)
	}

	// The solved list has it.
	err = chromedp.Do(alice,
		chromedp.Navigate(base+"/?filter=solved"),
		chromedp.WaitVisible(chromedp.CSS(".topic-list")),
	)
	if err != nil {
		t.Fatal(err)
	}
	browser.Screenshot(t, alice, "home-solved")
	list, _ := chromedp.Run(alice, chromedp.Text(chromedp.CSS(".topic-list")))
	if !strings.Contains(list, title) || !strings.Contains(list, "Solved") {
		t.Errorf("solved list shows %q", list)
	}

	// A phone-sized screen.
	err = chromedp.Do(bob,
		chromedp.EmulateViewport(390, 844),
		chromedp.Navigate(topicURL),
		chromedp.WaitVisible(chromedp.CSS(".topic-heading")),
	)
	if err != nil {
		t.Fatal(err)
	}
	browser.Screenshot(t, bob, "topic-mobile")
	wide, _ := chromedp.Run(bob, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth`))
	if wide {
		t.Error("the topic page scrolls sideways on a 390px screen")
	}
}
