package markup

import (
	"bytes"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/renderer"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
)

// Two Markdown constructs make output grow with the square of the input, and
// goldmark bounds neither: a table row gets an empty cell for every column it
// omits (a 14 KB post of "|a|a|…" and "|" lines rendered 60 MB), and every use
// of a link reference repeats its URL (12 MB from 20 KB). Both are cut down to
// what a real post needs, so output stays linear in the input.

// boundedTable is extension.Table whose paragraph transformer leaves a
// paragraph as text when its table would have more cells than bytes: every
// real cell costs at least a byte of source, only padding costs nothing.
type boundedTable struct{ options []extension.TableOption }

func (e boundedTable) Extend(m goldmark.Markdown) {
	m.Parser().AddOptions(
		parser.WithParagraphTransformers(util.Prioritized(tableCells{extension.NewTableParagraphTransformer()}, 200)),
		parser.WithASTTransformers(util.Prioritized(extension.NewTableASTTransformer(), 0)),
	)
	m.Renderer().AddOptions(renderer.WithNodeRenderers(util.Prioritized(extension.NewTableHTMLRenderer(e.options...), 500)))
}

type tableCells struct{ parser.ParagraphTransformer }

func (t tableCells) Transform(node *ast.Paragraph, reader text.Reader, pc parser.Context) {
	lines := node.Lines()
	if lines.Len() < 2 {
		return
	}
	size, cols := 0, 0
	for i := range lines.Len() {
		seg := lines.At(i)
		line := seg.Value(reader.Source())
		size += len(line)
		if isDelimiterRow(line) {
			// An upper bound: the table's columns are at most its delimiter row's cells.
			cols = max(cols, bytes.Count(line, []byte("|"))+1)
		}
	}
	if cols*lines.Len() > size {
		return
	}
	t.ParagraphTransformer.Transform(node, reader, pc)
}

// isDelimiterRow is a superset of what the table extension takes for a
// delimiter row ("|:--|--:|"): only '-', ':', '|' and spaces, and a '-'.
func isDelimiterRow(line []byte) bool {
	return bytes.IndexByte(line, '-') >= 0 && len(bytes.Trim(line, "-:| \t\r\n")) == 0
}

// maxLinkBytes is how many bytes of link and image URLs and titles a post of
// n bytes may render: its own inline links' once, and references used a few
// times more. Past it, Render degrades the post to plain text.
func maxLinkBytes(n int) int { return 2*n + 4096 }

// linkBytes sums the URL and title lengths of doc's links and images, which
// the renderer writes out once per use.
func linkBytes(doc ast.Node) int {
	total := 0
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if entering {
			switch l := n.(type) {
			case *ast.Link:
				total += len(l.Destination) + len(l.Title)
			case *ast.Image:
				total += len(l.Destination) + len(l.Title)
			}
		}
		return ast.WalkContinue, nil
	})
	return total
}
