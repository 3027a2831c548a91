package main

import (
	"bytes"
	"context"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofiber/template/html/v2"
)

// The load generator against a known server: 200 requests, every tenth
// answered 500, every fiftieth after a 30 ms pause. Counting is exact;
// the latency checks only rely on the slow ones being the slowest 2%.
func TestRunCountsAndQuantiles(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := n.Add(1)
		if i%50 == 0 {
			time.Sleep(30 * time.Millisecond)
		}
		if i%10 == 0 {
			http.Error(w, "boom", http.StatusInternalServerError)
			return
		}
		w.Write([]byte("hello")) //nolint:errcheck
	}))
	defer srv.Close()

	addr := strings.TrimPrefix(srv.URL, "http://")
	st := Run(context.Background(), RunConfig{Addr: addr, Conns: 4, Duration: 30 * time.Second, MaxRequests: 200,
		Next: func(w *Worker) Req { return Req{URI: "/x", Kind: "get"} }})

	if st.Requests != 200 || n.Load() != 200 {
		t.Fatalf("requests: stats %d, server saw %d; want 200", st.Requests, n.Load())
	}
	if st.Errors != 20 || st.ErrorsByStatus[500] != 20 {
		t.Fatalf("errors = %d (%v), want 20 answers of 500", st.Errors, st.ErrorsByStatus)
	}
	if st.Kinds["get"] != 200 {
		t.Errorf("kinds = %v", st.Kinds)
	}
	if st.Bytes != 180*int64(len("hello"))+20*int64(len("boom\n")) {
		t.Errorf("bytes = %d", st.Bytes)
	}
	// 4 of 200 requests (2%) took ≥ 30 ms: p99 is one of them, p50 is not.
	if st.P99 < 30*time.Millisecond {
		t.Errorf("p99 = %s, want ≥ 30ms (the slow 2%%)", st.P99)
	}
	if st.P50 >= 30*time.Millisecond || st.P50 > st.P99 {
		t.Errorf("p50 = %s, p99 = %s", st.P50, st.P99)
	}
	if st.Max < 30*time.Millisecond || st.RPS() <= 0 || st.Elapsed <= 0 {
		t.Errorf("max %s, rps %.0f, elapsed %s", st.Max, st.RPS(), st.Elapsed)
	}
	if len(st.Samples) == 0 || !strings.Contains(st.Samples[0], "500") {
		t.Errorf("error samples = %q", st.Samples)
	}
	if got := st.ErrorSummary(); got != "500×20" {
		t.Errorf("summary = %q", got)
	}
}

// A closed port is a transport error per request, not a hang.
func TestRunTransportErrors(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := strings.TrimPrefix(srv.URL, "http://")
	srv.Close()
	st := Run(context.Background(), RunConfig{Addr: addr, Conns: 2, Duration: 5 * time.Second, MaxRequests: 10,
		Timeout: time.Second, Next: func(*Worker) Req { return Req{URI: "/"} }})
	if st.Requests != 10 || st.Errors != 10 || st.ErrorsByStatus[0] != 10 {
		t.Fatalf("requests %d, errors %v", st.Requests, st.ErrorsByStatus)
	}
}

// The duration bound stops the run by itself.
func TestRunStopsAfterDuration(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	start := time.Now()
	st := Run(context.Background(), RunConfig{Addr: strings.TrimPrefix(srv.URL, "http://"), Conns: 2,
		Duration: 200 * time.Millisecond, Next: func(*Worker) Req { return Req{URI: "/"} }})
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("run took %s for a 200ms duration", took)
	}
	if st.Requests == 0 || st.Errors != 0 {
		t.Fatalf("requests %d errors %d", st.Requests, st.Errors)
	}
}

// The histogram's quantiles by nearest rank, within its 1/64 precision.
func TestHistogramQuantiles(t *testing.T) {
	h := NewHistogram()
	for i := 1; i <= 1000; i++ { // 1 ms … 1000 ms
		h.Record(time.Duration(i) * time.Millisecond)
	}
	within := func(got, want time.Duration) bool {
		d := got - want
		if d < 0 {
			d = -d
		}
		return float64(d) <= float64(want)/64
	}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 500 * time.Millisecond}, {0.99, 990 * time.Millisecond}, {0.999, 999 * time.Millisecond}, {1, 1000 * time.Millisecond}} {
		if got := h.Quantile(c.q); !within(got, c.want) {
			t.Errorf("q%.3f = %s, want %s ± 1/64", c.q, got, c.want)
		}
	}
	if h.Count() != 1000 || h.Mean() != 500500*time.Microsecond || h.Max() != time.Second {
		t.Errorf("count %d mean %s max %s", h.Count(), h.Mean(), h.Max())
	}
	// Small values are exact; merging adds counts.
	a, b := NewHistogram(), NewHistogram()
	for range 99 {
		a.Record(100)
	}
	b.Record(5 * time.Second)
	a.Merge(b)
	if a.Quantile(0.5) != 100 || a.Quantile(0.99) != 100 || a.Quantile(1) != 5*time.Second {
		t.Errorf("merged: p50 %s p99 %s p100 %s", a.Quantile(0.5), a.Quantile(0.99), a.Quantile(1))
	}
	// Every bucket's range holds the values that map to it.
	for _, v := range []int64{0, 127, 128, 129, 1000, 123456, 1 << 40, 1<<62 + 12345} {
		lo, hi := bucketRange(bucketOf(v))
		if v < lo || v > hi {
			t.Errorf("value %d in bucket [%d, %d]", v, lo, hi)
		}
	}
}

// The ceilings are padded to the asked sizes exactly.
func TestCeilingSizes(t *testing.T) {
	for _, size := range []int{15000, 21000, 60000} {
		if _, got := ceilingJSONData(size); got != size {
			t.Errorf("json ceiling for %d bytes is %d", size, got)
		}
	}
}

func TestCeilingHTMLSize(t *testing.T) {
	sub, err := fs.Sub(ceilingFS, "ceilingtpl")
	if err != nil {
		t.Fatal(err)
	}
	engine := html.NewFileSystem(http.FS(sub), ".html")
	if err := engine.Load(); err != nil {
		t.Fatal(err)
	}
	for _, size := range []int{30000, 52345} {
		if _, got, err := ceilingHTMLData(engine.Templates.Lookup("page"), size); err != nil || got != size {
			t.Errorf("html ceiling for %d bytes is %d (%v)", size, got, err)
		}
	}
}

func TestParseQuantity(t *testing.T) {
	for in, want := range map[string]int64{"123": 123, "1.5k": 1500, "2M": 2_000_000, "10MB": 10 << 20, "900kB": 900 << 10, "7B": 7} {
		if got, ok := parseQuantity(in); !ok || got != want {
			t.Errorf("parseQuantity(%q) = %d, %v; want %d", in, got, ok, want)
		}
	}
}

// The /proc accounting reads this very process.
func TestProcAccounting(t *testing.T) {
	x := 0
	for i := range 50_000_000 {
		x += i % 7
	}
	_ = x
	cpu, err := cpuSeconds(os.Getpid())
	if err != nil || cpu <= 0 {
		t.Fatalf("cpuSeconds = %v, %v", cpu, err)
	}
	if _, err := childrenCPUSeconds(os.Getpid()); err != nil {
		t.Fatal(err)
	}
	if rss := peakRSS(os.Getpid()); rss < 1<<20 {
		t.Fatalf("peak RSS %d", rss)
	}
	if busy := machineBusy(); busy <= 0 {
		t.Fatalf("machine busy %v", busy)
	}
}

// The soak's verdict: flat memory and goroutines pass, growth of 10% or
// more after the warm-up fails, and so does a single 5xx or dropped connection.
func TestSoakVerdict(t *testing.T) {
	so := soakOptions{duration: 60 * time.Second, warmup: 20 * time.Second, topics: 10, every: 5 * time.Second}
	samples := func(grow float64) []soakSample {
		var out []soakSample
		for i := 1; i <= 12; i++ {
			at := time.Duration(i) * 5 * time.Second
			rss := 100 << 20
			if at > so.warmup {
				rss += int(grow * float64(100<<20) * float64(at-so.warmup) / float64(so.duration-so.warmup))
			}
			out = append(out, soakSample{At: at, RSS: int64(rss + (i%2)*(3<<20)), Goroutines: 50 + i%2})
		}
		return out
	}
	ok := Stats{ErrorsByStatus: map[int]int64{404: 3}, Errors: 3, Requests: 1000, Elapsed: time.Minute}
	for _, c := range []struct {
		name  string
		grow  float64
		stats Stats
		fail  bool
	}{
		{"flat", 0, ok, false},
		{"rss grows", 0.25, ok, true},
		{"a 5xx", 0, Stats{ErrorsByStatus: map[int]int64{500: 1}, Errors: 1}, true},
		{"a dropped connection", 0, Stats{ErrorsByStatus: map[int]int64{0: 1}, Errors: 1}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := soakReport(io.Discard, options{conns: 1}, so, samples(c.grow), c.stats, "log")
			if (err != nil) != c.fail {
				t.Errorf("soakReport = %v, want failure %v", err, c.fail)
			}
		})
	}
	leak := samples(0)
	for i := range leak {
		if leak[i].At > so.warmup {
			leak[i].Goroutines += int(leak[i].At / time.Second)
		}
		leak[i].Stacks = map[string]int{"gopark < serve": 50, "gopark < leaky": leak[i].Goroutines - 50}
	}
	var report strings.Builder
	if err := soakReport(&report, options{conns: 1}, so, leak, ok, "log"); err == nil || !strings.Contains(err.Error(), "1 of 5") {
		t.Errorf("goroutine leak: %v", err)
	}
	if !strings.Contains(report.String(), "gopark < leaky") || strings.Contains(report.String(), "gopark < serve") {
		t.Errorf("the report does not name the leaking stack alone:\n%s", report.String())
	}
	// Connections the client opens as its requests overlap (and closes when
	// idle) each hold a goroutine: more of them is no leak, up to the
	// client's bound.
	bursts := samples(0)
	for i := range bursts {
		bursts[i].Conns = 10 + i
		bursts[i].Goroutines += bursts[i].Conns
	}
	if err := soakReport(io.Discard, options{conns: 32}, so, bursts, ok, "log"); err != nil {
		t.Errorf("connections from 10 to 21: %v", err)
	}
	if err := soakReport(io.Discard, options{conns: 16}, so, bursts, ok, "log"); err == nil || !strings.Contains(err.Error(), "1 of 5") {
		t.Errorf("21 connections from a client of 16: %v", err)
	}
}

// parkedForTest waits on ch: a stack the goroutine profile can be searched for.
func parkedForTest(ch chan struct{}) { <-ch }

// The soak names a goroutine leak by stack: a real goroutine profile of
// this process, before and after three goroutines park in one function.
func TestGoroutineStacks(t *testing.T) {
	profile := func() (int, map[string]int) {
		var buf bytes.Buffer
		if err := pprof.Lookup("goroutine").WriteTo(&buf, 1); err != nil {
			t.Fatal(err)
		}
		total, stacks, err := parseGoroutines(&buf)
		if err != nil {
			t.Fatal(err)
		}
		return total, stacks
	}
	total0, before := profile()
	ch := make(chan struct{})
	defer close(ch)
	var started sync.WaitGroup
	for range 3 {
		started.Add(1)
		go func() { started.Done(); parkedForTest(ch) }()
	}
	started.Wait()
	var total1 int
	var after map[string]int
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if total1, after = profile(); total1 >= total0+3 {
			break
		}
	}
	sum := 0
	for _, n := range after {
		sum += n
	}
	if total1 < total0+3 || sum != total1 {
		t.Fatalf("totals %d → %d, stacks add up to %d", total0, total1, sum)
	}
	grown := grownStacks(before, after)
	if len(grown) == 0 || !strings.HasPrefix(grown[0], "+3 ") || !strings.Contains(grown[0], "bench.parkedForTest") {
		t.Fatalf("grown stacks: %q", grown)
	}
}
