package markup

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/renderer"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
)

// maxName is the longest name an @mention can carry.
const maxName = 30

// username is the mention name syntax; canonical names from the users map
// must match it too, so they can go into an href and HTML text unescaped.
var username = regexp.MustCompile(`^[A-Za-z0-9_.-]{0,29}[A-Za-z0-9_]$`)

// rawTag matches a raw-HTML <a>/<code> start or end tag: their content is a
// link or code, where a mention is as wrong as in the Markdown forms.
var rawTag = regexp.MustCompile(`(?i)^<(/?)(?:a|code)[\s/>]`)

// usersKey carries RenderMentions' users map through parser.Context, which is
// per conversion, so the shared goldmark instance stays immutable.
var usersKey = parser.NewContextKey()

var kindMention = ast.NewNodeKind("Mention")

// mention is an @name. user is the canonical username it refers to, or "" if
// the name is not a known member.
type mention struct {
	ast.BaseInline
	name string       // as written, without '@'
	seg  text.Segment // "@name" in the source, to turn back into text
	user string
}

func (m *mention) Kind() ast.NodeKind { return kindMention }

func (m *mention) Dump(source []byte, level int) {
	ast.DumpHelper(m, source, level, map[string]string{"Name": m.name, "User": m.user}, nil)
}

// mentions is the goldmark extension: the '@' parser, the filter that undoes
// mentions where they must not be, and the renderer.
type mentions struct{}

func (mentions) Extend(m goldmark.Markdown) {
	m.Parser().AddOptions(
		parser.WithInlineParsers(util.Prioritized(mentionParser{}, 500)),
		parser.WithASTTransformers(util.Prioritized(mentionFilter{}, 500)),
	)
	m.Renderer().AddOptions(renderer.WithNodeRenderers(util.Prioritized(mentionRenderer{}, 500)))
}

type mentionParser struct{}

func (mentionParser) Trigger() []byte { return []byte{'@'} }

// Parse never sees '@' inside code spans, autolinks or linkified URLs and
// emails: their parsers consume those whole before the '@' is reached. So an
// '@' after a word character is an email linkify did not take (no space
// before it), and after '/' a URL path it did not take; neither is a mention.
func (mentionParser) Parse(_ ast.Node, block text.Reader, pc parser.Context) ast.Node {
	if p := block.PrecendingCharacter(); p == '_' || p == '/' || unicode.IsLetter(p) || unicode.IsDigit(p) {
		return nil
	}
	line, seg := block.PeekLine()
	n := nameLen(line[1:])
	if n == 0 {
		return nil
	}
	block.Advance(1 + n)
	m := &mention{name: string(line[1 : 1+n]), seg: seg.WithStop(seg.Start + 1 + n)}
	if users, ok := pc.Get(usersKey).(map[string]string); ok {
		m.user = users[strings.ToLower(m.name)]
	}
	return m
}

// nameLen returns the length of the mention name b starts with, or 0. A
// trailing '.' or '-' is punctuation ("thanks @ana."), not part of the name.
// A run that goes on into another letter or digit ("@josé") or an '@' (an
// email) or past maxName is not a name at all rather than a truncated one.
func nameLen(b []byte) int {
	n := 0
	for n < len(b) && isNameByte(b[n]) {
		n++
	}
	if n < len(b) {
		if r, _ := utf8.DecodeRune(b[n:]); r == '@' || unicode.IsLetter(r) || unicode.IsDigit(r) {
			return 0
		}
	}
	end := n
	for end > 0 && (b[end-1] == '.' || b[end-1] == '-') {
		end--
	}
	if end > maxName {
		return 0
	}
	return end
}

func isNameByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '.' || c == '-'
}

// mentionFilter turns mentions back into text inside link text and image alt
// (links cannot nest; alt is plain text) and inside raw-HTML <a> and <code>.
type mentionFilter struct{}

func (mentionFilter) Transform(doc *ast.Document, reader text.Reader, _ parser.Context) {
	raw := 0
	unmention(doc, false, &raw, reader.Source())
}

// unmention walks n's subtree in document order; raw counts the raw-HTML
// <a>/<code> elements open at that point.
func unmention(n ast.Node, inLink bool, raw *int, src []byte) {
	for c := n.FirstChild(); c != nil; {
		next := c.NextSibling() // before c may be replaced
		switch x := c.(type) {
		case *mention:
			if inLink || *raw > 0 {
				n.ReplaceChild(n, x, ast.NewTextSegment(x.seg))
			}
		case *ast.RawHTML:
			switch m := rawTag.FindSubmatch(x.Segments.Value(src)); {
			case m == nil:
			case len(m[1]) == 0:
				*raw++
			case *raw > 0:
				*raw--
			}
		case *ast.Link, *ast.Image:
			unmention(c, true, raw, src)
		default:
			unmention(c, inLink, raw, src)
		}
		c = next
	}
}

type mentionRenderer struct{}

func (mentionRenderer) RegisterFuncs(r renderer.NodeRendererFuncRegisterer) {
	r.Register(kindMention, renderMention)
}

// renderMention writes names unescaped: the parser and the username pattern
// admit only [A-Za-z0-9_.-]. A canonical name outside that syntax is not
// linked, since it could not be written safely into the path.
func renderMention(w util.BufWriter, _ []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	if !entering {
		return ast.WalkContinue, nil
	}
	m := node.(*mention)
	if !username.MatchString(m.user) {
		_ = w.WriteByte('@')
		_, _ = w.WriteString(m.name)
		return ast.WalkContinue, nil
	}
	_, _ = w.WriteString(`<a class="mention" href="/u/`)
	_, _ = w.WriteString(m.user)
	_, _ = w.WriteString(`">@`)
	_, _ = w.WriteString(m.user)
	_, _ = w.WriteString(`</a>`)
	return ast.WalkContinue, nil
}
