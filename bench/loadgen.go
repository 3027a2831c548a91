package main

import (
	"cmp"
	"context"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// The load generator: conns workers, each with its own keep-alive
// connection, send requests back to back for a fixed time (or until a
// request budget is spent) and record every latency in a log-linear
// histogram (HDR-style, ~1.6% relative precision, fixed memory, no
// allocation per request).

// Req is one request to send. Strings are built up front by the scenarios,
// so picking a request allocates nothing.
type Req struct {
	Method string // "" means GET
	URI    string // path and query
	Body   []byte // JSON body for POST
	Token  string // bearer token, "" for a guest
	Kind   string // optional label, counted per kind in Stats.Kinds
}

// Worker is one concurrent client; Next gets it to pick its requests.
type Worker struct {
	ID int
	R  *rand.Rand
}

// RunConfig says how hard and how long to drive a target.
type RunConfig struct {
	Addr        string        // host:port
	Conns       int           // concurrent workers = connections
	Duration    time.Duration // measured time
	MaxRequests int64         // stop after this many requests (0: 20 million)
	Timeout     time.Duration // per request (0: 10s)
	Next        func(w *Worker) Req
	Client      *fasthttp.HostClient // nil: a new one for Addr
}

// Stats is the outcome of one run.
type Stats struct {
	Requests int64
	Errors   int64 // non-2xx answers and transport errors
	Elapsed  time.Duration
	Bytes    int64 // response bodies
	P50, P99 time.Duration
	Max      time.Duration
	Mean     time.Duration
	// ErrorsByStatus counts errors by HTTP status; 0 is a transport error.
	ErrorsByStatus map[int]int64
	// Kinds counts requests per Req.Kind (when set).
	Kinds map[string]int64
	// Samples holds the first error answers, for the report.
	Samples []string
}

// RPS is the completed requests per second.
func (s Stats) RPS() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Requests) / s.Elapsed.Seconds()
}

// NewClient returns a keep-alive client for addr with at most conns connections.
func NewClient(addr string, conns int, timeout time.Duration) *fasthttp.HostClient {
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	return &fasthttp.HostClient{
		Addr:                          addr,
		MaxConns:                      conns,
		MaxConnWaitTimeout:            timeout,
		ReadTimeout:                   timeout,
		WriteTimeout:                  timeout,
		MaxIdleConnDuration:           time.Minute,
		ReadBufferSize:                16 << 10,
		NoDefaultUserAgentHeader:      true,
		DisableHeaderNamesNormalizing: true,
		DisablePathNormalizing:        true,
	}
}

// Run drives the target and returns the stats. It stops by itself after
// Duration or MaxRequests, whichever comes first, or when ctx ends.
func Run(ctx context.Context, cfg RunConfig) Stats {
	if cfg.MaxRequests <= 0 {
		cfg.MaxRequests = 20_000_000
	}
	if cfg.Conns <= 0 {
		cfg.Conns = 1
	}
	client := cfg.Client
	if client == nil {
		client = NewClient(cfg.Addr, cfg.Conns, cfg.Timeout)
	}
	var budget atomic.Int64
	budget.Store(cfg.MaxRequests)
	type result struct {
		hist     *Histogram
		errs     map[int]int64
		kinds    map[string]int64
		bytes    int64
		samples  []string
		finished time.Time
	}
	results := make([]result, cfg.Conns)
	start := time.Now()
	deadline := start.Add(cfg.Duration)
	var wg sync.WaitGroup
	for i := range cfg.Conns {
		wg.Go(func() {
			w := &Worker{ID: i, R: rand.New(rand.NewPCG(uint64(i)+1, uint64(start.UnixNano())))}
			res := &results[i]
			res.hist = NewHistogram()
			res.errs = map[int]int64{}
			res.kinds = map[string]int64{}
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			for ctx.Err() == nil && budget.Add(-1) >= 0 {
				now := time.Now()
				if !now.Before(deadline) {
					break
				}
				r := cfg.Next(w)
				req.Reset()
				req.SetRequestURI(r.URI)
				req.SetHost(cfg.Addr)
				if r.Method != "" {
					req.Header.SetMethod(r.Method)
				}
				if r.Token != "" {
					req.Header.Set("Authorization", "Bearer "+r.Token)
				}
				if r.Body != nil {
					req.Header.SetContentType("application/json")
					req.SetBodyRaw(r.Body)
				}
				err := client.Do(req, resp)
				took := time.Since(now)
				res.hist.Record(took)
				if r.Kind != "" {
					res.kinds[r.Kind]++
				}
				status := 0
				if err == nil {
					status = resp.StatusCode()
					res.bytes += int64(len(resp.Body()))
				}
				if err != nil || status < 200 || status > 299 {
					res.errs[status]++
					if len(res.samples) < 3 {
						msg := ""
						if err != nil {
							msg = err.Error()
						} else {
							msg = strings.TrimSpace(string(resp.Body()))
							if len(msg) > 160 {
								msg = msg[:160] + "…"
							}
						}
						res.samples = append(res.samples, fmt.Sprintf("%s %s → %d %s", cmp.Or(r.Method, "GET"), r.URI, status, msg))
					}
				}
			}
			res.finished = time.Now()
		})
	}
	wg.Wait()
	var st Stats
	st.ErrorsByStatus = map[int]int64{}
	st.Kinds = map[string]int64{}
	all := NewHistogram()
	end := start
	for _, r := range results {
		all.Merge(r.hist)
		for k, v := range r.errs {
			st.ErrorsByStatus[k] += v
			st.Errors += v
		}
		for k, v := range r.kinds {
			st.Kinds[k] += v
		}
		st.Bytes += r.bytes
		if len(st.Samples) < 5 {
			st.Samples = append(st.Samples, r.samples...)
		}
		if r.finished.After(end) {
			end = r.finished
		}
	}
	st.Requests = all.Count()
	st.Elapsed = end.Sub(start)
	st.P50, st.P99 = all.Quantile(0.50), all.Quantile(0.99)
	st.Max, st.Mean = all.Max(), all.Mean()
	if len(st.Samples) > 5 {
		st.Samples = st.Samples[:5]
	}
	return st
}

// ErrorSummary reads like "503×12, transport×1".
func (s Stats) ErrorSummary() string {
	if s.Errors == 0 {
		return ""
	}
	codes := make([]int, 0, len(s.ErrorsByStatus))
	for c := range s.ErrorsByStatus {
		codes = append(codes, c)
	}
	sort.Ints(codes)
	parts := make([]string, 0, len(codes))
	for _, c := range codes {
		name := fmt.Sprint(c)
		if c == 0 {
			name = "transport"
		}
		parts = append(parts, fmt.Sprintf("%s×%d", name, s.ErrorsByStatus[c]))
	}
	return strings.Join(parts, ", ")
}

// Histogram counts durations (in nanoseconds) in log-linear buckets: exact
// below 128 ns, then 64 sub-buckets per power of two, so any value is
// reported within 1/64 (1.6%) of itself. It is HdrHistogram's layout with
// two significant binary digits fewer.
type Histogram struct {
	counts [histBuckets]int64
	n      int64
	sum    int64
	min    int64
	max    int64
}

const (
	histLinear  = 128 // values below are exact
	histSub     = 64  // sub-buckets per doubling above
	histBuckets = histLinear + 57*histSub
)

// NewHistogram returns an empty histogram.
func NewHistogram() *Histogram { return &Histogram{min: -1} }

func bucketOf(v int64) int {
	if v < histLinear {
		return int(max(v, 0))
	}
	shift := bits.Len64(uint64(v)) - 7 // keep the top 7 bits: 64..127
	sub := int(v >> shift)
	return histLinear + (shift-1)*histSub + (sub - histSub)
}

// bucketRange returns the smallest and largest value bucket i holds.
func bucketRange(i int) (lo, hi int64) {
	if i < histLinear {
		return int64(i), int64(i)
	}
	shift := (i-histLinear)/histSub + 1
	sub := int64((i-histLinear)%histSub + histSub)
	return sub << shift, (sub+1)<<shift - 1
}

// Record adds one duration.
func (h *Histogram) Record(d time.Duration) {
	v := int64(d)
	if v < 0 {
		v = 0
	}
	h.counts[bucketOf(v)]++
	h.n++
	h.sum += v
	if h.min < 0 || v < h.min {
		h.min = v
	}
	if v > h.max {
		h.max = v
	}
}

// Merge adds o's counts to h.
func (h *Histogram) Merge(o *Histogram) {
	if o.n == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.sum += o.sum
	if h.min < 0 || o.min < h.min {
		h.min = o.min
	}
	h.max = max(h.max, o.max)
}

// Count is the number of recorded values.
func (h *Histogram) Count() int64 { return h.n }

// Max is the largest recorded value.
func (h *Histogram) Max() time.Duration { return time.Duration(h.max) }

// Mean is the exact average.
func (h *Histogram) Mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return time.Duration(h.sum / h.n)
}

// Quantile returns the value at quantile q (0..1) by the nearest-rank
// method: the smallest value with at least q·n values at or below it. It
// answers the middle of that value's bucket, clamped to the recorded range.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := int64(q*float64(h.n) + 0.9999999) // ceil without float surprises at exact ranks
	rank = min(max(rank, 1), h.n)
	if rank == h.n {
		return time.Duration(h.max)
	}
	var seen int64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			lo, hi := bucketRange(i)
			v := lo + (hi-lo)/2
			return time.Duration(min(max(v, h.min), h.max))
		}
	}
	return time.Duration(h.max)
}
