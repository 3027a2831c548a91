package pagecache_test

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"agora/pagecache"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestCache(t *testing.T) {
	clk := &clock{t: time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)}
	body := bytes.Repeat([]byte("<p>hello</p>"), 100)

	t.Run("hit for the same version only", func(t *testing.T) {
		c := pagecache.New(1<<20, time.Minute, clk.now)
		c.Put("/t/1", "7.1", "text/html", body)
		got, ct, ok := c.Get("/t/1", "7.1", nil)
		if !ok || !bytes.Equal(got, body) || ct != "text/html" {
			t.Fatalf("Get = %d bytes, %q, %v; want the body back", len(got), ct, ok)
		}
		if _, _, ok := c.Get("/t/1", "8.1", nil); ok {
			t.Error("a newer version hit the old entry")
		}
		if _, _, ok := c.Get("/t/1", "7.1", nil); ok {
			t.Error("the entry outlived a lookup at a newer version")
		}
	})
	t.Run("expires after the TTL", func(t *testing.T) {
		c := pagecache.New(1<<20, time.Minute, clk.now)
		c.Put("/", "1", "text/html", body)
		clk.t = clk.t.Add(61 * time.Second)
		if _, _, ok := c.Get("/", "1", nil); ok {
			t.Error("an expired entry hit")
		}
	})
	t.Run("evicts the least recently used beyond the budget", func(t *testing.T) {
		c := pagecache.New(4096, time.Minute, clk.now)
		for i := range 40 {
			// Distinct, poorly compressible bodies of about 300 bytes.
			c.Put(fmt.Sprint("/p/", i), "1", "text/html", []byte(fmt.Sprintf("%x", bytes.Repeat([]byte{byte(i), byte(i * 7), byte(i * 13)}, 50))))
			if i == 0 {
				continue
			}
			c.Get("/p/0", "1", nil) // keep the first one in use
		}
		entries, held := c.Stats()
		if held > 4096 || entries == 0 || entries >= 40 {
			t.Fatalf("holds %d entries in %d bytes, want fewer than 40 within 4096 bytes", entries, held)
		}
		if _, _, ok := c.Get("/p/0", "1", nil); !ok {
			t.Error("the entry in use was evicted")
		}
		if _, _, ok := c.Get("/p/1", "1", nil); ok {
			t.Error("the least recently used entry was kept")
		}
	})
	t.Run("zero budget is off", func(t *testing.T) {
		c := pagecache.New(0, time.Minute, clk.now)
		c.Put("/", "1", "text/html", body)
		if _, _, ok := c.Get("/", "1", nil); ok {
			t.Error("a disabled cache hit")
		}
	})
}
