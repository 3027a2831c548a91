package markup_test

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/net/html"

	"agora/markup"
)

var update = flag.Bool("update", false, "rewrite testdata/*.html golden files from RenderMentions' output")

// goldenUsers are the members the golden inputs may mention.
var goldenUsers = map[string]string{"ana": "Ana", "bob.k": "Bob.K"}

type renderCase struct {
	name string
	in   string
	want string
}

func runCases(t *testing.T, cases []renderCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // exercises the shared renderer and policy under -race
			got := markup.Render(tc.in)
			if got != tc.want {
				t.Errorf("Render(%q)\n got: %q\nwant: %q", tc.in, got, tc.want)
			}
			if err := checkSafe(got); err != nil {
				t.Errorf("Render(%q) = %q is unsafe: %v", tc.in, got, err)
			}
		})
	}
}

func TestRenderAllowed(t *testing.T) {
	runCases(t, []renderCase{
		{"headings", "# H1\n## H2\n### H3\n#### H4\n##### H5\n###### H6",
			"<h1>H1</h1>\n<h2>H2</h2>\n<h3>H3</h3>\n<h4>H4</h4>\n<h5>H5</h5>\n<h6>H6</h6>\n"},
		{"emphasis", "**strong** *em* <b>b</b> <i>i</i>",
			"<p><strong>strong</strong> <em>em</em> <b>b</b> <i>i</i></p>\n"},
		{"sub sup small strike", "H<sub>2</sub>O x<sup>2</sup> <small>fine</small> <strike>old</strike> ~~del~~ <s>s</s>",
			"<p>H<sub>2</sub>O x<sup>2</sup> <small>fine</small> <strike>old</strike> <del>del</del> <s>s</s></p>\n"},
		{"hard wrap", "line one\nline two",
			"<p>line one<br/>\nline two</p>\n"},
		{"code block with language", "```c++\nint main() { return 0; }\n```",
			"<pre><code class=\"language-c++\">int main() { return 0; }\n</code></pre>\n"},
		{"inline code", "use `go vet`", "<p>use <code>go vet</code></p>\n"},
		{"blockquote", "> quoted\n> text",
			"<blockquote>\n<p>quoted<br/>\ntext</p>\n</blockquote>\n"},
		{"hr", "above\n\n---\n\nbelow", "<p>above</p>\n<hr/>\n<p>below</p>\n"},
		{"ordered list with start", "3. three\n4. four",
			"<ol start=\"3\">\n<li>three</li>\n<li>four</li>\n</ol>\n"},
		{"unordered list", "- a\n- b", "<ul>\n<li>a</li>\n<li>b</li>\n</ul>\n"},
		{"table with alignment", "| l | c | r |\n|:--|:-:|--:|\n| 1 | 2 | 3 |",
			"<table>\n<thead>\n<tr>\n<th align=\"left\">l</th>\n<th align=\"center\">c</th>\n<th align=\"right\">r</th>\n</tr>\n</thead>\n" +
				"<tbody>\n<tr>\n<td align=\"left\">1</td>\n<td align=\"center\">2</td>\n<td align=\"right\">3</td>\n</tr>\n</tbody>\n</table>\n"},
		{"task list", "- [x] done\n- [ ] todo",
			"<ul>\n<li><input checked=\"\" disabled=\"\" type=\"checkbox\"/> done</li>\n<li><input disabled=\"\" type=\"checkbox\"/> todo</li>\n</ul>\n"},
		{"link gets rel", "[docs](https://example.com/a?b=1&c=2)",
			"<p><a href=\"https://example.com/a?b=1&amp;c=2\" rel=\"nofollow ugc noopener\">docs</a></p>\n"},
		{"relative link", "[thread](/t/1)",
			"<p><a href=\"/t/1\" rel=\"nofollow ugc noopener\">thread</a></p>\n"},
		{"linkify", "see www.example.com",
			"<p>see <a href=\"http://www.example.com\" rel=\"nofollow ugc noopener\">www.example.com</a></p>\n"},
		{"user rel replaced, target blank kept", `<a href="https://example.com" rel="opener" target="_blank">x</a>`,
			"<p><a href=\"https://example.com\" target=\"_blank\" rel=\"nofollow ugc noopener\">x</a></p>\n"},
		{"mentions stay text", "@ana (@bob) and ops@example.com", "<p>@ana (@bob) and <a href=\"mailto:ops@example.com\" rel=\"nofollow ugc noopener\">ops@example.com</a></p>\n"},
		{"mailto link", "[mail](mailto:ops@example.com) <ops@example.com>",
			"<p><a href=\"mailto:ops@example.com\" rel=\"nofollow ugc noopener\">mail</a> <a href=\"mailto:ops@example.com\" rel=\"nofollow ugc noopener\">ops@example.com</a></p>\n"},
		{"https image", `![alt](https://img.example.com/a.png "title") <img src="https://img.example.com/b.png" width="100" height="50" alt="b">`,
			"<p><img src=\"https://img.example.com/a.png\" alt=\"alt\" title=\"title\"/> <img src=\"https://img.example.com/b.png\" width=\"100\" height=\"50\" alt=\"b\"/></p>\n"},
		{"youtube iframe", `<iframe width="560" height="315" src="https://www.youtube.com/embed/dQw4w9WgXcQ" allowfullscreen></iframe>`,
			`<iframe width="560" height="315" src="https://www.youtube.com/embed/dQw4w9WgXcQ" allowfullscreen=""></iframe>`},
		{"youtube-nocookie iframe", `<iframe src="https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ?start=30&rel=0"></iframe>`,
			`<iframe src="https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ?start=30&amp;rel=0"></iframe>`},
		{"vimeo iframe", `<iframe src="https://player.vimeo.com/video/76979871" width="640" height="360" allowfullscreen></iframe>`,
			`<iframe src="https://player.vimeo.com/video/76979871" width="640" height="360" allowfullscreen=""></iframe>`},
	})
}

func TestRenderHostile(t *testing.T) {
	runCases(t, []renderCase{
		{"script element", "<script>alert(1)</script>", ""},
		{"script in heading", "# hi <script>alert(1)</script>", "<h1>hi </h1>\n"},
		{"img onerror", "<img src=x onerror=alert(1)>", ""},
		{"https img onerror", "<img src=https://example.com/a.png onerror=alert(1)>", `<img src="https://example.com/a.png"/>`},
		{"javascript href", `<a href="javascript:alert(1)">x</a>`, "<p>x</p>\n"},
		{"mixed case javascript href", `<a href="JaVaScRiPt:alert(1)">x</a>`, "<p>x</p>\n"},
		{"tab split javascript href", `<a href="java&#x09;script:alert(1)">x</a>`, "<p>x</p>\n"},
		{"entity encoded javascript href", `<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)">x</a>`, "<p>x</p>\n"},
		{"named entity colon", `<a href="javascript&colon;alert(1)">x</a>`, "<p>x</p>\n"},
		{"leading space javascript href", `<a href=" javascript:alert(1)">x</a>`, "<p>x</p>\n"},
		{"data href", `<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>`, "<p>x</p>\n"},
		{"vbscript href", `<a href="vbscript:msgbox(1)">x</a>`, "<p>x</p>\n"},
		{"markdown javascript link", "[x](javascript:alert(1))", "<p>x</p>\n"},
		{"markdown mixed case javascript link", "[x](JaVaScRiPt:alert(1))", "<p>x</p>\n"},
		{"markdown bracketed javascript link", "[x](<javascript:alert(1)>)", "<p>x</p>\n"},
		{"javascript autolink", "<javascript:alert(1)>", "<p>javascript:alert(1)</p>\n"},
		{"other schemes", `<a href="tel:123">t</a> <a href="ftp://example.com">f</a>`, "<p>t f</p>\n"},
		{"data image", "![x](data:image/png;base64,iVBORw0KGgo=)", "<p></p>\n"},
		{"http image", "![x](http://example.com/a.png)", "<p></p>\n"},
		{"style attribute", `<p style="color:red">x</p>`, "<p>x</p>"},
		{"style attribute on img", `<img src="https://example.com/a.png" style="width:9999px">`, `<img src="https://example.com/a.png"/>`},
		{"style element", "<style>body{display:none}</style>", ""},
		{"iframe look-alike host", `<iframe src="https://www.youtube.com.evil.com/embed/x"></iframe>`, ""},
		{"iframe userinfo host", `<iframe src="https://user@www.youtube.com/embed/x"></iframe>`, ""},
		{"iframe http youtube", `<iframe src="http://www.youtube.com/embed/x"></iframe>`, ""},
		{"iframe path escape", `<iframe src="https://www.youtube.com/embed/x/../../redirect"></iframe>`, ""},
		{"iframe srcdoc", `<iframe srcdoc="<script>alert(1)</script>"></iframe>`, ""},
		{"iframe extra attributes and content", `<iframe src="https://www.youtube.com/embed/x" srcdoc="<b>" sandbox="allow-scripts" allow="camera"><script>alert(1)</script></iframe>`,
			`<iframe src="https://www.youtube.com/embed/x"></iframe>`},
		{"div onclick", `<div onclick="alert(1)">x</div>`, "x"},
		{"svg onload", "<svg onload=alert(1)><circle/></svg>", "<p></p>\n"},
		{"object", `<object data="x.swf"></object>`, "<p></p>\n"},
		{"embed", `<embed src="x.swf">`, ""},
		{"form", `<form action="https://evil.com"><input type=text name=q><button>go</button></form>`, "go"},
		{"noscript attribute breakout", `<noscript><p title="</noscript><img src=x onerror=alert(1)>">`, "<p>&#34;&gt;</p>\n"},
		{"math mxss", "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>", "<p></p><table></table>"},
		{"attribute breakout in markdown title", `![a](https://example.com/a.png "a\" onerror=\"alert(1)")`,
			"<p><img src=\"https://example.com/a.png\" alt=\"a\" title=\"a&#34; onerror=&#34;alert(1)\"/></p>\n"},
		{"base link meta", `<base href="https://evil.com/"><link rel=stylesheet href=x><meta http-equiv=refresh content="0;url=javascript:alert(1)">`, ""},
		{"mention class off a mention", `<a class="mention" href="https://evil.example/">@ana</a> <a class="mention" href="/u/x">@y</a> <b class="mention">b</b>`,
			"<p><a href=\"https://evil.example/\" rel=\"nofollow ugc noopener\">@ana</a> <a href=\"/u/x\" rel=\"nofollow ugc noopener\">@y</a> <b>b</b></p>\n"},
		{"disallowed attribute values", `<code class="x language-go">a</code> <ol start="1 onclick"><li>b</li></ol> <a href="/x" target="_top">c</a>`,
			"<p><code>a</code> </p><ol><li>b</li></ol> <a href=\"/x\" rel=\"nofollow ugc noopener\">c</a><p></p>\n"},
	})
}

// TestRenderDropsShells covers elements bluemonday keeps after stripping the
// attribute that made them useful.
func TestRenderDropsShells(t *testing.T) {
	runCases(t, []renderCase{
		{"img without src", `<img width="10" height="10" alt="x">`, ""},
		{"img with rejected src", `<img src="http://example.com/a.png" width="10">`, ""},
		{"img whose src bluemonday rewrites to no host", `<img src="https://">`, ""},
		{"Markdown image of the bare scheme", "![r](https://)", "<p></p>\n"},
		{"iframe without src", `<iframe width="10" height="10" allowfullscreen></iframe>`, ""},
		{"iframe with rejected src", `<iframe src="https://evil.com/embed/x" width="560" height="315"></iframe>`, ""},
		{"input with rejected type", `<input type="text" checked disabled>`, ""},
		{"input without type", `<input checked>`, ""},
		{"checkbox made read-only", `<input type="checkbox">`, `<input type="checkbox" disabled=""/>`},
		{"link with rejected href", `<a href="javascript:alert(1)" target="_blank">x</a>`, "<p>x</p>\n"},
		{"link without href", `<a target="_blank"><b>bold</b> text</a>`, "<p><b>bold</b> text</p>\n"},
		{"unclosed iframe is closed", "<iframe src=\"https://www.youtube.com/embed/x\">\n\nrest", `<iframe src="https://www.youtube.com/embed/x"></iframe>`},
		{"unclosed link is closed", `<a href="/t/1">x`, `<p><a href="/t/1" rel="nofollow ugc noopener">x</a></p><a href="/t/1" rel="nofollow ugc noopener">` + "\n</a>"},
	})
}

func TestRenderCleansInput(t *testing.T) {
	runCases(t, []renderCase{
		{"NUL bytes", "a\x00b\x00", "<p>ab</p>\n"},
		{"NUL in raw HTML", "<scr\x00ipt>alert(1)</script>", ""},
		{"invalid UTF-8", "a\xffb", "<p>a\uFFFDb</p>\n"},
		{"nesting too deep falls back to text", strings.Repeat("<b>", 600) + "x", strings.Repeat("&lt;b&gt;", 600) + "x"},
	})
}

func TestPolicy(t *testing.T) {
	if markup.Policy() != markup.Policy() {
		t.Error("Policy() built a new policy on each call")
	}
	in := `<b onclick="x">b</b><script>alert(1)</script>`
	if got, want := markup.Policy().Sanitize(in), "<b>b</b>"; got != want {
		t.Errorf("Policy().Sanitize(%q)\n got: %q\nwant: %q", in, got, want)
	}
}

func TestGolden(t *testing.T) {
	inputs, err := filepath.Glob(filepath.Join("testdata", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	if len(inputs) == 0 {
		t.Fatal("no testdata/*.md inputs")
	}
	for _, in := range inputs {
		name := strings.TrimSuffix(filepath.Base(in), ".md")
		t.Run(name, func(t *testing.T) {
			src, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			got := markup.RenderMentions(string(src), goldenUsers)
			if err := checkSafe(got); err != nil {
				t.Errorf("output is unsafe: %v", err)
			}
			golden := strings.TrimSuffix(in, ".md") + ".html"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./markup -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("Render(%s) differs from %s (run go test ./markup -update if intended)\n got: %s\nwant: %s", in, golden, got, want)
			}
		})
	}
}

// TestRenderBoundsAmplification covers the two Markdown constructs whose
// output grows with the square of their input: padded table cells and
// reused link references. Both stay within FuzzRender's size bound.
func TestRenderBoundsAmplification(t *testing.T) {
	wide := "|" + strings.Repeat("a|", 2000) + "\n|" + strings.Repeat("-|", 2000) + "\n" + strings.Repeat("|\n", 3000)
	refs := "[r]: https://example.com/" + strings.Repeat("a", 5000) + "\n\n" + strings.Repeat("[r]", 5000)
	for name, src := range map[string]string{"padded table": wide, "reused reference": refs} {
		out := markup.Render(src)
		if len(out) > maxOutput(len(src)) {
			t.Errorf("%s: %d bytes in, %d out; want at most %d", name, len(src), len(out), maxOutput(len(src)))
		}
		if err := checkSafe(out); err != nil {
			t.Errorf("%s: unsafe: %v", name, err)
		}
	}
	// A real table and references used a few times render as before.
	got := markup.Render("| a | b |\n|---|---|\n| 1 |\n\n[r] and [r] and [r]\n\n[r]: https://example.com/" + strings.Repeat("x", 100))
	wants := []string{"<td>1</td>\n<td></td>", `<a href="https://example.com/` + strings.Repeat("x", 100)}
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Errorf("Render = %q, want it to contain %q", got, w)
		}
	}
	if n := strings.Count(got, "<a "); n != 3 {
		t.Errorf("%d links, want 3: %q", n, got)
	}
}

// maxOutput is the most Render may write for n bytes of Markdown: the
// densest constructs (a known mention, an empty aligned cell) cost tens of
// bytes per input byte, nothing may cost more than linear.
func maxOutput(n int) int { return 40*n + 4096 }

// FuzzRender: for any input, Render and RenderMentions do not panic, are
// deterministic, write valid UTF-8 that checkSafe passes, pass the one
// sanitizer policy unchanged (Render adds only rel, which the policy does not
// let authors set), and stay within maxOutput. Mentions and Census do not panic.
func FuzzRender(f *testing.F) {
	seeds := []string{
		"# title\n\n**bold** _em_ `code`\n\n- [x] task\n\n| a | b |\n|:-|-:|\n| 1 | 2 |",
		"```go\nfunc main() {}\n```",
		"[x](javascript:alert(1)) <javascript:alert(1)> [y](JaVaScRiPt:alert(1))",
		`<a href="java&#x09;script:alert(1)">x</a><a href="&#106;avascript:alert(1)">y</a>`,
		"<script>alert(1)</script><style>*{}</style><p style=\"color:red\" onclick=\"x\">p</p>",
		"<img src=x onerror=alert(1)><img src=\"data:image/png;base64,AA==\"><img src=\"http://x/a.png\">",
		`<iframe src="https://www.youtube.com.evil.com/embed/x"></iframe><iframe srcdoc="<script>alert(1)</script>"></iframe>`,
		`<iframe src="https://www.youtube.com/embed/x"><script>alert(1)</script>`,
		`<svg onload=alert(1)><object data=x><embed src=x><form><input type=text>`,
		`<noscript><p title="</noscript><img src=x onerror=alert(1)>">`,
		"<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
		"a\x00b\xff",
		"@ana @Bob.K, bob@example.com [@ana](/t/1) `@ana` <a class=\"mention\" href=\"/u/ana\">@ana</a> @weird",
		"[r]: https://example.com/aaaaaaaaaaaaaaaa \"title\"\n\n[r][r][r][r] ![r][r] [x][r]",
		"|a|b|c|\n|:-:|-:|:-|\n|\n|\n|\n",
		strings.Repeat("> ", 300) + "deep",
		strings.Repeat("<b>", 600) + "x",
		strings.Repeat("[", 200) + "x" + strings.Repeat("](y)", 200),
		strings.Repeat("*a ", 500),
		"<a href=\"vbscript:msgbox(1)\">v</a><a href=\"data:text/html,<script>alert(1)</script>\">d</a>",
	}
	inputs, _ := filepath.Glob(filepath.Join("testdata", "*.md"))
	for _, in := range inputs {
		src, err := os.ReadFile(in)
		if err != nil {
			f.Fatal(err)
		}
		seeds = append(seeds, string(src))
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		for _, users := range []map[string]string{nil, mentionUsers} {
			out := markup.RenderMentions(src, users)
			if err := checkSafe(out); err != nil {
				t.Fatalf("RenderMentions(%q, %v) = %q is unsafe: %v", src, users, out, err)
			}
			if again := markup.RenderMentions(src, users); again != out {
				t.Fatalf("RenderMentions(%q) is not deterministic:\n%q\n%q", src, out, again)
			}
			if again, want := markup.Policy().Sanitize(out), strings.ReplaceAll(out, ` rel="nofollow ugc noopener"`, ""); again != want {
				t.Fatalf("Render(%q) = %q is changed by the policy:\n got %q\nwant %q", src, out, again, want)
			}
			if len(out) > maxOutput(len(src)) {
				t.Fatalf("Render(%q): %d bytes from %d, want at most %d", src, len(out), len(src), maxOutput(len(src)))
			}
			markup.Census(out)
		}
		if got := markup.Render(src); got != markup.RenderMentions(src, nil) {
			t.Fatalf("Render(%q) differs from RenderMentions(src, nil)", src)
		}
		markup.Mentions(src)
	})
}

func BenchmarkRender(b *testing.B) {
	src, err := os.ReadFile(filepath.Join("testdata", "question.md"))
	if err != nil {
		b.Fatal(err)
	}
	post := string(src)
	b.ReportAllocs()
	b.SetBytes(int64(len(post)))
	for b.Loop() {
		markup.Render(post)
	}
}

// allowedTags is the product spec's element allow-list, restated here so the
// tests do not trust the policy they are checking.
var allowedTags = map[string]bool{
	"h1": true, "h2": true, "h3": true, "h4": true, "h5": true, "h6": true,
	"p": true, "br": true, "hr": true, "blockquote": true, "pre": true, "code": true,
	"strong": true, "b": true, "em": true, "i": true, "sub": true, "sup": true,
	"small": true, "strike": true, "del": true, "s": true,
	"table": true, "thead": true, "tbody": true, "tfoot": true, "tr": true, "th": true, "td": true,
	"ul": true, "ol": true, "li": true, "a": true, "img": true, "iframe": true, "input": true,
}

var embedHosts = map[string]bool{"www.youtube.com": true, "www.youtube-nocookie.com": true, "player.vimeo.com": true}

// checkSafe tokenizes rendered HTML the way a browser would and reports the
// first construct that could run script, restyle the page, or load a
// non-allow-listed URL.
func checkSafe(out string) error {
	if strings.ContainsRune(out, 0) {
		return errors.New("contains NUL")
	}
	if !utf8.ValidString(out) {
		return errors.New("invalid UTF-8")
	}
	z := html.NewTokenizer(strings.NewReader(out))
	for {
		switch z.Next() {
		case html.ErrorToken:
			if z.Err() == io.EOF {
				return nil
			}
			return z.Err()
		case html.StartTagToken, html.SelfClosingTagToken:
			tok := z.Token()
			if !allowedTags[tok.Data] {
				return fmt.Errorf("element <%s> not allowed", tok.Data)
			}
			for _, a := range tok.Attr {
				if err := checkAttr(tok.Data, a); err != nil {
					return fmt.Errorf("<%s %s=%q>: %w", tok.Data, a.Key, a.Val, err)
				}
			}
		}
	}
}

func checkAttr(tag string, a html.Attribute) error {
	switch {
	case strings.HasPrefix(a.Key, "on"):
		return errors.New("event handler attribute")
	case a.Key == "style" || a.Key == "srcdoc":
		return errors.New("forbidden attribute")
	case a.Key != "href" && a.Key != "src":
		return nil
	}
	s := scheme(a.Val)
	switch {
	case tag == "img" && s != "https":
		return errors.New("image not served over https")
	case tag == "iframe":
		u, err := url.Parse(a.Val)
		if err != nil || u.Scheme != "https" || !embedHosts[u.Host] || u.User != nil {
			return errors.New("embed not from an allowed host")
		}
	case s != "" && s != "http" && s != "https" && s != "mailto":
		return fmt.Errorf("scheme %q not allowed", s)
	}
	return nil
}

var schemeRE = regexp.MustCompile(`^([a-zA-Z][a-zA-Z0-9+.-]*):`)

// scheme returns the lower-cased URL scheme a browser would see, after the
// WHATWG URL parser's removal of surrounding C0/space and inner tab/newline.
func scheme(raw string) string {
	raw = strings.TrimFunc(raw, func(r rune) bool { return r <= ' ' })
	raw = strings.NewReplacer("\t", "", "\n", "", "\r", "").Replace(raw)
	m := schemeRE.FindStringSubmatch(raw)
	if m == nil {
		return ""
	}
	return strings.ToLower(m[1])
}
