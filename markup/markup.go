// Package markup turns user-written Markdown into HTML that is safe to embed
// in forum pages.
//
// Rendering is a three-step pipeline: goldmark converts Markdown (passing raw
// HTML through), the bluemonday [Policy] sanitizes everything goldmark
// produced, and a final tree pass balances the markup and removes elements the
// policy left without their required attribute.
package markup

import (
	"bytes"
	"errors"
	"html"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
	gmhtml "github.com/yuin/goldmark/renderer/html"
	"github.com/yuin/goldmark/text"
	nethtml "golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// Version identifies the render+sanitize policy; stored with each post so
// posts are re-rendered when it changes. Bump it whenever Render's or
// RenderMentions' output for the same input may change.
const Version = 3

// linkRel is set on every link: user links must not pass ranking (nofollow,
// ugc) nor get a handle on the forum window (noopener).
const linkRel = "nofollow ugc noopener"

var markdown = sync.OnceValue(func() goldmark.Markdown {
	return goldmark.New(
		goldmark.WithExtensions(
			// Alignment as align="…" rather than style="text-align:…", since
			// the policy never allows style.
			boundedTable{[]extension.TableOption{extension.WithTableCellAlignMethod(extension.TableCellAlignAttribute)}},
			extension.Strikethrough,
			extension.Linkify,
			extension.TaskList,
			mentions{},
		),
		goldmark.WithRendererOptions(
			gmhtml.WithHardWraps(),
			// Raw HTML and every URL pass through: the policy is the one guard.
			gmhtml.WithUnsafe(),
		),
	)
})

// Render converts Markdown to sanitized HTML. It never returns HTML that
// contains script, on* attributes, style, or non-allow-listed URL schemes.
// Every link carries rel="nofollow ugc noopener". @mentions stay plain text.
func Render(src string) string { return RenderMentions(src, nil) }

// RenderMentions renders src like Render, but each @name whose lower-cased
// name is a key of users becomes <a class="mention" href="/u/{users[key]}">@{users[key]}</a>
// (users maps lower-case name → the member's canonical username); unknown
// names stay plain text "@name". See [Mentions] for what counts as a mention.
func RenderMentions(src string, users map[string]string) string {
	src = clean(src)
	out, err := render(src, users)
	if err != nil {
		// Only markup nested deeper than x/net/html accepts (512 open
		// elements) or links beyond maxLinkBytes get here; degrade to plain
		// text rather than lose the post.
		return html.EscapeString(src)
	}
	return out
}

// Mentions returns the distinct names mentioned as @name in src, outside code
// spans, code blocks, links and autolinks, in the order they first appear
// (case kept as written; distinct case-insensitively).
//
// A name is [A-Za-z0-9_.-]{1,30} not ending in '.' or '-' (so "@ana." names
// ana), and its '@' must not follow a letter, digit, '_' or '/' (so
// "bob@example.com" and "example.com/@bob" mention nobody). Image alt text,
// inline raw-HTML <a> and <code>, and "\@name" mention nobody either.
func Mentions(src string) []string {
	doc := markdown().Parser().Parse(text.NewReader([]byte(clean(src))))
	var names []string
	seen := make(map[string]bool)
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if m, ok := n.(*mention); ok && entering {
			if k := strings.ToLower(m.name); !seen[k] {
				seen[k] = true
				names = append(names, m.name)
			}
		}
		return ast.WalkContinue, nil
	})
	return names
}

// clean makes src storable: PostgreSQL rejects NUL bytes and invalid UTF-8 in
// text columns.
func clean(src string) string {
	src = strings.ReplaceAll(src, "\x00", "")
	if !utf8.ValidString(src) {
		src = strings.ToValidUTF8(src, "\uFFFD")
	}
	return src
}

var errTooManyLinks = errors.New("markup: link references repeat more URL text than a post may render")

func render(src string, users map[string]string) (string, error) {
	pc := parser.NewContext()
	pc.Set(usersKey, users)
	source := []byte(src)
	doc := markdown().Parser().Parse(text.NewReader(source), parser.WithContext(pc))
	if linkBytes(doc) > maxLinkBytes(len(source)) {
		return "", errTooManyLinks
	}
	var md bytes.Buffer
	if err := markdown().Renderer().Render(&md, source, doc); err != nil {
		return "", err
	}
	clean := postPolicy().SanitizeReader(&md)
	size := clean.Len() // parsing drains the buffer

	// Re-parsing also balances the markup: bluemonday passes unclosed tags
	// through, and an unclosed <a> or <iframe> would swallow or restyle the
	// rest of the page the post is embedded in.
	root := &nethtml.Node{Type: nethtml.ElementNode, Data: "div", DataAtom: atom.Div}
	nodes, err := nethtml.ParseFragment(clean, root)
	if err != nil {
		return "", err
	}
	for _, n := range nodes {
		root.AppendChild(n)
	}
	tidy(root)

	var out strings.Builder
	out.Grow(size)
	for n := range root.ChildNodes() {
		if err := nethtml.Render(&out, n); err != nil {
			return "", err
		}
	}
	return out.String(), nil
}

// tidy fixes up what an allow-list policy cannot express. bluemonday keeps an
// element after stripping a bad attribute, so an <img> or <iframe> whose src
// was rejected, or an <input> whose type was, would survive as an empty (or,
// for input, a text-field) shell; those are removed, and a link whose href was
// rejected is unwrapped. src is matched again because bluemonday rewrites a
// URL after matching it: "https://" passes and comes out as "https:".
// Surviving links get linkRel, and lose the mention class unless they are
// exactly what RenderMentions writes: raw HTML must not dress up an arbitrary
// link as a member mention.
func tidy(parent *nethtml.Node) {
	for n := parent.FirstChild; n != nil; {
		next := n.NextSibling
		if n.Type == nethtml.ElementNode {
			tidy(n)
			switch n.DataAtom {
			case atom.Img:
				if src, ok := attr(n, "src"); !ok || !httpsURL.MatchString(src) {
					parent.RemoveChild(n)
				}
			case atom.Iframe:
				if src, ok := attr(n, "src"); !ok || !embedURL.MatchString(src) {
					parent.RemoveChild(n)
					break
				}
				// Fallback content is never shown for an embed.
				for n.FirstChild != nil {
					n.RemoveChild(n.FirstChild)
				}
			case atom.Input:
				if t, _ := attr(n, "type"); t != "checkbox" {
					parent.RemoveChild(n)
				} else if _, ok := attr(n, "disabled"); !ok {
					// Posts are read-only; a clickable checkbox would mislead.
					n.Attr = append(n.Attr, nethtml.Attribute{Key: "disabled"})
				}
			case atom.A:
				if _, ok := attr(n, "href"); ok {
					setAttr(n, "rel", linkRel)
					if _, ok := attr(n, "class"); ok && !isMention(n) {
						removeAttr(n, "class")
					}
				} else {
					// A link whose href was rejected keeps its text only.
					for n.FirstChild != nil {
						c := n.FirstChild
						n.RemoveChild(c)
						parent.InsertBefore(c, n)
					}
					parent.RemoveChild(n)
				}
			}
		}
		n = next
	}
}

// isMention reports whether link n is a mention as renderMention writes it:
// href /u/{name} and the text @{name} alone. The policy allows no other class
// on links, so the class need not be checked.
func isMention(n *nethtml.Node) bool {
	href, _ := attr(n, "href")
	c := n.FirstChild
	return c != nil && c.NextSibling == nil && c.Type == nethtml.TextNode &&
		strings.HasPrefix(c.Data, "@") && username.MatchString(c.Data[1:]) && href == "/u/"+c.Data[1:]
}

func removeAttr(n *nethtml.Node, key string) {
	n.Attr = slices.DeleteFunc(n.Attr, func(a nethtml.Attribute) bool { return a.Key == key })
}

func attr(n *nethtml.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

func setAttr(n *nethtml.Node, key, val string) {
	for i, a := range n.Attr {
		if a.Key == key {
			n.Attr[i].Val = val
			return
		}
	}
	n.Attr = append(n.Attr, nethtml.Attribute{Key: key, Val: val})
}

// Media is what a rendered post carries that new members are limited in.
type Media struct {
	Links, Images, Embeds int
}

// Census counts the links, images and embeds in html (Render's or
// RenderMentions' output). Mentions are not counted as links: they only lead
// to member profiles, and a member should not be limited in naming others.
func Census(h string) Media {
	var m Media
	z := nethtml.NewTokenizer(strings.NewReader(h))
	for {
		switch z.Next() {
		case nethtml.ErrorToken:
			return m
		case nethtml.StartTagToken, nethtml.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			switch atom.Lookup(name) {
			case atom.A:
				if !hasAttr || !hasMentionClass(z) {
					m.Links++
				}
			case atom.Img:
				m.Images++
			case atom.Iframe:
				m.Embeds++
			}
		}
	}
}

// hasMentionClass reports whether the tag z is on has class="mention", which
// in Render's output only a genuine mention has (see tidy).
func hasMentionClass(z *nethtml.Tokenizer) bool {
	for {
		k, v, more := z.TagAttr()
		if string(k) == "class" && string(v) == "mention" {
			return true
		}
		if !more {
			return false
		}
	}
}
