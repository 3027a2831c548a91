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

	v1, v71, v81 := pagecache.Version{Full: "1"}, pagecache.Version{Full: "7.1"}, pagecache.Version{Full: "8.1"}
	t.Run("hit for the same version only", func(t *testing.T) {
		c := pagecache.New(1<<20, time.Minute, clk.now)
		c.Put("/t/1", v71, "text/html", body)
		got, ct, ok := c.Get("/t/1", v71, nil)
		if !ok || !bytes.Equal(got, body) || ct != "text/html" {
			t.Fatalf("Get = %d bytes, %q, %v; want the body back", len(got), ct, ok)
		}
		if _, _, ok := c.Get("/t/1", v81, nil); ok {
			t.Error("a newer version hit the old entry")
		}
		if _, _, ok := c.Get("/t/1", v71, nil); ok {
			t.Error("the entry outlived a lookup at a newer version")
		}
	})
	t.Run("a strict version match hits during the grace period only", func(t *testing.T) {
		c := pagecache.New(1<<20, time.Minute, clk.now)
		c.Put("/", pagecache.Version{Full: "10.3", Strict: "3", Grace: time.Second}, "text/html", body)
		if _, _, ok := c.Get("/", pagecache.Version{Full: "11.3", Strict: "3", Grace: time.Second}, nil); !ok {
			t.Error("a lax change missed within the grace period")
		}
		if _, _, ok := c.Get("/", pagecache.Version{Full: "11.4", Strict: "4", Grace: time.Second}, nil); ok {
			t.Error("a strict change hit")
		}
		c.Put("/", pagecache.Version{Full: "10.3", Strict: "3", Grace: time.Second}, "text/html", body)
		clk.t = clk.t.Add(1100 * time.Millisecond)
		if _, _, ok := c.Get("/", pagecache.Version{Full: "11.3", Strict: "3", Grace: time.Second}, nil); ok {
			t.Error("a lax change hit after the grace period")
		}
	})
	t.Run("expires after the TTL", func(t *testing.T) {
		c := pagecache.New(1<<20, time.Minute, clk.now)
		c.Put("/", v1, "text/html", body)
		clk.t = clk.t.Add(61 * time.Second)
		if _, _, ok := c.Get("/", v1, nil); ok {
			t.Error("an expired entry hit")
		}
	})
	t.Run("evicts the least recently used beyond the budget", func(t *testing.T) {
		c := pagecache.New(4096, time.Minute, clk.now)
		for i := range 40 {
			// Distinct, poorly compressible bodies of about 300 bytes.
			c.Put(fmt.Sprint("/p/", i), v1, "text/html", []byte(fmt.Sprintf("%x", bytes.Repeat([]byte{byte(i), byte(i * 7), byte(i * 13)}, 50))))
			if i == 0 {
				continue
			}
			c.Get("/p/0", v1, nil) // keep the first one in use
		}
		entries, held := c.Stats()
		if held > 4096 || entries == 0 || entries >= 40 {
			t.Fatalf("holds %d entries in %d bytes, want fewer than 40 within 4096 bytes", entries, held)
		}
		if _, _, ok := c.Get("/p/0", v1, nil); !ok {
			t.Error("the entry in use was evicted")
		}
		if _, _, ok := c.Get("/p/1", v1, nil); ok {
			t.Error("the least recently used entry was kept")
		}
	})
	t.Run("zero budget is off", func(t *testing.T) {
		c := pagecache.New(0, time.Minute, clk.now)
		c.Put("/", v1, "text/html", body)
		if _, _, ok := c.Get("/", v1, nil); ok {
			t.Error("a disabled cache hit")
		}
	})
}
