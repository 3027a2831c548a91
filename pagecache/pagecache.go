// Package pagecache keeps rendered responses in memory so the busiest pages
// are rendered once per change instead of once per request. Each entry is
// filed under a key (what was asked for) and a version (of the data it was
// rendered from): a lookup with any other version misses, so a cache can
// never serve a page older than the data it is asked about, with one
// exception the caller opts into: a page whose strict version still matches
// may be served for a short grace period after its full version moved (a
// topic list after a new reply: busy lists would otherwise never hit). Entries are
// compressed (S2, which decodes at memory speed) to hold several times more
// pages in the same byte budget, and expire after a TTL because pages show
// relative times ("5m") and view counts that no version covers.
package pagecache

import (
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
	"github.com/klauspost/compress/s2"
)

// Version is the version of the data a response shows. Full covers all of
// it. Strict covers the changes that must show at once; empty means all do.
// The others may show up to Grace late.
type Version struct {
	Full, Strict string
	Grace        time.Duration
}

// Cache is a byte-bounded LRU of rendered responses. It is safe for
// concurrent use; the zero value is not usable, use New.
type Cache struct {
	ttl time.Duration
	now func() time.Time

	mu       sync.Mutex
	lru      *simplelru.LRU[string, *entry]
	bytes    int // compressed bytes held
	maxBytes int
}

type entry struct {
	version     Version
	contentType string
	body        []byte // S2-compressed
	stored      time.Time
}

// size is what an entry costs against the budget, its key included.
func (e *entry) size(key string) int {
	return len(key) + len(e.version.Full) + len(e.version.Strict) + len(e.contentType) + len(e.body) + 96
}

// New returns a cache holding at most maxBytes of compressed responses, each
// for at most ttl. maxBytes <= 0 disables it: every Get misses.
func New(maxBytes int, ttl time.Duration, now func() time.Time) *Cache {
	c := &Cache{ttl: ttl, now: now, maxBytes: maxBytes}
	// The byte budget bounds the cache; the entry cap only has to be out of its way.
	c.lru, _ = simplelru.NewLRU[string, *entry](1<<30, func(key string, e *entry) { c.bytes -= e.size(key) })
	return c
}

// Get returns the body stored under key for version, decoded into dst when
// it has room (pass a reused buffer to serve hits without allocating), and
// its content type.
func (c *Cache) Get(key string, v Version, dst []byte) (body []byte, contentType string, ok bool) {
	if c.maxBytes <= 0 {
		return nil, "", false
	}
	c.mu.Lock()
	e, ok := c.lru.Get(key)
	if ok && !c.fresh(e, v) {
		c.lru.Remove(key)
		ok = false
	}
	c.mu.Unlock()
	if !ok {
		return nil, "", false
	}
	body, err := s2.Decode(dst[:cap(dst)], e.body)
	if err != nil { // cannot happen for what Put encoded; treat as a miss
		return nil, "", false
	}
	return body, e.contentType, true
}

// fresh reports whether e may answer for data at version v.
func (c *Cache) fresh(e *entry, v Version) bool {
	age := c.now().Sub(e.stored)
	switch {
	case age > c.ttl:
		return false
	case e.version.Full == v.Full:
		return true
	}
	return v.Strict != "" && e.version.Strict == v.Strict && age <= v.Grace
}

// Put stores a copy of body under key for version, evicting the least
// recently used entries beyond the budget. A body larger than a quarter of
// the budget is not kept.
func (c *Cache) Put(key string, v Version, contentType string, body []byte) {
	if c.maxBytes <= 0 {
		return
	}
	// Encode's result keeps the capacity of the worst case (larger than the
	// input); the entry keeps an exact copy, so the budget counts real memory.
	enc := s2.Encode(nil, body)
	e := &entry{version: v, contentType: contentType, body: append([]byte(nil), enc...), stored: c.now()}
	n := e.size(key)
	if n > c.maxBytes/4 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lru.Remove(key)
	c.lru.Add(key, e)
	c.bytes += n
	for c.bytes > c.maxBytes {
		c.lru.RemoveOldest()
	}
}

// Stats reports the entries and compressed bytes held.
func (c *Cache) Stats() (entries, bytes int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len(), c.bytes
}
