package search_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"agora/internal/testdb"
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

// BenchmarkSearch measures a two-word query with highlighting over 20,000
// indexed posts (building the index is not measured).
func BenchmarkSearch(b *testing.B) {
	const posts = 20_000
	db := testdb.Open(b, "sqlite")
	ix, err := search.Open(b.TempDir())
	if !errors.Is(err, search.ErrNoIndex) {
		b.Fatal(err)
	}
	defer ix.Close()
	if _, err := search.Rebuild(context.Background(), db, ix, nil); err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	// A Zipf-distributed vocabulary of 5,000 words, as in real text: a few
	// words are everywhere, the query's two sit further down the ranks.
	vocab := strings.Fields(`the to and a of in is it for my on with not but when after error api key
		account billing card client config dashboard deploy endpoint export invoice limit login notification
		password payment permission project quota rate report request retry role secret server settings sync
		task team token upload user webhook workspace failing broken slow daily nightly version timeout mobile`)
	for i := len(vocab); i < 5000; i++ {
		vocab = append(vocab, fmt.Sprintf("term%d", i))
	}
	zipf := rand.NewZipf(r, 1.1, 2, uint64(len(vocab)-1))
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	docs := make([]*search.Doc, 0, 1000)
	texts := make(map[int64]search.Text, posts) // what the app would read from the database
	for i := 1; i <= posts; i++ {
		words := make([]string, 30+r.IntN(60))
		for j := range words {
			words[j] = vocab[zipf.Uint64()]
		}
		d := &search.Doc{PostID: int64(i), TopicID: int64((i + 9) / 10), Body: strings.Join(words, " "),
			Author: fmt.Sprintf("user%d", r.IntN(200)), Category: []string{"general", "billing", "api"}[r.IntN(3)],
			CreatedAt: start.Add(time.Duration(i) * time.Minute), Likes: r.IntN(20), State: search.StateVisible}
		if i%10 == 1 {
			d.Title = strings.Join(words[:6], " ")
		}
		texts[d.PostID] = search.Text{Title: d.Title, Body: d.Body}
		docs = append(docs, d)
		if len(docs) == cap(docs) {
			if err := ix.Apply(docs, nil, int64(i)); err != nil {
				b.Fatal(err)
			}
			docs = docs[:0]
		}
	}
	q, err := search.Parse("webhook timeout")
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	var res *search.Result
	for b.Loop() {
		res, err = ix.Search(ctx, q, search.Options{PerPage: 20, Texts: func(_ context.Context, ids []int64) (map[int64]search.Text, error) {
			out := make(map[int64]search.Text, len(ids))
			for _, id := range ids {
				out[id] = texts[id]
			}
			return out, nil
		}})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(res.Total), "matches")
	if len(res.Hits) != 20 || !strings.Contains(res.Hits[0].Snippet, "<mark>") {
		b.Fatalf("got %d hits of %d, first snippet %q; want a full highlighted page", len(res.Hits), res.Total, res.Hits[0].Snippet)
	}
}
