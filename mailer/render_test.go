package mailer

import (
	"strings"
	"testing"
)

func TestMailLoadsNothingFromElsewhere(t *testing.T) {
	post := `<p>See <img src="https://cdn.example.com/a.png" alt="the screen"> and</p>` +
		`<iframe src="https://www.youtube-nocookie.com/embed/x"></iframe><p>done &amp; <em>dusted</em>, <a class="mention" href="/u/Bo">@Bo</a></p>`
	text, html, err := render("Hi", []block{{Text: "Ana replied <3"}, {Post: post}},
		footer{Base: "https://forum.example", Community: "Acme", Postal: "1 Main St", Settings: "http://x/settings", Why: "replies", Unsubscribe: "http://x/u"})
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"<img", "<iframe"} {
		if strings.Contains(html, bad) {
			t.Errorf("the HTML part keeps %s:\n%s", bad, html)
		}
	}
	for _, want := range []string{`<a href="https://cdn.example.com/a.png">[image: the screen]</a>`, "Ana replied &lt;3",
		"<em>dusted</em>", "1 Main St", `href="http://x/u"`, `href="https://forum.example/u/Bo"`} {
		if !strings.Contains(html, want) {
			t.Errorf("the HTML part lacks %q:\n%s", want, html)
		}
	}
	for _, want := range []string{"Ana replied <3", "> See [image: the screen] and", "> done & dusted", "Unsubscribe: http://x/u", "1 Main St"} {
		if !strings.Contains(text, want) {
			t.Errorf("the text part lacks %q:\n%s", want, text)
		}
	}
}
