package search

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// MaxQueryLength bounds a query in characters.
const MaxQueryLength = 500

// QueryError is a query the parser cannot use; its message says why.
type QueryError struct{ Reason string }

func (e *QueryError) Error() string { return e.Reason }

// Query is a parsed search: terms and phrases to match, exclusions and filters.
type Query struct {
	Terms     []string // plain words
	Phrases   []string // "quoted phrases"
	Excluded  []string // -word or -"phrase"
	TitleOnly bool     // in:title
	Author    string   // @username, lower case
	Category  string   // #category-slug
	Solved    *bool    // status:solved / status:unsolved
	Before    time.Time
	After     time.Time
	Order     string // relevance (default), latest, likes
}

// HasText reports whether the query matches words (not only filters).
func (q *Query) HasText() bool { return len(q.Terms)+len(q.Phrases) > 0 }

func (q *Query) hasFilter() bool {
	return q.Author != "" || q.Category != "" || q.Solved != nil || !q.Before.IsZero() || !q.After.IsZero()
}

// Parse reads the query syntax documented in README.md. Errors are *QueryError.
func Parse(s string) (*Query, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return nil, &QueryError{"enter something to search for"}
	case utf8.RuneCountInString(s) > MaxQueryLength:
		return nil, &QueryError{fmt.Sprintf("the query is too long; use at most %d characters", MaxQueryLength)}
	case strings.Count(s, `"`)%2 == 1:
		return nil, errOpenQuote
	}
	toks, err := tokenize(s)
	if err != nil {
		return nil, err
	}
	q := &Query{Order: "relevance"}
	for _, tok := range toks {
		if err := q.add(tok); err != nil {
			return nil, err
		}
	}
	if !q.HasText() && !q.hasFilter() {
		if len(q.Excluded) > 0 {
			return nil, &QueryError{"add a word to search for: a query of only exclusions matches everything"}
		}
		return nil, &QueryError{"enter a word to search for; wildcards and punctuation alone are not searchable"}
	}
	if !q.Before.IsZero() && !q.After.IsZero() && !q.After.Before(q.Before) {
		return nil, &QueryError{"after: must be earlier than before:"}
	}
	return q, nil
}

var errOpenQuote = &QueryError{"a quotation mark is not closed"}

// token is one piece of the query: a word or a phrase, maybe negated.
type token struct {
	text   string
	phrase bool
	neg    bool
}

func tokenize(s string) ([]token, error) {
	var out []token
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if unicode.IsSpace(r) {
			i += size
			continue
		}
		neg := false
		if r == '-' && i+1 < len(s) && !unicode.IsSpace(rune(s[i+1])) {
			neg = true
			i++
		}
		if i < len(s) && s[i] == '"' {
			// Parse counted the quotes, but a word may hold one (say a"b), so
			// this phrase's closing quote can still be missing.
			end := strings.IndexByte(s[i+1:], '"')
			if end < 0 {
				return nil, errOpenQuote
			}
			out = append(out, token{text: s[i+1 : i+1+end], phrase: true, neg: neg})
			i += end + 2
			continue
		}
		end := strings.IndexFunc(s[i:], unicode.IsSpace)
		if end < 0 {
			end = len(s) - i
		}
		// An operator's value may be quoted: in:title stays one token, #"x" is not supported.
		out = append(out, token{text: s[i : i+end], neg: neg})
		i += end
	}
	return out, nil
}

var errBadDate = errors.New("bad date")

func parseDate(v string) (time.Time, error) {
	t, err := time.Parse("2006-01-02", v)
	if err != nil {
		return time.Time{}, errBadDate
	}
	return t, nil
}

func (q *Query) add(t token) error {
	if t.phrase {
		words := cleanWords(t.text)
		switch {
		case len(words) == 0:
		case t.neg:
			q.Excluded = append(q.Excluded, strings.Join(words, " "))
		case len(words) == 1:
			q.Terms = append(q.Terms, words[0])
		default:
			q.Phrases = append(q.Phrases, strings.Join(words, " "))
		}
		return nil
	}
	text := t.text
	switch {
	case strings.HasPrefix(text, "@") && len(text) > 1 && !t.neg:
		q.Author = strings.ToLower(text[1:])
		return nil
	case strings.HasPrefix(text, "#") && len(text) > 1 && !t.neg:
		q.Category = strings.ToLower(text[1:])
		return nil
	}
	if op, val, ok := strings.Cut(text, ":"); ok && op != "" && isOperatorName(op) && !t.neg {
		return q.operator(strings.ToLower(op), val)
	}
	for _, w := range cleanWords(text) {
		if t.neg {
			q.Excluded = append(q.Excluded, w)
		} else {
			q.Terms = append(q.Terms, w)
		}
	}
	return nil
}

// isOperatorName: letters only, so "10:30" or "http://x" are plain text.
func isOperatorName(s string) bool {
	for _, r := range s {
		if !unicode.IsLetter(r) {
			return false
		}
	}
	return true
}

func (q *Query) operator(op, val string) error {
	switch op {
	case "in":
		if strings.ToLower(val) != "title" {
			return &QueryError{"in: takes only title (in:title)"}
		}
		q.TitleOnly = true
	case "status":
		switch strings.ToLower(val) {
		case "solved":
			v := true
			q.Solved = &v
		case "unsolved":
			v := false
			q.Solved = &v
		default:
			return &QueryError{"status: takes solved or unsolved"}
		}
	case "before", "after":
		d, err := parseDate(val)
		if err != nil {
			return &QueryError{fmt.Sprintf("%s: needs a date like 2026-01-31, not %q", op, val)}
		}
		if op == "before" {
			q.Before = d
		} else {
			q.After = d.Add(24 * time.Hour) // after a day means from the next day on
		}
	case "order":
		switch v := strings.ToLower(val); v {
		case "latest", "relevance", "likes":
			q.Order = v
		default:
			return &QueryError{"order: takes latest, relevance or likes"}
		}
	case "http", "https", "mailto":
		for _, w := range cleanWords(op + ":" + val) {
			q.Terms = append(q.Terms, w)
		}
	default:
		// Only looks like an operator: a URL of any scheme (ftp://…) or a word
		// ending in a colon, as in a pasted "Error: ECONNREFUSED", is text.
		if val == "" || strings.HasPrefix(val, "//") {
			q.Terms = append(q.Terms, cleanWords(op+":"+val)...)
			return nil
		}
		return &QueryError{fmt.Sprintf("unknown operator %s: (use in:title, @user, #category, status:, before:, after:, order:)", op)}
	}
	return nil
}

// cleanWords splits text into searchable words, dropping wildcards and punctuation.
func cleanWords(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '_'
	})
}
