package search

import (
	"context"
	"fmt"
	"html"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/index/scorch/mergeplan"
	"github.com/uptrace/bun"

	"agora/models"
)

// batchSize is how many outbox rows or posts go into one index batch:
// Bleve indexes batches about ten times faster than single documents.
const batchSize = 1000

// Indexer applies the search outbox to the index, and rebuilds the index
// when it is missing. Every node runs its own; the cursor lives in the index.
type Indexer struct {
	DB    *bun.DB
	Index *Index
	Log   *slog.Logger
}

// Run rebuilds the index if there is none, then applies new outbox rows
// every interval until ctx ends.
func (x *Indexer) Run(ctx context.Context, every time.Duration) {
	ahead, err := x.aheadOfDatabase(ctx)
	if err != nil {
		x.Log.Error("compare the search cursor with the outbox", "err", err)
	}
	if ahead {
		x.Log.Warn("search index is ahead of the database (restored from a backup?): rebuilding from the database")
	}
	if !x.Index.Ready() || ahead {
		if !ahead {
			x.Log.Warn("search index missing, unreadable or of an older layout: rebuilding from the database")
		}
		start := time.Now()
		n, err := Rebuild(ctx, x.DB, x.Index, nil)
		if err != nil {
			x.Log.Error("rebuild search index", "err", err)
		} else {
			x.Log.Info("search index rebuilt", "posts", n, "took", time.Since(start).Round(time.Millisecond).String())
		}
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		if swapped, err := x.Index.reloadIfSwapped(); err != nil {
			x.Log.Error("reload search index", "err", err)
		} else if swapped {
			x.Log.Info("search index swapped for a rebuilt one")
		}
		if _, err := x.CatchUp(ctx); err != nil && ctx.Err() == nil {
			x.Log.Error("apply search outbox", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// aheadOfDatabase reports whether the index's cursor is past the last
// outbox row: the database was replaced by an older copy (a backup put
// back in place) while the index kept the writes lost with it. Outbox rows
// are never deleted, so on a live database the cursor is never past them;
// left as it is, the index would skip the new rows until their ids caught up.
func (x *Indexer) aheadOfDatabase(ctx context.Context) (bool, error) {
	if !x.Index.Ready() {
		return false, nil
	}
	cursor, err := x.Index.Cursor()
	if err != nil {
		return false, err
	}
	var last int64
	if err := x.DB.NewSelect().Model((*models.OutboxEntry)(nil)).ColumnExpr("COALESCE(MAX(id), 0)").Scan(ctx, &last); err != nil {
		return false, fmt.Errorf("read outbox position: %w", err)
	}
	return cursor > last, nil
}

// CatchUp applies every outbox row after the index's cursor, in batches, and
// returns how many rows it applied. The cursor moves in the same index batch
// as the documents, so a crash never applies a row twice or skips one; rows
// a crash left unmarked are marked processed with the next batch.
func (x *Indexer) CatchUp(ctx context.Context) (int, error) {
	applied := 0
	for {
		cursor, err := x.Index.Cursor()
		if err != nil {
			return applied, err
		}
		var rows []*models.OutboxEntry
		if err := x.DB.NewSelect().Model(&rows).Where("id > ?", cursor).Order("id").Limit(batchSize).Scan(ctx); err != nil {
			return applied, fmt.Errorf("read search outbox: %w", err)
		}
		if len(rows) == 0 {
			return applied, nil
		}
		postIDs, err := affectedPosts(ctx, x.DB, rows)
		if err != nil {
			return applied, err
		}
		docs, deletes, err := LoadDocs(ctx, x.DB, postIDs)
		if err != nil {
			return applied, err
		}
		// Every row read is applied (applying one twice is harmless), but the
		// cursor stops before a gap that may still fill: the rows after it
		// are read again next time.
		last, read := settled(cursor, rows, time.Now()), rows[len(rows)-1].ID
		if err := x.Index.Apply(docs, deletes, last); err != nil {
			return applied, err
		}
		if _, err := x.DB.NewUpdate().Model((*models.OutboxEntry)(nil)).Set("processed_at = ?", time.Now().UTC()).
			Where("id <= ?", read).Where("processed_at IS NULL").Exec(ctx); err != nil {
			return applied, fmt.Errorf("mark outbox rows processed: %w", err)
		}
		applied += len(rows)
		if last != read {
			return applied, nil
		}
	}
}

// gapWait: on PostgreSQL an outbox id is taken at insert but seen at
// commit, and transactions commit in any order. An id missing below rows
// already seen is a transaction still committing, unless the rows after
// it are gapWait old: then it rolled back and the id stays unused.
const gapWait = 30 * time.Second

// settled returns how far the cursor may move over rows (ordered by id):
// to the end of the ids that follow cursor without a recent gap.
func settled(cursor int64, rows []*models.OutboxEntry, now time.Time) int64 {
	for _, r := range rows {
		if r.ID != cursor+1 && now.Sub(r.CreatedAt) < gapWait {
			break
		}
		cursor = r.ID
	}
	return cursor
}

// affectedPosts expands outbox rows (a post, every post of a topic, every
// post of a category) to post ids.
func affectedPosts(ctx context.Context, db bun.IDB, rows []*models.OutboxEntry) ([]int64, error) {
	seen := map[int64]bool{}
	var ids, topics, cats []int64
	for _, r := range rows {
		switch r.Entity {
		case models.OutboxPost:
			if !seen[r.EntityID] {
				seen[r.EntityID] = true
				ids = append(ids, r.EntityID)
			}
		case models.OutboxTopic:
			topics = append(topics, r.EntityID)
		case models.OutboxCategory:
			cats = append(cats, r.EntityID)
		}
	}
	var more []int64
	if len(topics) > 0 {
		if err := db.NewSelect().Model((*models.Post)(nil)).Column("id").Where("topic_id IN (?)", bun.List(topics)).Scan(ctx, &more); err != nil {
			return nil, fmt.Errorf("posts of topics: %w", err)
		}
	}
	if len(cats) > 0 {
		var inCats []int64
		if err := db.NewSelect().Model((*models.Post)(nil)).Column("id").
			Where("topic_id IN (SELECT id FROM topics WHERE category_id IN (?))", bun.List(cats)).Scan(ctx, &inCats); err != nil {
			return nil, fmt.Errorf("posts of categories: %w", err)
		}
		more = append(more, inCats...)
	}
	for _, id := range more {
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	return ids, nil
}

// LoadDocs builds the documents for postIDs with one query per table; ids
// that no longer exist come back as deletes.
func LoadDocs(ctx context.Context, db bun.IDB, postIDs []int64) ([]*Doc, []int64, error) {
	var docs []*Doc
	var deletes []int64
	for start := 0; start < len(postIDs); start += batchSize {
		chunk := postIDs[start:min(len(postIDs), start+batchSize)]
		var posts []*models.Post
		if err := db.NewSelect().Model(&posts).Column(postColumns...).Where("id IN (?)", bun.List(chunk)).Scan(ctx); err != nil {
			return nil, nil, fmt.Errorf("load posts to index: %w", err)
		}
		found := map[int64]bool{}
		for _, p := range posts {
			found[p.ID] = true
		}
		for _, id := range chunk {
			if !found[id] {
				deletes = append(deletes, id)
			}
		}
		d, err := docsFor(ctx, db, posts, nil)
		if err != nil {
			return nil, nil, err
		}
		docs = append(docs, d...)
	}
	return docs, deletes, nil
}

// postColumns are the columns docsFor reads.
var postColumns = []string{"id", "topic_id", "user_id", "post_number", "html", "like_count", "revision_count", "hidden_at", "removed_at", "created_at"}

// docsFor joins posts with their topics, authors and categories in memory;
// cats may carry the categories already loaded.
func docsFor(ctx context.Context, db bun.IDB, posts []*models.Post, cats map[int64]*models.Category) ([]*Doc, error) {
	if len(posts) == 0 {
		return nil, nil
	}
	topicIDs, userIDs := make([]int64, 0, len(posts)), make([]int64, 0, len(posts))
	for _, p := range posts {
		topicIDs = append(topicIDs, p.TopicID)
		userIDs = append(userIDs, p.UserID)
	}
	var topics []*models.Topic
	if err := db.NewSelect().Model(&topics).Column("id", "category_id", "title", "solved_post_id", "removed_at").
		Where("id IN (?)", bun.List(topicIDs)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("load topics to index: %w", err)
	}
	topicByID := make(map[int64]*models.Topic, len(topics))
	for _, t := range topics {
		topicByID[t.ID] = t
	}
	var users []*models.User
	if err := db.NewSelect().Model(&users).Column("id", "username").Where("id IN (?)", bun.List(userIDs)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("load authors to index: %w", err)
	}
	names := make(map[int64]string, len(users))
	for _, u := range users {
		names[u.ID] = u.Username
	}
	if cats == nil {
		var err error
		if cats, err = categoryMap(ctx, db); err != nil {
			return nil, err
		}
	}
	docs := make([]*Doc, 0, len(posts))
	for _, p := range posts {
		t := topicByID[p.TopicID]
		if t == nil {
			continue
		}
		d := &Doc{PostID: p.ID, TopicID: t.ID, Body: PlainText(p.HTML), Author: names[p.UserID], CreatedAt: p.CreatedAt,
			Solved: t.SolvedPostID != nil, Solution: t.SolvedPostID != nil && *t.SolvedPostID == p.ID,
			Likes: p.LikeCount, State: StateVisible, Edited: p.RevisionCount > 0}
		if p.PostNumber == 1 {
			d.Title = t.Title
		}
		switch {
		case p.RemovedAt != nil || t.RemovedAt != nil:
			d.State = StateRemoved
		case p.HiddenAt != nil:
			d.State = StateHidden
		}
		if c := cats[t.CategoryID]; c != nil {
			d.Category, d.Archived = c.Slug, c.Archived
		}
		docs = append(docs, d)
	}
	return docs, nil
}

func categoryMap(ctx context.Context, db bun.IDB) (map[int64]*models.Category, error) {
	cats, err := models.ListCategories(ctx, db, true)
	if err != nil {
		return nil, err
	}
	m := make(map[int64]*models.Category, len(cats))
	for _, c := range cats {
		m[c.ID] = c
	}
	return m, nil
}

// PlainText turns sanitized post HTML into text for indexing and snippets:
// block tags become spaces, inline tags vanish (so "<strong>Web</strong>hook"
// stays one word and "<em>here</em>." keeps its full stop), entities are
// decoded. The HTML is our own sanitizer's output, so a simple scan is enough.
func PlainText(h string) string {
	var b strings.Builder
	b.Grow(len(h))
	for i := 0; i < len(h); i++ {
		c := h[i]
		if c != '<' {
			b.WriteByte(c)
			continue
		}
		end := strings.IndexByte(h[i:], '>')
		if end < 0 {
			break // an unclosed tag: drop the rest
		}
		if !inlineTag(h[i+1 : i+end]) {
			b.WriteByte(' ')
		}
		i += end
	}
	return strings.Join(strings.Fields(html.UnescapeString(b.String())), " ")
}

// inlineTags are the sanitizer's elements that sit inside a line of text.
var inlineTags = map[string]bool{"a": true, "abbr": true, "b": true, "code": true, "del": true, "em": true,
	"i": true, "ins": true, "kbd": true, "mark": true, "q": true, "s": true, "small": true, "span": true,
	"strong": true, "sub": true, "sup": true, "u": true}

// inlineTag reports whether the tag between < and > (as "/em" or "a href=…") is inline.
func inlineTag(tag string) bool {
	tag = strings.TrimPrefix(tag, "/")
	if i := strings.IndexAny(tag, " \t\n/"); i >= 0 {
		tag = tag[:i]
	}
	return inlineTags[strings.ToLower(tag)]
}

// Rebuild indexes every post into a new generation, merges it into one
// segment and swaps it in atomically; searches keep using the old index
// meanwhile. progress, when not nil, is called after each batch with posts
// done and the total.
func Rebuild(ctx context.Context, db *bun.DB, ix *Index, progress func(done, total int)) (int, error) {
	// The cursor starts before the rows of the last gapWait: their ids may
	// have gaps that still fill (see settled), so the indexer reads them again.
	var cursor int64
	if err := db.NewSelect().Model((*models.OutboxEntry)(nil)).ColumnExpr("COALESCE(MAX(id), 0)").
		Where("created_at < ?", time.Now().Add(-gapWait).UTC()).Scan(ctx, &cursor); err != nil {
		return 0, fmt.Errorf("read outbox position: %w", err)
	}
	total, err := db.NewSelect().Model((*models.Post)(nil)).Count(ctx)
	if err != nil {
		return 0, fmt.Errorf("count posts: %w", err)
	}
	cats, err := categoryMap(ctx, db)
	if err != nil {
		return 0, err
	}
	b, gen, err := newGeneration(ix.dir)
	if err != nil {
		return 0, err
	}
	fail := func(err error) (int, error) {
		b.Close()
		os.RemoveAll(filepath.Join(ix.dir, gen))
		return 0, err
	}
	done, err := load(ctx, db, b, cats, func(done int) {
		if progress != nil {
			progress(done, int(total))
		}
	})
	if err != nil {
		return fail(err)
	}
	// Rows written while we read are applied again by the indexer: harmless.
	batch := b.NewBatch()
	batch.SetInternal(cursorKey, encodeCursor(cursor))
	batch.SetInternal(mappingKey, []byte(mappingVersion))
	if err := b.Batch(batch); err != nil {
		return fail(fmt.Errorf("write search batch: %w", err))
	}
	if err := compact(ctx, b); err != nil {
		return fail(err)
	}
	// Serve from a handle that merges as usual (see bulkConfig).
	if err = b.Close(); err == nil {
		b, err = openGeneration(ix.dir, gen)
	}
	if err != nil {
		os.RemoveAll(filepath.Join(ix.dir, gen))
		return 0, fmt.Errorf("reopen new search index: %w", err)
	}
	if err := ix.swap(b, gen); err != nil {
		return fail(err)
	}
	return done, nil
}

// rebuildBatch is how many posts go into one batch of a rebuild: bigger
// segments than the indexer's mean fewer to merge.
const rebuildBatch = 5000

// load reads every post into b. One goroutine reads and prepares the next
// batches while two write: Bleve builds each batch's segment on the calling
// goroutine, so a single writer would leave a core idle.
func load(ctx context.Context, db *bun.DB, b bleve.Index, cats map[int64]*models.Category, progress func(done int)) (int, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	type chunk struct {
		docs  []*Doc
		posts int
	}
	chunks := make(chan chunk, 1)
	go func() {
		defer close(chunks)
		var lastID int64
		for {
			var posts []*models.Post
			if err := db.NewSelect().Model(&posts).Column(postColumns...).Where("id > ?", lastID).Order("id").
				Limit(rebuildBatch).Scan(ctx); err != nil {
				cancel(fmt.Errorf("read posts: %w", err))
				return
			}
			if len(posts) == 0 {
				return
			}
			lastID = posts[len(posts)-1].ID
			docs, err := docsFor(ctx, db, posts, cats)
			if err != nil {
				cancel(err)
				return
			}
			select {
			case chunks <- chunk{docs, len(posts)}:
			case <-ctx.Done():
				return
			}
		}
	}()
	var mu sync.Mutex
	done := 0
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			for c := range chunks {
				if ctx.Err() != nil {
					continue // drain: the reader stops by itself
				}
				if err := write(b, c.docs, nil, noCursor); err != nil {
					cancel(err)
					continue
				}
				mu.Lock()
				done += c.posts
				progress(done)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if ctx.Err() != nil {
		return 0, context.Cause(ctx)
	}
	return done, nil
}

// compact merges b into a single segment and waits until that is on disk,
// so that whoever opens the generation next does not merge it under load.
func compact(ctx context.Context, b bleve.Index) error {
	adv, err := b.Advanced()
	if err != nil {
		return fmt.Errorf("merge new search index: %w", err)
	}
	s, ok := adv.(*scorch.Scorch)
	if !ok {
		return fmt.Errorf("merge new search index: unexpected index type %T", adv)
	}
	// One merge of everything: the default plan merges ten segments at a time.
	opts := mergeplan.SingleSegmentMergePlanOptions
	opts.SegmentsPerMergeTask = math.MaxInt32
	for nudges := 0; ctx.Err() == nil; {
		m := s.StatsMap()
		segments := m["num_root_filesegments"].(uint64)
		switch {
		case m["CurRootEpoch"] != m["LastPersistedEpoch"] || m["num_root_memorysegments"] != uint64(0):
			// only segments on disk merge
		case segments > 1:
			if err := s.ForceMerge(ctx, &opts); err != nil {
				return fmt.Errorf("merge new search index: %w", err)
			}
			continue
		case m["num_files_on_disk"].(uint64) > segments+1 && nudges < 50: // the segments and root.bolt
			// Bleve deletes the merged-away files after it writes a later
			// snapshot, and no later process would: give it one.
			nudges++
			if err := b.SetInternal(mappingKey, []byte(mappingVersion)); err != nil {
				return fmt.Errorf("write search index: %w", err)
			}
		default:
			return nil
		}
		select {
		case <-ctx.Done():
		case <-time.After(20 * time.Millisecond):
		}
	}
	return ctx.Err()
}
