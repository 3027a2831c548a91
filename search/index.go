// Package search keeps a Bleve full-text index of posts, fed from the
// database's search_outbox, and answers queries with ranked, highlighted
// hits. The index is a derived copy: it can always be rebuilt from the
// database. No Bleve type leaves this package.
package search

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/keyword"
	"github.com/blevesearch/bleve/v2/analysis/lang/en"
	"github.com/blevesearch/bleve/v2/mapping"
	"github.com/blevesearch/bleve/v2/search/highlight/highlighter/html"
	"github.com/blevesearch/bleve/v2/search/query"
)

// Post states in the index: members see only visible posts.
const (
	StateVisible = "visible"
	StateHidden  = "hidden"  // hidden pending review
	StateRemoved = "removed" // removed by a moderator, or its topic was
)

// cursorKey stores, inside the index, the id of the last outbox row applied,
// written in the same batch as the documents it covers.
var cursorKey = []byte("outbox_cursor")

// Index is an open search index that can be swapped for a rebuilt one while serving.
type Index struct {
	dir string // AGORA_SEARCH_DIR; holds generation folders and the "current" link

	mu  sync.RWMutex
	idx bleve.Index
	gen string // the generation folder in use

	// version counts the changes this process made or saw to what searches
	// return (batches applied, generations swapped in): a result computed
	// at one version is exactly what a search at that version returns.
	version atomic.Int64
}

// Version changes whenever search results may change (see Index.version).
func (ix *Index) Version() int64 { return ix.version.Load() }

// Doc is what gets indexed for one post.
type Doc struct {
	PostID    int64
	TopicID   int64
	Title     string // only on a topic's first post
	Body      string // plain text
	Author    string // username
	Category  string // slug
	CreatedAt time.Time
	First     bool
	Solution  bool // the topic's best answer
	Solved    bool // the topic has a best answer
	Likes     int
	State     string
	Archived  bool // its category is archived
}

func docID(postID int64) string { return "p" + strconv.FormatInt(postID, 10) }

func (d *Doc) fields() map[string]any {
	m := map[string]any{
		"body": d.Body, "topic_id": float64(d.TopicID), "author": strings.ToLower(d.Author), "category": d.Category,
		"created_at": d.CreatedAt, "first": d.First, "solution": d.Solution, "solved": d.Solved,
		"likes": float64(d.Likes), "state": d.State, "archived": d.Archived,
	}
	if d.Title != "" {
		m["title"] = d.Title
	}
	return m
}

// newMapping: English analysis (stemming) for title and body, which are
// stored with term vectors for highlighting; everything else is indexed only.
func newMapping() mapping.IndexMapping {
	text := func(store bool) *mapping.FieldMapping {
		f := bleve.NewTextFieldMapping()
		f.Analyzer = en.AnalyzerName
		f.Store = store
		f.IncludeTermVectors = store
		f.IncludeInAll = false
		return f
	}
	kw := func() *mapping.FieldMapping {
		f := bleve.NewKeywordFieldMapping()
		f.Analyzer = keyword.Name
		f.Store = false
		f.IncludeInAll = false
		f.DocValues = false
		return f
	}
	num := func(store, docValues bool) *mapping.FieldMapping {
		f := bleve.NewNumericFieldMapping()
		f.Store = store
		f.IncludeInAll = false
		f.DocValues = docValues
		return f
	}
	boolean := func() *mapping.FieldMapping {
		f := bleve.NewBooleanFieldMapping()
		f.Store = false
		f.IncludeInAll = false
		f.DocValues = false
		return f
	}
	date := bleve.NewDateTimeFieldMapping()
	date.Store = false
	date.IncludeInAll = false
	date.DocValues = true // sort by date

	doc := bleve.NewDocumentStaticMapping()
	doc.AddFieldMappingsAt("title", text(true))
	doc.AddFieldMappingsAt("body", text(true))
	doc.AddFieldMappingsAt("topic_id", num(true, false)) // results need it
	doc.AddFieldMappingsAt("author", kw())
	doc.AddFieldMappingsAt("category", kw())
	doc.AddFieldMappingsAt("state", kw())
	doc.AddFieldMappingsAt("created_at", date)
	doc.AddFieldMappingsAt("likes", num(false, true))
	doc.AddFieldMappingsAt("first", boolean())
	doc.AddFieldMappingsAt("solution", boolean())
	doc.AddFieldMappingsAt("solved", boolean())
	doc.AddFieldMappingsAt("archived", boolean())

	m := bleve.NewIndexMapping()
	m.DefaultMapping = doc
	m.DefaultAnalyzer = en.AnalyzerName
	m.StoreDynamic = false
	m.IndexDynamic = false
	m.DocValuesDynamic = false
	return m
}

// ErrNoIndex: there is no usable index in the directory; rebuild it.
var ErrNoIndex = errors.New("no usable search index")

// Open opens the index generation that dir/current points to. A missing or
// unreadable index is ErrNoIndex (wrapped with the cause).
func Open(dir string) (*Index, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("create search dir: %w", err)
	}
	ix := &Index{dir: dir}
	gen, err := os.Readlink(filepath.Join(dir, "current"))
	if err != nil {
		return ix, fmt.Errorf("%w: %v", ErrNoIndex, err)
	}
	b, err := openGeneration(dir, gen)
	if err != nil {
		return ix, fmt.Errorf("%w: %v", ErrNoIndex, err)
	}
	ix.idx, ix.gen = b, gen
	return ix, nil
}

// openTimeout bounds the wait for a generation's lock. Bleve's store admits
// one open handle at a time (a file lock), so without it a second opener,
// such as agora reindex while the server runs, would wait forever. A
// reindexer that times out builds the new generation without the old one.
const openTimeout = time.Second

func openGeneration(dir, gen string) (bleve.Index, error) {
	return bleve.OpenUsing(filepath.Join(dir, gen), map[string]any{"bolt_timeout": openTimeout.String()})
}

// Ready reports whether an index is open.
func (ix *Index) Ready() bool {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.idx != nil
}

// newGeneration creates an empty index in a fresh folder under dir.
func newGeneration(dir string) (bleve.Index, string, error) {
	gen := "gen-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	b, err := bleve.New(filepath.Join(dir, gen), newMapping())
	if err != nil {
		return nil, "", fmt.Errorf("create search index: %w", err)
	}
	return b, gen, nil
}

// swap makes gen the current generation, atomically on disk (a renamed
// symlink) and in memory, then closes and deletes the old one.
func (ix *Index) swap(b bleve.Index, gen string) error {
	tmp := filepath.Join(ix.dir, "current.tmp")
	os.Remove(tmp)
	if err := os.Symlink(gen, tmp); err != nil {
		return fmt.Errorf("link new index: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(ix.dir, "current")); err != nil {
		return fmt.Errorf("swap in new index: %w", err)
	}
	ix.mu.Lock()
	old, oldGen := ix.idx, ix.gen
	ix.idx, ix.gen = b, gen
	ix.version.Add(1)
	ix.mu.Unlock()
	if old != nil {
		old.Close()
		os.RemoveAll(filepath.Join(ix.dir, oldGen))
	}
	return nil
}

// reloadIfSwapped reopens the index when another process (agora reindex)
// pointed dir/current at a new generation.
func (ix *Index) reloadIfSwapped() (bool, error) {
	gen, err := os.Readlink(filepath.Join(ix.dir, "current"))
	ix.mu.RLock()
	same := err != nil || gen == ix.gen
	ix.mu.RUnlock()
	if same {
		return false, nil
	}
	b, err := openGeneration(ix.dir, gen)
	if err != nil {
		return false, fmt.Errorf("open swapped index %s: %w", gen, err)
	}
	ix.mu.Lock()
	old, oldGen := ix.idx, ix.gen
	ix.idx, ix.gen = b, gen
	ix.version.Add(1)
	ix.mu.Unlock()
	if old != nil {
		// The reindexer could not open (so does not delete) the generation
		// this process held: it goes now that nothing uses it.
		old.Close()
		os.RemoveAll(filepath.Join(ix.dir, oldGen))
	}
	return true, nil
}

// Close closes the index.
func (ix *Index) Close() error {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if ix.idx == nil {
		return nil
	}
	err := ix.idx.Close()
	ix.idx = nil
	return err
}

// Cursor returns the id of the last outbox row applied to the index.
func (ix *Index) Cursor() (int64, error) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	if ix.idx == nil {
		return 0, ErrNoIndex
	}
	return cursorOf(ix.idx)
}

func cursorOf(b bleve.Index) (int64, error) {
	v, err := b.GetInternal(cursorKey)
	if err != nil {
		return 0, fmt.Errorf("read search cursor: %w", err)
	}
	if len(v) != 8 {
		return 0, nil
	}
	return int64(binary.BigEndian.Uint64(v)), nil
}

// noCursor leaves the cursor as it is.
const noCursor = -1

// write applies upserts and deletes and moves the cursor (unless noCursor), in one batch.
func write(b bleve.Index, docs []*Doc, deletes []int64, cursor int64) error {
	batch := b.NewBatch()
	for _, d := range docs {
		if err := batch.Index(docID(d.PostID), d.fields()); err != nil {
			return fmt.Errorf("index post %d: %w", d.PostID, err)
		}
	}
	for _, id := range deletes {
		batch.Delete(docID(id))
	}
	if cursor != noCursor {
		v := make([]byte, 8)
		binary.BigEndian.PutUint64(v, uint64(cursor))
		batch.SetInternal(cursorKey, v)
	}
	if err := b.Batch(batch); err != nil {
		return fmt.Errorf("write search batch: %w", err)
	}
	return nil
}

// Apply writes docs and deletes to the open index and records cursor.
func (ix *Index) Apply(docs []*Doc, deletes []int64, cursor int64) error {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	if ix.idx == nil {
		return ErrNoIndex
	}
	// Bumped once the batch is visible: a cache that reads the version
	// before searching then never files older results under a newer version.
	err := write(ix.idx, docs, deletes, cursor)
	ix.version.Add(1)
	return err
}

// DefaultPerPage is the page size when Options.PerPage is not set.
const DefaultPerPage = 20

// Options says who searches and which page they want (from 1; the zero value is the first).
type Options struct {
	Staff          bool // may include removed and hidden posts
	IncludeRemoved bool // staff asked for them
	Page, PerPage  int
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
	req.Highlight = bleve.NewHighlightWithStyle(html.Name)
	req.Highlight.AddField("body")
	req.Highlight.AddField("title")
	req.Fields = []string{"topic_id"}
	switch q.Order {
	case "latest":
		req.SortBy([]string{"-created_at", "-_score"})
	case "likes":
		req.SortBy([]string{"-likes", "-_score"})
	}
	res, err := ix.idx.SearchInContext(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	out := &Result{Total: int(res.Total), Took: res.Took}
	for _, h := range res.Hits {
		id, _ := strconv.ParseInt(strings.TrimPrefix(h.ID, "p"), 10, 64)
		hit := Hit{PostID: id, Score: h.Score}
		if v, ok := h.Fields["topic_id"].(float64); ok {
			hit.TopicID = int64(v)
		}
		if f := h.Fragments["body"]; len(f) > 0 {
			hit.Snippet = f[0]
		}
		// A first post always has a title fragment; keep it only when the title matched.
		if f := h.Fragments["title"]; len(f) > 0 && strings.Contains(f[0], "<mark>") {
			hit.Title = f[0]
		}
		out.Hits = append(out.Hits, hit)
	}
	return out, nil
}

// build turns a parsed query into a Bleve query. Title matches weigh three
// times body matches; best answers get a boost.
func build(q *Query, o Options) query.Query {
	must := []query.Query{}
	textField := func(field, text string, phrase bool, boost float64) query.Query {
		if phrase {
			m := bleve.NewMatchPhraseQuery(text)
			m.SetField(field)
			m.SetBoost(boost)
			return m
		}
		m := bleve.NewMatchQuery(text)
		m.SetField(field)
		m.SetBoost(boost)
		return m
	}
	either := func(text string, phrase bool) query.Query {
		if q.TitleOnly {
			return textField("title", text, phrase, 1)
		}
		return bleve.NewDisjunctionQuery(textField("title", text, phrase, 3), textField("body", text, phrase, 1))
	}
	for _, t := range q.Terms {
		must = append(must, either(t, false))
	}
	for _, p := range q.Phrases {
		must = append(must, either(p, true))
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
		must = append(must, term("author", q.Author))
	}
	if q.Category != "" {
		must = append(must, term("category", q.Category))
	}
	if q.Solved != nil {
		must = append(must, boolQ("solved", *q.Solved))
	}
	if !q.Before.IsZero() || !q.After.IsZero() {
		d := bleve.NewDateRangeQuery(q.After, q.Before)
		d.SetField("created_at")
		must = append(must, d)
	}
	if len(q.Terms)+len(q.Phrases) == 0 {
		must = append(must, bleve.NewMatchAllQuery())
	}
	bq := bleve.NewBooleanQuery()
	bq.AddMust(must...)
	if !(o.Staff && o.IncludeRemoved) {
		bq.AddMustNot(notForMembers()...)
	}
	for _, x := range q.Excluded {
		phrase := strings.Contains(x, " ")
		bq.AddMustNot(textField("title", x, phrase, 1), textField("body", x, phrase, 1))
	}
	if q.HasText() {
		sol := bleve.NewBoolFieldQuery(true)
		sol.SetField("solution")
		sol.SetBoost(2)
		bq.AddShould(sol)
	}
	return bq
}

// notForMembers matches what guests and members must not see. Excluding the
// few hidden, removed and archived posts is far cheaper than requiring
// "visible", which would walk a posting list as long as the whole index.
func notForMembers() []query.Query {
	hidden := bleve.NewTermQuery(StateHidden)
	hidden.SetField("state")
	removed := bleve.NewTermQuery(StateRemoved)
	removed.SetField("state")
	archived := bleve.NewBoolFieldQuery(true)
	archived.SetField("archived")
	return []query.Query{hidden, removed, archived}
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
	bq.AddMustNot(notForMembers()...)
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
