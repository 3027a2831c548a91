// Package xsscorpus is the corpus of XSS vectors collected from public cheat
// sheets and sanitizer regression tests (testdata/vectors.txt, sources in
// testdata/README.md), parsed into records for the sanitizer's tests.
package xsscorpus

import (
	_ "embed"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

//go:embed testdata/vectors.txt
var raw string

// Vector is one record of the corpus.
type Vector struct {
	ID     string // source-N, e.g. owasp-12
	Source string
	Line   int // where the record starts in vectors.txt
	Text   string
}

func (v Vector) String() string { return fmt.Sprintf("%s (vectors.txt:%d) %q", v.ID, v.Line, v.Text) }

// codePoint is the {U+XXXX} escape of the record format.
var codePoint = regexp.MustCompile(`\{U\+([0-9A-Fa-f]{1,6})\}`)

// All parses the embedded corpus (the format is described at the top of
// vectors.txt). It fails on a malformed file rather than skip records.
func All() ([]Vector, error) { return parse(raw) }

func parse(src string) ([]Vector, error) {
	var (
		out    []Vector
		source string
		count  = map[string]int{}
		block  []string
		start  int
	)
	add := func(line int, text string) error {
		if source == "" {
			return fmt.Errorf("vectors.txt:%d: vector before any @source", line)
		}
		var bad error
		text = codePoint.ReplaceAllStringFunc(text, func(m string) string {
			n, _ := strconv.ParseUint(codePoint.FindStringSubmatch(m)[1], 16, 32)
			if n == 0 || n > 0x10FFFF {
				bad = fmt.Errorf("vectors.txt:%d: %s is not a usable code point", line, m)
			}
			return string(rune(n))
		})
		count[source]++
		out = append(out, Vector{ID: source + "-" + strconv.Itoa(count[source]), Source: source, Line: line, Text: text})
		return bad
	}
	lines := strings.Split(src, "\n")
	for i, l := range lines {
		n := i + 1
		if block != nil {
			if l == ">>>" {
				if err := add(start, strings.Join(block[1:], "\n")); err != nil {
					return nil, err
				}
				block = nil
				continue
			}
			block = append(block, l)
			continue
		}
		switch {
		case strings.TrimSpace(l) == "", l == "#", strings.HasPrefix(l, "# "):
		case strings.HasPrefix(l, "@source "):
			source = strings.TrimSpace(strings.TrimPrefix(l, "@source "))
		case l == "<<<":
			block, start = []string{""}, n
		default:
			if err := add(n, l); err != nil {
				return nil, err
			}
		}
	}
	if block != nil {
		return nil, fmt.Errorf("vectors.txt:%d: <<< never closed", start)
	}
	return out, nil
}
