package app

import (
	"sort"
	"strings"
	"unicode"
)

// stopWords are too common to tell topics apart.
var stopWords = map[string]bool{"about": true, "after": true, "again": true, "does": true, "from": true, "have": true,
	"help": true, "how": true, "into": true, "issue": true, "need": true, "should": true, "that": true, "there": true,
	"this": true, "what": true, "when": true, "where": true, "which": true, "while": true, "with": true, "would": true,
	"your": true, "can't": true, "cannot": true, "problem": true, "question": true, "using": true, "work": true, "working": true}

// similarWords picks up to three distinctive words of a draft title, longest first.
func similarWords(title string) []string {
	seen := map[string]bool{}
	var words []string
	for _, w := range strings.FieldsFunc(strings.ToLower(title), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		if len([]rune(w)) < 4 || stopWords[w] || seen[w] {
			continue
		}
		seen[w] = true
		words = append(words, w)
	}
	sort.SliceStable(words, func(i, j int) bool { return len(words[i]) > len(words[j]) })
	if len(words) > 3 {
		words = words[:3]
	}
	return words
}
