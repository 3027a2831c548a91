package search_test

import (
	"context"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"agora/search"
)

// BenchmarkSearchLoad runs two-word queries of the load benchmark (bench/)
// from 8 goroutines against an existing index, such as a copy of
// bench/data/search, named by AGORA_BENCH_SEARCH_DIR. It reports the
// process's CPU per query and the latency percentiles, without snippets
// (they are cut from the database's text: Options.Texts). Use a fixed
// count: -bench SearchLoad -benchtime 2000x.
func BenchmarkSearchLoad(b *testing.B) {
	dir := os.Getenv("AGORA_BENCH_SEARCH_DIR")
	if dir == "" {
		b.Skip("set AGORA_BENCH_SEARCH_DIR to an index directory")
	}
	ix, err := search.Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer ix.Close()
	var queries []*search.Query
	for _, s := range []string{"export csv", "webhook timeout", "billing invoice", "api rate limit", "oauth token",
		"dark mode", "gantt chart", "sso login", "custom fields", "audit log", "calendar sync", "due dates"} {
		q, err := search.Parse(s)
		if err != nil {
			b.Fatal(err)
		}
		queries = append(queries, q)
	}
	ctx := context.Background()
	for _, q := range queries { // warm the page cache
		if _, err := ix.Search(ctx, q, search.Options{}); err != nil {
			b.Fatal(err)
		}
	}
	const workers = 8
	lat := make([][]time.Duration, workers)
	var next atomic.Int64
	var wg sync.WaitGroup
	cpu := func() time.Duration {
		var ru syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	b.ResetTimer()
	cpu0 := cpu()
	for w := range workers {
		wg.Go(func() {
			for i := next.Add(1); i <= int64(b.N); i = next.Add(1) {
				t := time.Now()
				res, err := ix.Search(ctx, queries[int(i)%len(queries)], search.Options{})
				if err != nil || len(res.Hits) == 0 {
					b.Errorf("search: %v, %d hits", err, len(res.Hits))
					return
				}
				lat[w] = append(lat[w], time.Since(t))
			}
		})
	}
	wg.Wait()
	used := cpu() - cpu0
	b.StopTimer()
	all := slices.Sorted(slices.Values(slices.Concat(lat...)))
	if len(all) == 0 {
		return
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(ms(used)/float64(len(all)), "cpu-ms/query")
	b.ReportMetric(ms(all[len(all)/2]), "p50-ms")
	b.ReportMetric(ms(all[len(all)*99/100]), "p99-ms")
}
