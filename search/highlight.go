package search

import (
	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/analysis/lang/en"
	"github.com/blevesearch/bleve/v2/document"
	"github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/highlight"
	"github.com/blevesearch/bleve/v2/search/highlight/highlighter/html"
)

// Highlighting happens after the search, for the page's hits only: asking
// Bleve for it would make every matching posting (tens of thousands at
// 1 M posts) read its term locations. Analyzing the few shown texts again
// with the index's analyzer finds the same words at the same offsets.

var (
	analyzer    = mustAnalyzer() // the text fields' analyzer (see newMapping)
	highlighter = mustHighlighter()
)

func mustAnalyzer() analysis.Analyzer {
	a, err := bleve.Config.Cache.AnalyzerNamed(en.AnalyzerName)
	if err != nil {
		panic(err)
	}
	return a
}

func mustHighlighter() highlight.Highlighter {
	h, err := bleve.Config.Cache.HighlighterNamed(html.Name)
	if err != nil {
		panic(err)
	}
	return h
}

// marker finds a query's words and phrases in a text, as the index's
// searchers would match them.
type marker struct {
	terms   map[string]bool
	phrases []analysis.TokenStream
}

func newMarker(q *Query) *marker {
	m := &marker{terms: map[string]bool{}}
	for _, t := range q.Terms {
		for _, tok := range analyzer.Analyze([]byte(t)) {
			m.terms[string(tok.Term)] = true
		}
	}
	for _, p := range q.Phrases {
		if toks := analyzer.Analyze([]byte(p)); len(toks) > 0 {
			m.phrases = append(m.phrases, toks)
		}
	}
	return m
}

// locations returns where the query matches text, keyed by term.
func (m *marker) locations(text string) search.TermLocationMap {
	toks := analyzer.Analyze([]byte(text))
	tlm := search.TermLocationMap{}
	add := func(t *analysis.Token) {
		tlm.AddLocation(string(t.Term), &search.Location{Pos: uint64(t.Position), Start: uint64(t.Start), End: uint64(t.End)})
	}
	for _, t := range toks {
		if m.terms[string(t.Term)] {
			add(t)
		}
	}
	if len(m.phrases) == 0 {
		return tlm
	}
	// A phrase matches where its words sit at the same distances as in the
	// query (removed stop words leave gaps on both sides).
	at := make(map[int]*analysis.Token, len(toks))
	for _, t := range toks {
		at[t.Position] = t
	}
	for _, p := range m.phrases {
	next:
		for _, start := range toks {
			if string(start.Term) != string(p[0].Term) {
				continue
			}
			for _, w := range p[1:] {
				t := at[start.Position+w.Position-p[0].Position]
				if t == nil || string(t.Term) != string(w.Term) {
					continue next
				}
			}
			add(start)
			for _, w := range p[1:] {
				add(at[start.Position+w.Position-p[0].Position])
			}
		}
	}
	return tlm
}

// fragment returns the best fragment of text as HTML, the matches marked,
// and whether anything matched.
func (m *marker) fragment(field, text string) (string, bool) {
	tlm := m.locations(text)
	doc := document.NewDocument("")
	doc.AddField(document.NewTextField(field, nil, []byte(text)))
	dm := &search.DocumentMatch{Locations: search.FieldTermLocationMap{field: tlm}}
	return highlighter.BestFragmentInField(dm, doc, field), len(tlm) > 0
}
