package markup_test

import (
	"net/url"
	"strings"
	"testing"

	nethtml "golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	"agora/internal/xsscorpus"
	"agora/markup"
)

// TestCorpusRendersInert is the quick, browser-free half of the XSS suite
// (app/xss_browser_test.go): no vector of the corpus renders to an element
// or attribute that can carry script, or to a link or source outside
// http(s), mailto and relative URLs.
func TestCorpusRendersInert(t *testing.T) {
	vs, err := xsscorpus.All()
	if err != nil {
		t.Fatal(err)
	}
	banned := map[atom.Atom]bool{atom.Script: true, atom.Style: true, atom.Object: true, atom.Embed: true,
		atom.Form: true, atom.Base: true, atom.Meta: true, atom.Link: true, atom.Svg: true, atom.Math: true,
		atom.Frame: true, atom.Frameset: true, atom.Textarea: true, atom.Select: true, atom.Button: true,
		atom.Template: true, atom.Noscript: true, atom.Area: true, atom.Map: true}
	for _, v := range vs {
		out := markup.Render(v.Text)
		nodes, err := nethtml.ParseFragment(strings.NewReader(out), &nethtml.Node{Type: nethtml.ElementNode, Data: "div", DataAtom: atom.Div})
		if err != nil {
			t.Fatalf("%s: %v", v, err)
		}
		var walk func(*nethtml.Node)
		walk = func(n *nethtml.Node) {
			if n.Type == nethtml.ElementNode {
				if banned[n.DataAtom] || n.DataAtom == 0 {
					t.Errorf("%s renders a <%s>: %s", v, n.Data, out)
				}
				for _, a := range n.Attr {
					switch {
					case strings.HasPrefix(a.Key, "on"), a.Key == "style", a.Key == "srcdoc", a.Key == "formaction", a.Namespace != "":
						t.Errorf("%s renders %s on <%s>: %s", v, a.Key, n.Data, out)
					case a.Key == "href" || a.Key == "src":
						if !inertURL(a.Val) {
							t.Errorf("%s renders %s=%q on <%s>: %s", v, a.Key, a.Val, n.Data, out)
						}
					}
				}
			}
			for c := n.FirstChild; c != nil; c = c.NextSibling {
				walk(c)
			}
		}
		for _, n := range nodes {
			walk(n)
		}
	}
}

// inertURL: an absolute URL over http, https or mailto, or a relative one.
// url.Parse refuses the control characters that could hide a scheme.
func inertURL(s string) bool {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil {
		return false
	}
	switch strings.ToLower(u.Scheme) {
	case "", "http", "https", "mailto":
		return true
	}
	return false
}
