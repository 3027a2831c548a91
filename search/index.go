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
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis/lang/en"
	"github.com/blevesearch/bleve/v2/mapping"
	"github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"
	"github.com/uptrace/bun"

	"agora/models"
)

// Post states: guests and members find only visible posts.
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
	// strict counts only those that must show at once: removals, hides,
	// archived categories, edits and swaps (not new posts or likes).
	version, strict atomic.Int64
}

// Version returns the index's version and its strict part (see Index.version).
func (ix *Index) Version() (full, strict int64) { return ix.version.Load(), ix.strict.Load() }

// mustShowAtOnce reports whether a batch changes what searches return in a
// way that may not wait: something leaves member results or reads differently.
func mustShowAtOnce(docs []*Doc, deletes []int64) bool {
	if len(deletes) > 0 {
		return true
	}
	for _, d := range docs {
		if d.State != StateVisible || d.Archived || d.Edited {
			return true
		}
	}
	return false
}

// Doc is what gets indexed for one post.
type Doc struct {
	PostID    int64
	TopicID   int64
	Title     string // only on a topic's first post
	Body      string // plain text
	Author    string // username
	Category  string // slug
	CreatedAt time.Time
	Solution  bool // the topic's best answer
	Solved    bool // the topic has a best answer
	Likes     int
	State     string
	Archived  bool // its category is archived
	Edited    bool // the post has been edited (it has revisions)
}

func docID(postID int64) string { return "p" + strconv.FormatInt(postID, 10) }

// fields maps a Doc onto newMapping. "text" holds the title and the body
// as two array elements, so a phrase cannot run from one into the other.
func (d *Doc) fields() map[string]any {
	m := map[string]any{
		"text": d.Body, "topic_id": float64(d.TopicID), "author": strings.ToLower(d.Author),
		"category": d.Category, "created": sortKey(d.CreatedAt.UnixMicro()), "day": d.CreatedAt.UTC().Format(time.DateOnly),
		"likes": sortKey(int64(d.Likes)), "solved": d.Solved, "hidden": d.State != StateVisible || d.Archived,
	}
	if d.Title != "" {
		m["title"] = d.Title
		m["text"] = []string{d.Title, d.Body}
	}
	if d.Solution {
		m["answer"] = d.Body
	}
	return m
}

// sortKey writes n (from 0) fixed-width, so that keys sort as numbers; the
// shorter the key, the less a sorted search decodes per match.
func sortKey(n int64) string { return fmt.Sprintf("%016d", max(0, n)) }

// mappingVersion names the layout that newMapping and Doc.fields give an
// index; change it with either. Rebuild stores it in the index, and Open
// treats an index of another layout as missing, so it is rebuilt.
const mappingVersion = "3"

var mappingKey = []byte("mapping_version")

// newMapping: posts match on "text" (title and body, English analysis with
// stemming); "title" is indexed as well for in:title and the title bonus,
// "answer" (the body of a best answer) for the best answer bonus. No text
// is stored: snippets come from the database (Options.Texts), which keeps
// the index small and its pages out of memory (a stored field is read by
// decompressing a chunk of many documents). Term vectors serve phrase queries.
// Only the sort keys keep doc values. Bleve indexes a number or a date as
// 16 terms (for ranges); keywords take one, so the sort keys are
// fixed-width strings and date filters match whole days.
func newMapping() mapping.IndexMapping {
	text := func(index, store, vectors bool) *mapping.FieldMapping {
		f := bleve.NewTextFieldMapping()
		f.Analyzer = en.AnalyzerName
		f.Index = index
		f.Store = store
		f.IncludeTermVectors = vectors
		f.IncludeInAll = false
		f.DocValues = false
		return f
	}
	kw := func(docValues bool) *mapping.FieldMapping {
		f := bleve.NewKeywordFieldMapping()
		f.Store = false
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
	topicID := bleve.NewNumericFieldMapping() // results need it; nothing searches it
	topicID.Index = false
	topicID.IncludeInAll = false
	topicID.DocValues = false

	doc := bleve.NewDocumentStaticMapping()
	doc.AddFieldMappingsAt("text", text(true, false, true))
	doc.AddFieldMappingsAt("title", text(true, false, true))
	doc.AddFieldMappingsAt("answer", text(true, false, false))
	doc.AddFieldMappingsAt("topic_id", topicID)
	doc.AddFieldMappingsAt("author", kw(false))
	doc.AddFieldMappingsAt("category", kw(false))
	doc.AddFieldMappingsAt("created", kw(true))
	doc.AddFieldMappingsAt("day", kw(false))
	doc.AddFieldMappingsAt("likes", kw(true))
	doc.AddFieldMappingsAt("solved", boolean())
	doc.AddFieldMappingsAt("hidden", boolean()) // from members: not visible, or archived
	doc.AddSubDocumentMapping("_all", bleve.NewDocumentDisabledMapping())

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
	if v, err := b.GetInternal(mappingKey); err != nil || string(v) != mappingVersion {
		b.Close()
		ix.gen = gen // this process had it open: the rebuild's swap deletes it
		return ix, fmt.Errorf("%w: index layout %q, this version needs %q", ErrNoIndex, v, mappingVersion)
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

// newGeneration creates an empty index in a fresh folder under dir, open
// with bulkConfig for Rebuild to fill.
func newGeneration(dir string) (bleve.Index, string, error) {
	gen := "gen-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	path := filepath.Join(dir, gen)
	b, err := bleve.New(path, newMapping())
	if err == nil {
		// Settings given at creation would be stored with the index.
		if err = b.Close(); err == nil {
			b, err = bleve.OpenUsing(path, bulkConfig)
		}
	}
	if err != nil {
		os.RemoveAll(path)
		return nil, "", fmt.Errorf("create search index: %w", err)
	}
	return b, gen, nil
}

// bulkConfig makes a new generation quick to fill: its segments do not
// merge while posts arrive (each merge rewrites them); Rebuild merges them
// all once at the end.
var bulkConfig = map[string]any{
	"scorchMergePlanOptions": map[string]any{"MaxSegmentsPerTier": math.MaxInt32, "FloorSegmentSize": 1},
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
	ix.strict.Add(1)
	ix.mu.Unlock()
	if old != nil {
		old.Close()
	}
	if oldGen != "" {
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
	ix.strict.Add(1)
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

func encodeCursor(cursor int64) []byte {
	return binary.BigEndian.AppendUint64(nil, uint64(cursor))
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
		batch.SetInternal(cursorKey, encodeCursor(cursor))
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
	if mustShowAtOnce(docs, deletes) {
		ix.strict.Add(1)
	}
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
