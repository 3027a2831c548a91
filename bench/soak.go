package main

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The soak (issue 15): `go run ./bench -soak 10m` seeds a small forum of
// its own in a temporary folder, serves it with the real server (the
// pprof build, whose /debug/pprof tells the goroutine count without any
// endpoint in the product), drives the mixed workload at a steady rate
// and samples the server every few seconds. It passes with no 5xx and no
// dropped connection, and with resident memory and goroutines flat after
// the warm-up: each grown by less than soakGrowth from the end of the
// warm-up to the end. A failed soak exits 1.

const soakGrowth = 0.10

// soakOptions are the -soak… flags.
type soakOptions struct {
	duration time.Duration
	warmup   time.Duration // 0: a fifth of the duration, at most two minutes
	topics   int           // seeded topics; replies are nine times as many
	rate     int           // requests per second in all (0: as fast as the server answers)
	every    time.Duration // sampling interval
}

// soakSample is the server's state at one moment.
type soakSample struct {
	At         time.Duration // since the load started
	RSS        int64         // VmRSS
	Anon, File int64         // RssAnon, RssFile (Bleve's and SQLite's mapped files)
	Goroutines int
	Conns      int            // of them, serving a connection: one each (connStack), however many the client holds open
	Stacks     map[string]int // goroutines by where they wait, to name a leak
	Requests   int64          // in the interval before
	Errors     map[int]int64
}

func runSoak(ctx context.Context, o options, so soakOptions) error {
	if so.warmup <= 0 {
		so.warmup = min(so.duration/5, 2*time.Minute)
	}
	if so.warmup >= so.duration {
		return fmt.Errorf("-soak-warmup %s must be shorter than -soak %s", so.warmup, so.duration)
	}
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	tmp, bin, err := buildInTemp(root, "agora-soak-", &o)
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	serverBin, err := buildAgora(root, tmp, "./bench/pprofserver", o.tags)
	if err != nil {
		return err
	}
	data := filepath.Join(tmp, "data")
	t := &target{Name: "sqlite", URL: "sqlite://" + filepath.Join(data, "agora.db"), SearchDir: filepath.Join(data, "search"),
		DataDir: data, noQueue: true}
	if err := os.MkdirAll(data, 0o755); err != nil {
		return err
	}
	seedStart := time.Now()
	if err := runAgora(ctx, bin, t, "seed", "--topics", strconv.Itoa(so.topics), "--replies", strconv.Itoa(9*so.topics),
		"--users", strconv.Itoa(max(so.topics/4, 100))); err != nil {
		return err
	}
	if err := runAgora(ctx, bin, t, "reindex"); err != nil {
		return err
	}
	fx, err := prepareFixtures(ctx, bin, t)
	if err != nil {
		return fmt.Errorf("fixtures: %w", err)
	}
	fmt.Printf("seeded %d topics and %d replies, indexed, %d members with tokens, in %s\n", so.topics, 9*so.topics,
		len(fx.Members), time.Since(seedStart).Round(time.Second))

	port, err := freePort()
	if err != nil {
		return err
	}
	pport, err := freePort()
	if err != nil {
		return err
	}
	addr, pprofAddr := "127.0.0.1:"+strconv.Itoa(port), "127.0.0.1:"+strconv.Itoa(pport)
	cmd := exec.Command(serverBin, "serve")
	cmd.Env = agoraEnv(t, "AGORA_ADDR="+addr, "AGORA_RATE_LIMIT=100000000", "AGORA_ABUSE_LIMITS=off",
		"BENCH_PPROF_ADDR="+pprofAddr)
	logPath := filepath.Join(os.TempDir(), fmt.Sprintf("agora-soak-server-%d.log", os.Getpid()))
	srv, err := startChild(cmd, addr, logPath)
	if err != nil {
		return err
	}
	defer srv.stop(20 * time.Second)
	if err := srv.waitHTTP(ctx, "http://"+addr+"/readyz", time.Minute); err != nil {
		return err
	}
	if err := srv.waitHTTP(ctx, "http://"+addr+"/api/v1/search?q=export", 5*time.Minute); err != nil {
		return err
	}
	fmt.Printf("server pid %d on %s (pprof on %s, log %s); soak %s (warm-up %s), sampling every %s, %s\n",
		srv.pid(), addr, pprofAddr, logPath, so.duration, so.warmup, so.every, rateText(so.rate))

	pools := newPools(fx)
	// The benchmark's 50 list pages are more than a small forum has: keep the ones it serves.
	pools.listHTML, pools.listJSON = existing(addr, pools.listHTML), existing(addr, pools.listJSON)
	next := mixedNext(fx, pools)
	if so.rate > 0 {
		next = paced(ctx, next, so.rate)
	}
	client := NewClient(addr, o.conns, 0)
	var samples []soakSample
	total := Stats{ErrorsByStatus: map[int]int64{}, Kinds: map[string]int64{}}
	start := time.Now()
	for elapsed := time.Duration(0); elapsed < so.duration && ctx.Err() == nil; elapsed = time.Since(start) {
		st := Run(ctx, RunConfig{Addr: addr, Conns: o.conns, Duration: min(so.every, so.duration-elapsed), Next: next, Client: client})
		s, err := sampleServer(srv.pid(), pprofAddr)
		if err != nil {
			return fmt.Errorf("sample the server (see %s): %w", logPath, err)
		}
		s.At, s.Requests, s.Errors = time.Since(start), st.Requests, st.ErrorsByStatus
		samples = append(samples, s)
		total.Requests += st.Requests
		total.Errors += st.Errors
		for k, v := range st.ErrorsByStatus {
			total.ErrorsByStatus[k] += v
		}
		for k, v := range st.Kinds {
			total.Kinds[k] += v
		}
		if len(total.Samples) < 5 {
			total.Samples = append(total.Samples, st.Samples...)
		}
		fmt.Printf("  %6s  %6.0f req/s  RSS %s (anon %s, files %s)  goroutines %d (%d connections)  errors %s\n", s.At.Round(time.Second),
			float64(st.Requests)/max(st.Elapsed.Seconds(), 0.001), mb(s.RSS), mb(s.Anon), mb(s.File), s.Goroutines, s.Conns, cmp.Or(st.ErrorSummary(), "0"))
	}
	total.Elapsed = time.Since(start)
	if err := ctx.Err(); err != nil {
		return err
	}
	srv.stop(20 * time.Second)
	return soakReport(os.Stdout, o, so, samples, total, logPath)
}

// paced hands out next's requests at rate per second over all workers: a
// soak holds a steady load for a long time, rather than the most the
// machine can do.
func paced(ctx context.Context, next func(*Worker) Req, rate int) func(*Worker) Req {
	tick := time.NewTicker(time.Second / time.Duration(rate))
	go func() { <-ctx.Done(); tick.Stop() }()
	return func(w *Worker) Req {
		select {
		case <-tick.C:
		case <-ctx.Done():
		}
		return next(w)
	}
}

// existing returns the URIs of list that answer 200.
func existing(addr string, list []string) []string {
	client := &http.Client{Timeout: 10 * time.Second}
	var out []string
	for _, u := range list {
		if resp, err := client.Get("http://" + addr + u); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				out = append(out, u)
			}
		}
	}
	return out
}

func rateText(rate int) string {
	if rate <= 0 {
		return "as fast as the server answers"
	}
	return fmt.Sprintf("%d requests/s", rate)
}

// sampleServer reads pid's memory from /proc and its goroutine count from
// the pprof build's /debug/pprof/goroutine ("goroutine profile: total N").
func sampleServer(pid int, pprofAddr string) (soakSample, error) {
	var s soakSample
	var err1, err2, err3 error
	s.RSS, err1 = statusKB(pid, "VmRSS")
	s.Anon, err2 = statusKB(pid, "RssAnon")
	s.File, err3 = statusKB(pid, "RssFile")
	if err := errors.Join(err1, err2, err3); err != nil {
		return s, err
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Get("http://" + pprofAddr + "/debug/pprof/goroutine?debug=1")
	if err != nil {
		return s, err
	}
	defer resp.Body.Close()
	s.Goroutines, s.Stacks, err = parseGoroutines(resp.Body)
	for stack, n := range s.Stacks {
		if strings.Contains(stack, connStack) {
			s.Conns += n
		}
	}
	return s, err
}

// connStack is the function each open connection's goroutine runs in. The
// client opens connections as its requests overlap, up to -conns, and
// closes those idle for a minute, so the count of these goroutines follows
// the load's bursts, not a leak: the goroutine criterion judges the others,
// and the connections are judged against the client's bound.
const connStack = "fasthttp.(*Server).serveConn"

// parseGoroutines reads a debug=1 goroutine profile: its total, and the
// count of each stack, named by its functions ("gopark < netpoll < …").
// The first line is "goroutine profile: total N"; each stack is a line
// "N @ 0x… 0x…" followed by lines "#\t0x…\tfunction+0x…\tfile:line".
func parseGoroutines(r io.Reader) (int, map[string]int, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<20)
	if !sc.Scan() {
		return 0, nil, fmt.Errorf("goroutine profile: empty (%v)", sc.Err())
	}
	n, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "goroutine profile: total ")
	total, err := strconv.Atoi(n)
	if !ok || err != nil {
		return 0, nil, fmt.Errorf("goroutine profile starts %q", sc.Text())
	}
	stacks := map[string]int{}
	count, funcs := 0, []string(nil)
	flush := func() {
		if count > 0 {
			stacks[strings.Join(funcs, " < ")] += count
		}
		count, funcs = 0, nil
	}
	for sc.Scan() {
		line := sc.Text()
		if c, _, ok := strings.Cut(line, " @ "); ok {
			flush()
			count, _ = strconv.Atoi(c)
		} else if f := strings.Split(line, "\t"); len(f) >= 3 && f[0] == "#" {
			fn, _, _ := strings.Cut(f[2], "+0x")
			funcs = append(funcs, fn)
		}
	}
	flush()
	return total, stacks, sc.Err()
}

// grownStacks lists the stacks with more goroutines in b than in a, most first.
func grownStacks(a, b map[string]int) []string {
	type grown struct {
		stack string
		by    int
	}
	var gs []grown
	for k, n := range b {
		if n > a[k] {
			gs = append(gs, grown{k, n - a[k]})
		}
	}
	slices.SortFunc(gs, func(x, y grown) int { return cmp.Or(y.by-x.by, strings.Compare(x.stack, y.stack)) })
	out := make([]string, len(gs))
	for i, g := range gs {
		out[i] = fmt.Sprintf("+%d %s", g.by, g.stack)
	}
	return out
}

// level is the median of the samples taken from from to to: one sample is
// a single moment of a garbage-collected heap and of the requests in
// flight; the median of several is the level.
func level(samples []soakSample, from, to time.Duration, v func(soakSample) float64) float64 {
	var vals []float64
	for _, s := range samples {
		if s.At >= from && s.At <= to {
			vals = append(vals, v(s))
		}
	}
	if len(vals) == 0 {
		return 0
	}
	slices.Sort(vals)
	return vals[len(vals)/2]
}

// soakReport prints the samples and the verdict, and fails when a criterion does.
func soakReport(w io.Writer, o options, so soakOptions, samples []soakSample, total Stats, logPath string) error {
	fmt.Fprintf(w, "\n## Soak: %s of the mixed workload (%s after %s warm-up; %d connections, %s; %d topics + %d replies seeded; %d CPUs, %s, %s)\n\n",
		so.duration, so.duration-so.warmup, so.warmup, o.conns, rateText(so.rate), so.topics, 9*so.topics, runtime.NumCPU(), runtime.Version(), o.version)
	fmt.Fprintln(w, "| time | requests/s | RSS | anon | files | goroutines | of them connections | errors |")
	fmt.Fprintln(w, "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
	prev := time.Duration(0)
	for _, s := range samples {
		errs := (Stats{ErrorsByStatus: s.Errors, Errors: int64(len(s.Errors))}).ErrorSummary() // Errors: only whether any
		fmt.Fprintf(w, "| %s | %.0f | %s | %s | %s | %d | %d | %s |\n", s.At.Round(time.Second), float64(s.Requests)/max((s.At-prev).Seconds(), 0.001),
			mb(s.RSS), mb(s.Anon), mb(s.File), s.Goroutines, s.Conns, cmp.Or(errs, "0"))
		prev = s.At
	}
	var server, dropped, other int64
	for code, n := range total.ErrorsByStatus {
		switch {
		case code >= 500:
			server += n
		case code == 0:
			dropped += n
		default:
			other += n
		}
	}
	kinds := make([]string, 0, len(total.Kinds))
	for k, n := range total.Kinds {
		kinds = append(kinds, fmt.Sprintf("%s %d", k, n))
	}
	slices.Sort(kinds)
	fmt.Fprintf(w, "\n%d requests (%s), %.0f/s; answers other than 2xx: %s\n", total.Requests, strings.Join(kinds, ", "),
		total.RPS(), cmp.Or(total.ErrorSummary(), "none"))
	for _, s := range total.Samples {
		fmt.Fprintf(w, "  error sample: %s\n", strings.Join(strings.Fields(s), " "))
	}

	// The levels: the medians of the samples in the first sixth of the
	// judged time (at least three intervals) right after the warm-up, and
	// in the last sixth.
	end := samples[len(samples)-1].At
	span := max(3*so.every, (end-so.warmup)/6)
	rss := func(s soakSample) float64 { return float64(s.RSS) }
	gor := func(s soakSample) float64 { return float64(s.Goroutines - s.Conns) }
	rss0, rss1 := level(samples, so.warmup, so.warmup+span, rss), level(samples, end-span, end, rss)
	g0, g1 := level(samples, so.warmup, so.warmup+span, gor), level(samples, end-span, end, gor)

	fmt.Fprintln(w, "\n## Criteria")
	fmt.Fprintln(w)
	failed := 0
	check := func(ok bool, what, got string) {
		mark := "pass"
		if !ok {
			mark, failed = "FAIL", failed+1
		}
		fmt.Fprintf(w, "- [%s] %s — %s\n", mark, what, got)
	}
	growth := func(a, b float64) float64 { return (b - a) / max(a, 1) }
	check(server == 0, "no 5xx answer", fmt.Sprintf("%d", server))
	check(dropped == 0, "no dropped connection or timeout", fmt.Sprintf("%d", dropped))
	check(rss0 > 0 && growth(rss0, rss1) < soakGrowth, fmt.Sprintf("RSS grows < %.0f%% after the warm-up", 100*soakGrowth),
		fmt.Sprintf("%s after the warm-up → %s at the end (%+.1f%%)", mb(int64(rss0)), mb(int64(rss1)), 100*growth(rss0, rss1)))
	check(g0 > 0 && growth(g0, g1) < soakGrowth, fmt.Sprintf("goroutines besides the connections' grow < %.0f%% after the warm-up", 100*soakGrowth),
		fmt.Sprintf("%.0f → %.0f (%+.1f%%)", g0, g1, 100*growth(g0, g1)))
	conns := 0
	for _, s := range samples {
		conns = max(conns, s.Conns)
	}
	check(conns <= o.conns, fmt.Sprintf("open connections never more than the client's %d", o.conns), fmt.Sprintf("at most %d", conns))
	if growth(g0, g1) >= soakGrowth {
		// Name the leak: the stacks that grew from the last sample at the first level to the last sample.
		from := samples[0]
		for _, s := range samples {
			if s.At <= so.warmup+span && gor(s) <= g0 {
				from = s
			}
		}
		fmt.Fprintf(w, "\nGoroutines at %s → at %s, by stack:\n", from.At.Round(time.Second), samples[len(samples)-1].At.Round(time.Second))
		for _, g := range grownStacks(from.Stacks, samples[len(samples)-1].Stacks) {
			if !strings.Contains(g, connStack) {
				fmt.Fprintf(w, "  %s\n", g)
			}
		}
	}
	fmt.Fprintf(w, "\n(levels: the median of the samples in the %s after the warm-up and in the last %s; %d other 4xx answers are reported above, not failures; server log %s)\n",
		span.Round(time.Second), span.Round(time.Second), other, logPath)
	if failed > 0 {
		return fmt.Errorf("soak failed %d of 5 criteria", failed)
	}
	return nil
}
