package app_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"agora/accounts"
	"agora/forum"
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
	for _, want := range []string{"Be the first to reply!", "0 replies", "Userlevel 1 · Badge +1"} { // Badge +1: the first-topic badge
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
	for _, want := range []string{"Bob Builder", "@bob", "Userlevel 2 · Badge +4", // +1: the first-reply badge
		"billing profile", "Since the last update"} {
		if !strings.Contains(reply, want) {
			t.Errorf("reply shows %q, want %q in it", reply, want)
		}
	}

	// Alice marks it as the best answer.
	err = chromedp.Do(alice,
		chromedp.Navigate(topicURL),
		chromedp.Click(chromedp.CSS("#post-2 .solve-btn")),
		chromedp.WaitVisible(chromedp.CSS(".best-answer")),
		chromedp.Navigate(topicURL), // from the top, for the screenshot
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

// TestBrowserTopicTour looks at the other topic pages: a long topic with
// pages, editing with revisions, an empty category and the admin page.
func TestBrowserTopicTour(t *testing.T) {
	ctx := browser.New(t)
	db := testdb.Open(t, "sqlite")
	searchDeps, catchUp := withSearch(t, db)
	base := startServer(t, newApp(t, db, searchDeps))
	bg := context.Background()
	acc := accounts.New(db, nil)
	users := map[string]*models.User{}
	for _, name := range []string{"admin", "dora", "eve"} {
		role := ""
		if name == "admin" {
			role = models.RoleAdmin
		}
		u, err := acc.Register(bg, accounts.RegisterInput{Username: name, Email: name + "@example.com",
			Password: "a long enough password", AgeConfirmed: true, Role: role})
		if err != nil {
			t.Fatal(err)
		}
		users[name] = u
	}
	svc := forum.New(db, nil)
	for _, c := range []struct{ name, slug, color string }{{"Getting started", "getting-started", "#2f5fd0"}, {"Integrations", "integrations", "#c2410c"}} {
		if _, err := svc.CreateCategory(bg, users["admin"], forum.CategoryInput{Name: &c.name, Slug: &c.slug, Color: &c.color}); err != nil {
			t.Fatal(err)
		}
	}
	cat, _ := models.CategoryBySlug(bg, db, "getting-started")
	topic, first, err := svc.CreateTopic(bg, users["dora"], forum.TopicInput{CategoryID: cat.ID,
		Title: "Webhook retries: how many and how often?", Body: "Our endpoint was down for an hour. Which events will be retried?"})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 22; i++ {
		who := users["eve"]
		if i%2 == 0 {
			who = users["dora"]
		}
		if _, err := svc.Reply(bg, who, topic.ID, fmt.Sprintf("Reply number %d with `code` and a [link](https://example.com).", i), nil); err != nil {
			t.Fatal(err)
		}
	}

	catchUp() // index the topic for "similar topics"
	browserSignIn(t, ctx, base, "dora")
	err = chromedp.Do(ctx,
		chromedp.Navigate(base+topicPath(topic)),
		chromedp.Click(chromedp.CSS(`.pagination a[rel="next"]`)),
		chromedp.WaitVisible(chromedp.CSS("#post-21")),
	)
	if err != nil {
		t.Fatal(err)
	}
	browser.Screenshot(t, ctx, "topic-page-2")
	status, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(".pagination .page-status")))
	if status != "Page 2 of 2" {
		t.Errorf("pagination says %q, want Page 2 of 2", status)
	}

	// Edit the question, then look at its revisions.
	err = chromedp.Do(ctx,
		chromedp.Navigate(fmt.Sprintf("%s/p/%d/edit", base, first.ID)),
		chromedp.WaitVisible(chromedp.CSS("#reason")),
		chromedp.SetValue(chromedp.CSS("#body"), "Our endpoint was down for **two** hours. Which events will be retried, and for how long?"),
		chromedp.SendKeys(chromedp.CSS("#reason"), "it was longer"),
	)
	if err != nil {
		t.Fatal(err)
	}
	browser.Screenshot(t, ctx, "edit-post")
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(".compose-form button.btn-primary")),
		chromedp.WaitVisible(chromedp.CSS("#post-1 a.edited")),
		chromedp.Click(chromedp.CSS("#post-1 a.edited")),
		chromedp.WaitVisible(chromedp.CSS(".revision-list")),
	)
	if err != nil {
		t.Fatal(err)
	}
	browser.Screenshot(t, ctx, "revisions")
	revs, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(".revision-list")))
	for _, want := range []string{"Original", "Revision 1", "it was longer", "**two** hours"} {
		if !strings.Contains(revs, want) {
			t.Errorf("revisions page does not show %q", want)
		}
	}

	// With JavaScript: live preview and similar topics while typing.
	err = chromedp.Do(ctx,
		chromedp.Navigate(base+"/new-topic"),
		chromedp.WaitVisible(chromedp.CSS("#title")),
		chromedp.SendKeys(chromedp.CSS("#title"), "Webhook retries after downtime"),
		chromedp.WaitVisible(chromedp.CSS("#similar a")),
		chromedp.SendKeys(chromedp.CSS("#body"), "This is **live**"),
		chromedp.WaitVisible(chromedp.CSS("#preview .preview-body strong")),
	)
	if err != nil {
		t.Fatal(err)
	}
	browser.Screenshot(t, ctx, "new-topic-live")
	similar, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#similar")))
	if !strings.Contains(similar, topic.Title) {
		t.Errorf("similar topics show %q, want %q", similar, topic.Title)
	}

	err = chromedp.Do(ctx,
		chromedp.Navigate(base+"/c/integrations"),
		chromedp.WaitVisible(chromedp.CSS(".empty")),
	)
	if err != nil {
		t.Fatal(err)
	}
	browser.Screenshot(t, ctx, "category-empty")

	// The admin renames a category.
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS("#logout")),
		chromedp.WaitVisible(chromedp.CSS(`a[href="/login"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	browserSignIn(t, ctx, base, "admin")
	err = chromedp.Do(ctx,
		chromedp.Navigate(base+"/admin"),
		chromedp.WaitVisible(chromedp.CSS(".admin-table")),
		chromedp.SetValue(chromedp.CSS(fmt.Sprintf(`#category-%d input[name="name"]`, cat.ID)), "Start here"),
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`#category-%d button`, cat.ID))),
		// The attribute (not the typed property) changes only when the saved page arrives.
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`#category-%d input[name="name"][value="Start here"]`, cat.ID))),
		chromedp.SendKeys(chromedp.CSS("#new-name"), "Integrations"),
		chromedp.SendKeys(chromedp.CSS("#new-slug"), "integrations"),
		chromedp.Click(chromedp.CSS(".admin-create button")),
		chromedp.WaitVisible(chromedp.CSS("#new-category .alert-error")),
	)
	if err != nil {
		t.Fatal(err)
	}
	browser.Screenshot(t, ctx, "admin")
	renamed, _ := models.CategoryByID(bg, db, cat.ID)
	if renamed.Name != "Start here" {
		t.Errorf("category name after the admin form = %q", renamed.Name)
	}

	// The home page in dark mode.
	err = chromedp.Do(ctx,
		func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
			_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
				Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}})
			return chromedp.Void{}, err
		},
		chromedp.Navigate(base+topicPath(topic)),
		chromedp.WaitVisible(chromedp.CSS(".topic-heading")),
	)
	if err != nil {
		t.Fatal(err)
	}
	browser.Screenshot(t, ctx, "topic-dark")
}

func topicPath(t *models.Topic) string { return fmt.Sprintf("/t/%d/%s", t.ID, t.Slug) }
