package mailer

import (
	"bytes"
	"html/template"
	"strings"

	nethtml "golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// block is one paragraph of a message: text, a link on its own line, or a
// post's HTML (already sanitized by markup's policy when it was written).
type block struct {
	Text string
	Link string
	Post string
}

// footer ends every message; Base is the forum's address, for links.
type footer struct {
	Base                        string
	Community, Postal, Settings string
	Why                         string // the kind's label
	Unsubscribe                 string // "": a service mail
}

var htmlMail = template.Must(template.New("mail").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>{{.Subject}}</title></head>
<body style="font-family:-apple-system,Segoe UI,Roboto,Helvetica,Arial,sans-serif;color:#1f2328;line-height:1.5;max-width:640px;margin:0 auto;padding:16px">
{{range .Body}}{{if .Link}}<p><a href="{{.Link}}" style="color:#0b5fff">{{.Link}}</a></p>
{{else if .Post}}<blockquote style="margin:0 0 16px;padding:8px 16px;border-left:3px solid #d0d7de;color:#333">{{.Post}}</blockquote>
{{else}}<p>{{.Text}}</p>
{{end}}{{end}}<hr style="border:0;border-top:1px solid #d0d7de;margin:24px 0 12px">
<p style="font-size:12px;color:#59636e">{{with .Footer}}{{if .Unsubscribe}}You get this mail because you chose to receive {{.Why}} from {{.Community}}.
<a href="{{.Unsubscribe}}" style="color:#59636e">Unsubscribe from these mails</a> · <a href="{{.Settings}}" style="color:#59636e">Email preferences</a>{{else}}{{.Community}}: {{.Why}}.{{end}}{{with .Postal}}<br>{{.}}{{end}}{{end}}</p>
</body></html>
`))

// render returns the plain-text and HTML parts of a message.
func render(subject string, body []block, f footer) (text, html string, err error) {
	var t strings.Builder
	data := struct {
		Subject string
		Body    []struct {
			Text, Link string
			Post       template.HTML
		}
		Footer footer
	}{Subject: subject, Footer: f}
	for _, b := range body {
		switch {
		case b.Link != "":
			t.WriteString(b.Link + "\n\n")
		case b.Post != "":
			safe := forMail(b.Post, f.Base)
			for _, line := range strings.Split(strings.TrimSpace(plainText(safe)), "\n") {
				t.WriteString("> " + line + "\n")
			}
			t.WriteString("\n")
			b.Post = safe
		default:
			t.WriteString(b.Text + "\n\n")
		}
		data.Body = append(data.Body, struct {
			Text, Link string
			Post       template.HTML
		}{b.Text, b.Link, template.HTML(b.Post)}) // sanitized at write time, media taken out above
	}
	t.WriteString("-- \n")
	if f.Unsubscribe != "" {
		t.WriteString("You get this mail because you chose to receive " + f.Why + " from " + f.Community + ".\n")
		t.WriteString("Unsubscribe: " + f.Unsubscribe + "\nEmail preferences: " + f.Settings + "\n")
	} else {
		t.WriteString(f.Community + ": " + f.Why + ".\n")
	}
	if f.Postal != "" {
		t.WriteString(f.Postal + "\n")
	}
	var h bytes.Buffer
	if err := htmlMail.Execute(&h, data); err != nil {
		return "", "", err
	}
	return t.String(), h.String(), nil
}

// forMail returns a post's sanitized HTML with images and embeds replaced
// by links to them (mail loads nothing from elsewhere) and links within the
// forum (mentions: /u/name) made absolute under base.
func forMail(h, base string) string {
	root := &nethtml.Node{Type: nethtml.ElementNode, Data: "div", DataAtom: atom.Div}
	nodes, err := nethtml.ParseFragment(strings.NewReader(h), root)
	if err != nil {
		return ""
	}
	for _, n := range nodes {
		root.AppendChild(n)
	}
	replaceMedia(root, base)
	var out bytes.Buffer
	for n := root.FirstChild; n != nil; n = n.NextSibling {
		nethtml.Render(&out, n)
	}
	return out.String()
}

func replaceMedia(n *nethtml.Node, base string) {
	for c := n.FirstChild; c != nil; {
		next := c.NextSibling
		if c.Type == nethtml.ElementNode && c.DataAtom == atom.A {
			for i, a := range c.Attr {
				if a.Key == "href" && strings.HasPrefix(a.Val, "/") && !strings.HasPrefix(a.Val, "//") {
					c.Attr[i].Val = base + a.Val
				}
			}
		}
		if c.Type == nethtml.ElementNode && (c.DataAtom == atom.Img || c.DataAtom == atom.Iframe) {
			src, label := "", "[embedded video]"
			for _, a := range c.Attr {
				switch a.Key {
				case "src":
					src = a.Val
				case "alt":
					if a.Val != "" {
						label = "[image: " + a.Val + "]"
					}
				}
			}
			if c.DataAtom == atom.Img && label == "[embedded video]" {
				label = "[image]"
			}
			link := &nethtml.Node{Type: nethtml.ElementNode, Data: "a", DataAtom: atom.A,
				Attr: []nethtml.Attribute{{Key: "href", Val: src}}}
			link.AppendChild(&nethtml.Node{Type: nethtml.TextNode, Data: label})
			n.InsertBefore(link, c)
			n.RemoveChild(c)
		} else {
			replaceMedia(c, base)
		}
		c = next
	}
}

// plainText is the text of an HTML fragment, a line per block.
func plainText(h string) string {
	var b strings.Builder
	z := nethtml.NewTokenizer(strings.NewReader(h))
	for {
		switch z.Next() {
		case nethtml.ErrorToken:
			return b.String()
		case nethtml.TextToken:
			b.Write(z.Text())
		case nethtml.StartTagToken, nethtml.EndTagToken:
			name, _ := z.TagName()
			switch atom.Lookup(name) {
			case atom.P, atom.Br, atom.Li, atom.Div, atom.Pre, atom.Blockquote, atom.H1, atom.H2, atom.H3,
				atom.H4, atom.H5, atom.H6, atom.Tr:
				b.WriteString("\n")
			}
		}
	}
}
