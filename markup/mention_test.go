package markup_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"agora/markup"
)

// mentionUsers maps lower-case names to canonical usernames, as callers of
// RenderMentions do. weird's canonical name is one no member can have.
var mentionUsers = map[string]string{
	"ana":   "Ana",
	"bob":   "bob",
	"bob.k": "Bob.K",
	"e":     "E",
	"weird": `"><script>alert(1)</script>`,
}

func TestMentions(t *testing.T) {
	long := strings.Repeat("a", 30)
	cases := []struct {
		name string
		in   string
		want []string
	}{
		{"none", "no one here", nil},
		{"start of line", "@ana hi\n@bob", []string{"ana", "bob"}},
		{"after parentheses and brackets", "(@ana) [@bob] {@cy}", []string{"ana", "bob", "cy"}},
		{"after punctuation and markup", "ok,@ana **@bob** <b>@cy</b>", []string{"ana", "bob", "cy"}},
		{"blocks", "# @ana\n\n> @bob\n\n- @cy\n\n| @dee |\n|---|\n| @e |", []string{"ana", "bob", "cy", "dee", "e"}},
		{"trailing punctuation", "thanks @ana. @bob, @cy! @dee? @e-f- @g.h. @i_", []string{"ana", "bob", "cy", "dee", "e-f", "g.h", "i_"}},
		{"duplicates differing in case", "@Ana @ana @ANA. @bob @Ana", []string{"Ana", "bob"}},
		{"linkified emails", "mail bob@example.com or (ops@example.com)", nil},
		{"emails linkify leaves", "x,bob@example.com @ana@example.com", nil},
		{"after word characters", "x@ana _@bob 1@cy é@dee", nil},
		{"after slash", "foo:https://example.com/@ana", nil},
		{"escaped", `\@ana`, nil},
		{"code span", "`@ana` and ``x @bob`` @cy", []string{"cy"}},
		{"fenced code block", "```\n@ana\n```\n\n~~~go\n@bob\n~~~\n@cy", []string{"cy"}},
		{"indented code block", "    @ana\n\n@bob", []string{"bob"}},
		{"link text", "[cc @ana](/t/1) [@bob][r] and @cy\n\n[r]: /x", []string{"cy"}},
		{"link URL", "[x](https://example.com/@ana) [y](/u/@bob \"@cy\")", nil},
		{"image alt", "![@ana](https://img.example.com/a.png)", nil},
		{"autolinks", "<https://example.com/@ana> <ana@example.com>", nil},
		{"linkified URLs", "see https://example.com/@ana and www.example.com/@bob", nil},
		{"raw HTML link and code", `<a href="/x">@ana</a> <code>@bob</code> @cy`, []string{"cy"}},
		{"longest name", "@" + long + " @" + long + "b", []string{long}},
		{"not names", "@ @. @- a @ b @josé", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := markup.Mentions(tc.in); !slices.Equal(got, tc.want) {
				t.Errorf("Mentions(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// mention is the link RenderMentions writes for canonical username name.
func mention(name string) string {
	return `<a class="mention" href="/u/` + name + `" rel="nofollow ugc noopener">@` + name + `</a>`
}

func TestRenderMentions(t *testing.T) {
	cases := []renderCase{
		{"known gets canonical case", "hi @ANA and @bob.k.", "<p>hi " + mention("Ana") + " and " + mention("Bob.K") + ".</p>\n"},
		{"unknown stays text", "@nobody @ana", "<p>@nobody " + mention("Ana") + "</p>\n"},
		{"known prefix of a longer name", "@anabel @bob-", "<p>@anabel " + mention("bob") + "-</p>\n"},
		{"emails still linkified", "bob@example.com @bob",
			"<p><a href=\"mailto:bob@example.com\" rel=\"nofollow ugc noopener\">bob@example.com</a> " + mention("bob") + "</p>\n"},
		{"nothing inside code", "`@ana`\n\n```\n@ana\n```\n\n    @bob",
			"<p><code>@ana</code></p>\n<pre><code>@ana\n</code></pre>\n<pre><code>@bob\n</code></pre>\n"},
		{"nothing inside links", "[@ana](/t/1) ![@bob](https://img.example.com/b.png) <https://example.com/@ana>",
			"<p><a href=\"/t/1\" rel=\"nofollow ugc noopener\">@ana</a> <img src=\"https://img.example.com/b.png\" alt=\"@bob\"/> " +
				"<a href=\"https://example.com/@ana\" rel=\"nofollow ugc noopener\">https://example.com/@ana</a></p>\n"},
		{"markup around a mention escaped", `@ana<script>alert(1)</script>"&< @bob"onclick=x`,
			"<p>" + mention("Ana") + "&#34;&amp;&lt; " + mention("bob") + "&#34;onclick=x</p>\n"},
		{"canonical name outside the syntax not linked", "@weird", "<p>@weird</p>\n"},
		{"raw HTML copy of a mention kept", `<a class="mention" href="/u/Ana">@Ana</a>`, "<p>" + mention("Ana") + "</p>\n"},
		{"raw HTML mention class on another link dropped", `<a class="mention" href="/u/Ana">@Bob</a> <a class="mention" href="/u/Ana"><b>@Ana</b></a>`,
			"<p><a href=\"/u/Ana\" rel=\"nofollow ugc noopener\">@Bob</a> <a href=\"/u/Ana\" rel=\"nofollow ugc noopener\"><b>@Ana</b></a></p>\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // the users map travels per render, never in shared state
			got := markup.RenderMentions(tc.in, mentionUsers)
			if got != tc.want {
				t.Errorf("RenderMentions(%q)\n got: %q\nwant: %q", tc.in, got, tc.want)
			}
			if err := checkSafe(got); err != nil {
				t.Errorf("RenderMentions(%q) = %q is unsafe: %v", tc.in, got, err)
			}
		})
	}
}

func TestRenderMentionsWithoutUsersIsRender(t *testing.T) {
	for _, in := range []string{"@ana @Bob.K bob@example.com", "[@ana](/t/1) `@ana`", ""} {
		if got, want := markup.RenderMentions(in, nil), markup.Render(in); got != want {
			t.Errorf("RenderMentions(%q, nil) = %q, Render = %q", in, got, want)
		}
	}
}

func TestCensusSkipsMentions(t *testing.T) {
	h := markup.RenderMentions("@ana [a](/t/1) @bob <a class=\"mention\" href=\"https://evil.example/\">@ana</a>", mentionUsers)
	if got, want := markup.Census(h), (markup.Media{Links: 2}); got != want {
		t.Errorf("Census(%q) = %+v, want %+v", h, got, want)
	}
}

// BenchmarkRenderMentions renders BenchmarkRender's post with a line of
// mentions added, so the two are comparable.
func BenchmarkRenderMentions(b *testing.B) {
	src, err := os.ReadFile(filepath.Join("testdata", "question.md"))
	if err != nil {
		b.Fatal(err)
	}
	post := string(src) + "\ncc @ana @Bob.K @nobody\n"
	b.ReportAllocs()
	b.SetBytes(int64(len(post)))
	for b.Loop() {
		markup.RenderMentions(post, mentionUsers)
	}
}
