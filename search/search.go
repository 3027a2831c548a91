package search

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"
	"github.com/uptrace/bun"

	"agora/models"
)

// DefaultPerPage is the page size when Options.PerPage is not set.
const DefaultPerPage = 20

// Options says who searches and which page they want (from 1; the zero value is the first).
type Options struct {
	Staff          bool // may include removed and hidden posts
	IncludeRemoved bool // staff asked for them
	Page, PerPage  int
	// Texts loads the hits' texts for their snippets (nil: no snippets).
	Texts TextSource
}

// Text is what a hit's snippet is cut from: the post's plain text, and its
// topic's title when the post is the first.
type Text struct{ Title, Body string }

// TextSource loads the texts of posts by id; a missing post has none.
type TextSource func(ctx context.Context, postIDs []int64) (map[int64]Text, error)

// DBTexts reads posts' texts from the database, as the indexer does.
func DBTexts(db bun.IDB) TextSource {
	return func(ctx context.Context, postIDs []int64) (map[int64]Text, error) {
		posts, topics, err := models.PostsWithTopics(ctx, db, postIDs)
		if err != nil {
			return nil, err
		}
		return TextsOf(posts, topics), nil
	}
}

// TextsOf is what snippets are cut from for posts already loaded with
// their topics: for a caller that needs the rows as well (see DBTexts).
func TextsOf(posts map[int64]*models.Post, topics map[int64]*models.Topic) map[int64]Text {
	out := make(map[int64]Text, len(posts))
	for id, p := range posts {
		t := Text{Body: PlainText(p.HTML)}
		if tp := topics[p.TopicID]; tp != nil && p.PostNumber == 1 {
			t.Title = tp.Title
		}
		out[id] = t
	}
	return out
}

// Hit is one matching post.
type Hit struct {
	PostID  int64
	TopicID int64
	Score   float64
	Snippet string // HTML: escaped text with <mark> around matches
	Title   string // HTML: the highlighted title when the title matched, else ""
}

// Result is a page of hits and the total.
type Result struct {
	Hits  []Hit
	Total int
	Took  time.Duration
}

// Search runs q. Visibility: guests and members see only visible posts in
// open categories; staff with IncludeRemoved see everything.
func (ix *Index) Search(ctx context.Context, q *Query, o Options) (*Result, error) {
	start := time.Now()
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	if ix.idx == nil {
		return nil, ErrNoIndex
	}
	// The zero Options is the first page of DefaultPerPage hits; a page below 1
	// would be a negative offset, which panics inside Bleve.
	page, perPage := max(1, o.Page), o.PerPage
	if perPage < 1 {
		perPage = DefaultPerPage
	}
	req := bleve.NewSearchRequestOptions(build(q, o), perPage, (page-1)*perPage, false)
	req.Fields = []string{"topic_id"}
	descending := func(key string) {
		// As strings: Bleve would otherwise guess the type from each key.
		req.SortByCustom(search.SortOrder{&search.SortField{Field: key, Desc: true, Type: search.SortFieldAsString},
			&search.SortScore{Desc: true}})
	}
	switch q.Order {
	case "latest":
		descending("created")
	case "likes":
		descending("likes")
	}
	res, err := ix.idx.SearchInContext(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	out := &Result{Total: int(res.Total)}
	ids := make([]int64, 0, len(res.Hits))
	for _, h := range res.Hits {
		id, _ := strconv.ParseInt(strings.TrimPrefix(h.ID, "p"), 10, 64)
		hit := Hit{PostID: id, Score: h.Score}
		if v, ok := h.Fields["topic_id"].(float64); ok {
			hit.TopicID = int64(v)
		}
		out.Hits = append(out.Hits, hit)
		ids = append(ids, id)
	}
	if o.Texts != nil && len(ids) > 0 {
		texts, err := o.Texts(ctx, ids)
		if err != nil {
			return nil, fmt.Errorf("load texts for snippets: %w", err)
		}
		titleMarks := newMarker(q)
		bodyMarks := titleMarks
		if q.TitleOnly {
			bodyMarks = &marker{} // the body did not match
		}
		for i := range out.Hits {
			h, t := &out.Hits[i], texts[out.Hits[i].PostID]
			h.Snippet, _ = bodyMarks.fragment("body", t.Body)
			if t.Title != "" {
				if f, matched := titleMarks.fragment("title", t.Title); matched {
					h.Title = f
				}
			}
		}
	}
	out.Took = time.Since(start)
	return out, nil
}

// A word in the title counts about three times a word in the body; one in
// a best answer about twice.
const (
	titleBoost  = 3
	answerBoost = 2
)

// build turns a parsed query into a Bleve query. Every word and phrase must
// match "text" (title or body); matches in the title and best answers add
// to the score as optional clauses.
func build(q *Query, o Options) query.Query {
	match := func(field, text string, phrase bool, boost float64) query.Query {
		if phrase {
			m := bleve.NewMatchPhraseQuery(text)
			m.SetField(field)
			m.SetBoost(boost)
			return m
		}
		// A word is usually one term: a term query skips the disjunction a
		// match query wraps around its terms, which costs on every posting.
		if toks := analyzer.Analyze([]byte(text)); len(toks) == 1 {
			t := bleve.NewTermQuery(string(toks[0].Term))
			t.SetField(field)
			t.SetBoost(boost)
			return t
		}
		m := bleve.NewMatchQuery(text)
		m.SetField(field)
		m.SetBoost(boost)
		return m
	}
	bq := bleve.NewBooleanQuery()
	field := "text"
	if q.TitleOnly {
		field = "title"
	}
	// The bonus fields hold few posts, so the optional clauses seldom have
	// to move along with the matches, unlike one on all best answers.
	for _, t := range q.Terms {
		bq.AddMust(match(field, t, false, 1))
		if !q.TitleOnly {
			bq.AddShould(match("title", t, false, titleBoost), match("answer", t, false, answerBoost))
		}
	}
	for _, p := range q.Phrases {
		bq.AddMust(match(field, p, true, 1))
		if !q.TitleOnly { // "answer" keeps no positions: its words count
			bq.AddShould(match("title", p, true, titleBoost), match("answer", p, false, answerBoost))
		}
	}
	term := func(field, v string) query.Query {
		t := bleve.NewTermQuery(v)
		t.SetField(field)
		return t
	}
	boolQ := func(field string, v bool) query.Query {
		b := bleve.NewBoolFieldQuery(v)
		b.SetField(field)
		return b
	}
	if q.Author != "" {
		bq.AddMust(term("author", q.Author))
	}
	if q.Category != "" {
		bq.AddMust(term("category", q.Category))
	}
	if q.Solved != nil {
		bq.AddMust(boolQ("solved", *q.Solved))
	}
	if !q.Before.IsZero() || !q.After.IsZero() {
		day := func(t time.Time) string {
			if t.IsZero() {
				return "" // open
			}
			return t.UTC().Format(time.DateOnly)
		}
		d := bleve.NewTermRangeQuery(day(q.After), day(q.Before)) // from After, before Before
		d.SetField("day")
		if q.HasText() {
			// As a filter, the range neither scores nor walks a disjunction
			// of its days for every match: Bleve merges them into one.
			bq.AddFilter(d)
		} else {
			bq.AddMust(d)
		}
	}
	if !(o.Staff && o.IncludeRemoved) {
		bq.AddMustNot(notForMembers())
	}
	for _, x := range q.Excluded {
		bq.AddMustNot(match("text", x, strings.Contains(x, " "), 1))
	}
	return bq
}

// notForMembers matches what guests and members must not see: the few
// hidden, removed and archived posts. Excluding them is far cheaper than
// requiring the rest, a posting list as long as the whole index.
func notForMembers() query.Query {
	q := bleve.NewBoolFieldQuery(true)
	q.SetField("hidden")
	return q
}

// SimilarTopics returns the ids of up to n visible topics whose titles share
// words with title (stemmed), best match first: the new-topic suggestions.
func (ix *Index) SimilarTopics(ctx context.Context, title string, n int) ([]int64, error) {
	words := cleanWords(title)
	if len(words) == 0 {
		return nil, nil
	}
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	if ix.idx == nil {
		return nil, ErrNoIndex
	}
	m := bleve.NewMatchQuery(strings.Join(words, " "))
	m.SetField("title") // the match query ORs the words by default
	bq := bleve.NewBooleanQuery()
	bq.AddMust(m)
	bq.AddMustNot(notForMembers())
	req := bleve.NewSearchRequestOptions(bq, n, 0, false)
	req.Fields = []string{"topic_id"}
	res, err := ix.idx.SearchInContext(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("similar topics: %w", err)
	}
	ids := make([]int64, 0, len(res.Hits))
	for _, h := range res.Hits {
		if v, ok := h.Fields["topic_id"].(float64); ok {
			ids = append(ids, int64(v))
		}
	}
	return ids, nil
}
