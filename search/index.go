// Package search keeps a Bleve full-text index of posts, fed from the
// database's search_outbox, and answers queries with ranked, highlighted
// hits. The index is a derived copy: it can always be rebuilt from the
// database. No Bleve type leaves this package.
package search

import (
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
