package search_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"agora/search"
)

func day(s string) time.Time {
	d, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err)
	}
	return d
}

func ptr[T any](v T) *T { return &v }

// q builds the Query a case expects: relevance order unless change says otherwise.
func q(change func(*search.Query)) *search.Query {
	out := &search.Query{Order: "relevance"}
	change(out)
	return out
}

func TestParse(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		in   string
		want *search.Query
	}{
		{"words", "webhook retries", q(func(q *search.Query) { q.Terms = []string{"webhook", "retries"} })},
		{"words are lower-cased", "Webhook RETRIES", q(func(q *search.Query) { q.Terms = []string{"webhook", "retries"} })},
		{"surrounding space is ignored", "  \twebhook   retries \n", q(func(q *search.Query) { q.Terms = []string{"webhook", "retries"} })},
		{"quoted phrase", `"rate limit" exceeded`, q(func(q *search.Query) {
			q.Phrases = []string{"rate limit"}
			q.Terms = []string{"exceeded"}
		})},
		{"phrase punctuation is dropped", `"Rate-limit, exceeded!"`, q(func(q *search.Query) { q.Phrases = []string{"rate limit exceeded"} })},
		{"one-word phrase is a word", `"timeout"`, q(func(q *search.Query) { q.Terms = []string{"timeout"} })},
		{"excluded word", "webhook -spam", q(func(q *search.Query) {
			q.Terms = []string{"webhook"}
			q.Excluded = []string{"spam"}
		})},
		{"excluded phrase", `webhook -"rate limit"`, q(func(q *search.Query) {
			q.Terms = []string{"webhook"}
			q.Excluded = []string{"rate limit"}
		})},
		{"dash inside a word is not an exclusion", "e-mail", q(func(q *search.Query) { q.Terms = []string{"e", "mail"} })},
		{"lone dash is not an exclusion", "a - b", q(func(q *search.Query) { q.Terms = []string{"a", "b"} })},
		{"in:title", "in:title webhook", q(func(q *search.Query) {
			q.TitleOnly = true
			q.Terms = []string{"webhook"}
		})},
		{"operators ignore case", "IN:Title Status:SOLVED ORDER:Latest webhook", q(func(q *search.Query) {
			q.TitleOnly = true
			q.Solved = ptr(true)
			q.Order = "latest"
			q.Terms = []string{"webhook"}
		})},
		{"author", "@Alice webhook", q(func(q *search.Query) {
			q.Author = "alice"
			q.Terms = []string{"webhook"}
		})},
		{"category", "#Billing-Help invoices", q(func(q *search.Query) {
			q.Category = "billing-help"
			q.Terms = []string{"invoices"}
		})},
		{"status solved", "status:solved export", q(func(q *search.Query) {
			q.Solved = ptr(true)
			q.Terms = []string{"export"}
		})},
		{"status unsolved", "export status:unsolved", q(func(q *search.Query) {
			q.Solved = ptr(false)
			q.Terms = []string{"export"}
		})},
		{"before", "before:2026-03-01 export", q(func(q *search.Query) {
			q.Before = day("2026-03-01")
			q.Terms = []string{"export"}
		})},
		{"after means from the next day", "after:2026-01-31 export", q(func(q *search.Query) {
			q.After = day("2026-02-01")
			q.Terms = []string{"export"}
		})},
		{"after and before", "after:2026-01-31 before:2026-03-01 export", q(func(q *search.Query) {
			q.After = day("2026-02-01")
			q.Before = day("2026-03-01")
			q.Terms = []string{"export"}
		})},
		{"order latest", "export order:latest", q(func(q *search.Query) {
			q.Order = "latest"
			q.Terms = []string{"export"}
		})},
		{"order relevance", "export order:relevance", q(func(q *search.Query) { q.Terms = []string{"export"} })},
		{"order likes", "export order:likes", q(func(q *search.Query) {
			q.Order = "likes"
			q.Terms = []string{"export"}
		})},
		{"filters alone", "@alice #billing", q(func(q *search.Query) {
			q.Author = "alice"
			q.Category = "billing"
		})},
		{"exclusion with a filter", "@alice -spam", q(func(q *search.Query) {
			q.Author = "alice"
			q.Excluded = []string{"spam"}
		})},
		{"everything at once", `in:title "rate limit" webhook -spam -"old docs" @bob #api status:unsolved after:2026-01-01 before:2026-02-01 order:likes`, q(func(q *search.Query) {
			q.TitleOnly = true
			q.Phrases = []string{"rate limit"}
			q.Terms = []string{"webhook"}
			q.Excluded = []string{"spam", "old docs"}
			q.Author = "bob"
			q.Category = "api"
			q.Solved = ptr(false)
			q.After = day("2026-01-02")
			q.Before = day("2026-02-01")
			q.Order = "likes"
		})},
		{"http URL is text", "http://x.com", q(func(q *search.Query) { q.Terms = []string{"http", "x", "com"} })},
		{"https URL is text", "see https://example.com/docs/webhooks", q(func(q *search.Query) {
			q.Terms = []string{"see", "https", "example", "com", "docs", "webhooks"}
		})},
		{"any URL scheme is text", "ftp://files.example.com", q(func(q *search.Query) { q.Terms = []string{"ftp", "files", "example", "com"} })},
		{"time is text", "standup at 10:30", q(func(q *search.Query) { q.Terms = []string{"standup", "at", "10", "30"} })},
		{"a word ending in a colon is text", "Error: ECONNREFUSED", q(func(q *search.Query) { q.Terms = []string{"error", "econnrefused"} })},
		{"wildcards are dropped from words", "config* ?ation", q(func(q *search.Query) { q.Terms = []string{"config", "ation"} })},
		{"exactly the longest query", strings.Repeat("a", search.MaxQueryLength), q(func(q *search.Query) {
			q.Terms = []string{strings.Repeat("a", search.MaxQueryLength)}
		})},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := search.Parse(tc.in)
			if err != nil {
				t.Fatalf("Parse(%q) error: %v", tc.in, err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Parse(%q)\n got %s\nwant %s", tc.in, show(got), show(tc.want))
			}
		})
	}
}

// show prints a Query readably, with the Solved pointer dereferenced.
func show(q *search.Query) string {
	solved := "nil"
	if q.Solved != nil {
		solved = map[bool]string{true: "true", false: "false"}[*q.Solved]
	}
	return "terms=" + strings.Join(q.Terms, "|") + " phrases=" + strings.Join(q.Phrases, "|") +
		" excluded=" + strings.Join(q.Excluded, "|") + " title_only=" + map[bool]string{true: "true", false: "false"}[q.TitleOnly] +
		" author=" + q.Author + " category=" + q.Category + " solved=" + solved +
		" before=" + q.Before.Format(time.RFC3339) + " after=" + q.After.Format(time.RFC3339) + " order=" + q.Order
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		in     string
		reason string // the QueryError's reason contains this
	}{
		{"empty", "", "enter something to search for"},
		{"whitespace", " \t\n  ", "enter something to search for"},
		{"one character too long", strings.Repeat("a", search.MaxQueryLength+1), "too long"},
		{"2,000 characters", strings.Repeat("webhook ", 250), "too long"},
		{"2,000 multibyte characters", strings.Repeat("é", 2000), "too long"},
		{"unbalanced quote", `"rate limit exceeded`, "quotation mark is not closed"},
		{"unbalanced quote after a phrase", `"rate limit" "exceeded`, "quotation mark is not closed"},
		{"quote in a word, then an open phrase", `a"b "c`, "quotation mark is not closed"},
		{"negated open phrase", `x"y -"z`, "quotation mark is not closed"},
		{"unknown operator", "foo:bar", "unknown operator foo:"},
		{"unknown operator among words", "webhook lang:go", "unknown operator lang:"},
		{"month 13", "before:2026-13-45 export", `before: needs a date like 2026-01-31, not "2026-13-45"`},
		{"February 30", "before:2026-02-30 export", "before: needs a date"},
		{"word for a date", "after:yesterday export", `after: needs a date like 2026-01-31, not "yesterday"`},
		{"date in another format", "after:31/01/2026 export", "after: needs a date"},
		{"empty date", "after: export", "after: needs a date"},
		{"after not before before", "after:2026-03-01 before:2026-03-01 export", "after: must be earlier than before:"},
		{"bad status", "status:open export", "status: takes solved or unsolved"},
		{"bad order", "order:oldest export", "order: takes latest, relevance or likes"},
		{"bad in", "in:body export", "in: takes only title"},
		{"star only", "*", "wildcards and punctuation alone"},
		{"wildcards only", "?*", "wildcards and punctuation alone"},
		{"punctuation only", "*** ?? !", "wildcards and punctuation alone"},
		{"empty phrase", `""`, "wildcards and punctuation alone"},
		{"exclusion only", "-spam", "only exclusions"},
		{"excluded phrase only", `-"rate limit" -spam`, "only exclusions"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := search.Parse(tc.in)
			var qe *search.QueryError
			if !errors.As(err, &qe) {
				t.Fatalf("Parse(%q) = %+v, %v; want a *QueryError", tc.in, got, err)
			}
			if !strings.Contains(qe.Reason, tc.reason) || qe.Error() != qe.Reason {
				t.Errorf("Parse(%q) reason %q, want it to contain %q", tc.in, qe.Reason, tc.reason)
			}
		})
	}
}

// FuzzParse: for any input, Parse does not panic; it returns a *QueryError
// with a reason, or a query that is usable (text or a filter, after before
// before), valid UTF-8, whose words are lower-case letters, digits and '_',
// with at most 3 bytes of text per input byte, and that format writes back
// as a query parsing to the same thing.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"webhook retries", `"rate limit" -"spam bot" -ads exceeded`, "in:title @Ana #billing status:solved",
		"before:2026-02-01 after:2025-12-31 order:latest export", "https://example.com/x Error: ECONNREFUSED ftp://x",
		`a"b "c`, `""`, "-", "- -x", "@ #", "status:", "after:9999-12-31", "İstanbul ǅ ß", "a\x00b\xffc",
		strings.Repeat(`"a" `, 125), strings.Repeat("é", search.MaxQueryLength), strings.Repeat("-", 600),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := search.Parse(s)
		if err != nil {
			var qe *search.QueryError
			if !errors.As(err, &qe) || qe.Reason == "" || got != nil {
				t.Fatalf("Parse(%q) = %v, %v; want nil and a *QueryError with a reason", s, got, err)
			}
			return
		}
		if !got.HasText() && got.Author == "" && got.Category == "" && got.Solved == nil && got.Before.IsZero() && got.After.IsZero() {
			t.Fatalf("Parse(%q) = %s: matches everything", s, show(got))
		}
		if !got.Before.IsZero() && !got.After.IsZero() && !got.After.Before(got.Before) {
			t.Fatalf("Parse(%q) = %s: after is not before before", s, show(got))
		}
		size := len(got.Author) + len(got.Category)
		for _, list := range [][]string{got.Terms, got.Phrases, got.Excluded} {
			for _, text := range list {
				size += len(text)
				for _, w := range strings.Split(text, " ") {
					if !isWord(w) {
						t.Fatalf("Parse(%q) = %s: %q is not a lower-case word", s, show(got), w)
					}
				}
			}
		}
		// Lower-casing turns an invalid byte into U+FFFD (three bytes) and may
		// lengthen a letter's encoding, by less than that.
		if !utf8.ValidString(got.Author + got.Category) {
			t.Fatalf("Parse(%q) = %s: invalid UTF-8", s, show(got))
		}
		if size > 3*len(s) {
			t.Fatalf("Parse(%q) = %s: %d bytes of text from %d", s, show(got), size, len(s))
		}
		form := format(got)
		if strings.ContainsAny(got.Author+got.Category, `"`) || utf8.RuneCountInString(form) > search.MaxQueryLength {
			// @a"b is one token, but its quote would pair with another once
			// written back; and -a.b comes back longer, as -a -b.
			return
		}
		back, err := search.Parse(form)
		if err != nil || !reflect.DeepEqual(back, got) {
			t.Fatalf("Parse(%q) = %s; its form %q parses to %v, %v", s, show(got), form, back, err)
		}
	})
}

func isWord(w string) bool {
	if w == "" || strings.ToLower(w) != w {
		return false
	}
	for _, r := range w {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '_' {
			return false
		}
	}
	return true
}

// format writes q in the query syntax, one operator per field.
func format(q *search.Query) string {
	var parts []string
	parts = append(parts, q.Terms...)
	for _, p := range q.Phrases {
		parts = append(parts, `"`+p+`"`)
	}
	for _, e := range q.Excluded {
		if strings.Contains(e, " ") {
			e = `"` + e + `"`
		}
		parts = append(parts, "-"+e)
	}
	if q.TitleOnly {
		parts = append(parts, "in:title")
	}
	if q.Author != "" {
		parts = append(parts, "@"+q.Author)
	}
	if q.Category != "" {
		parts = append(parts, "#"+q.Category)
	}
	if q.Solved != nil {
		parts = append(parts, map[bool]string{true: "status:solved", false: "status:unsolved"}[*q.Solved])
	}
	if !q.Before.IsZero() {
		parts = append(parts, "before:"+q.Before.Format("2006-01-02"))
	}
	if !q.After.IsZero() {
		parts = append(parts, "after:"+q.After.Add(-24*time.Hour).Format("2006-01-02"))
	}
	if q.Order != "relevance" {
		parts = append(parts, "order:"+q.Order)
	}
	return strings.Join(parts, " ")
}
