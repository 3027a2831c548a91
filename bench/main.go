// Command bench is Agora's load benchmark (issue 6): `go run ./bench`
// builds agora, seeds a 1,000,000-post forum once (SQLite, and PostgreSQL
// with -pg), starts the server, drives every scenario with a Go load
// generator on 127.0.0.1, runs bare-Fiber ceilings of the same response
// sizes in a child process, and prints one table with the targets.
// See docs/benchmarks.md.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"
)

const defaultPG = "postgres://postgres@127.0.0.1:5432/agora_bench?sslmode=disable"

type options struct {
	pg       bool
	pgURL    string
	duration time.Duration
	warmup   time.Duration
	conns    int
	data     string
	only     string
	profile  bool
	tags     string // go build -tags for the server
	version  string // the commit measured, and whether the tree had local changes
}

// sourceVersion names the commit and counts uncommitted changes, so a
// table can be matched to the code it measured.
func sourceVersion(root string) string {
	out, err := exec.Command("git", "-C", root, "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return "unknown commit"
	}
	v := "commit " + strings.TrimSpace(string(out))
	if st, err := exec.Command("git", "-C", root, "status", "--porcelain", "--untracked-files=no").Output(); err == nil {
		if n := len(strings.Split(strings.TrimSpace(string(st)), "\n")); strings.TrimSpace(string(st)) != "" {
			v += fmt.Sprintf(" + %d uncommitted changed files", n)
		}
	}
	return v
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "ceiling" {
		if err := runCeiling(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "ceiling:", err)
			os.Exit(1)
		}
		return
	}
	var o options
	flag.BoolVar(&o.pg, "pg", false, "also run on PostgreSQL")
	flag.StringVar(&o.pgURL, "pg-url", defaultPG, "PostgreSQL database for -pg (created when missing)")
	flag.DurationVar(&o.duration, "duration", 8*time.Second, "measured time per scenario")
	flag.DurationVar(&o.warmup, "warmup", time.Second, "warm-up per scenario, not measured")
	flag.IntVar(&o.conns, "conns", 32, "concurrent connections")
	flag.StringVar(&o.data, "data", "", "data directory (default bench/data under the module root)")
	flag.StringVar(&o.only, "only", "", "comma-separated scenario keys to run (default: all)")
	flag.StringVar(&o.tags, "tags", "", "build tags for the server (e.g. cgosqlite to try the cgo SQLite driver)")
	flag.BoolVar(&o.profile, "profile", false, "serve with net/http/pprof (bench/pprofserver) and save CPU and allocation profiles per scenario under <data>/profiles")
	var so soakOptions
	flag.DurationVar(&so.duration, "soak", 0, "run the soak instead of the benchmark, for this long (e.g. 10m; see docs/soak.md)")
	flag.DurationVar(&so.warmup, "soak-warmup", 0, "soak warm-up, not judged (default: a fifth of -soak, at most 2m)")
	flag.IntVar(&so.topics, "soak-topics", 5000, "topics the soak seeds (and nine times as many replies)")
	flag.IntVar(&so.rate, "soak-rate", 300, "soak requests per second in all (0: as fast as the server answers)")
	flag.DurationVar(&so.every, "soak-every", 5*time.Second, "soak sampling interval")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if so.duration > 0 {
		if err := runSoak(ctx, o, so); err != nil {
			fmt.Fprintln(os.Stderr, "soak:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// row is one measured scenario.
type row struct {
	DB       string
	Key      string
	Name     string
	Kind     string
	Stats    Stats
	CPU      float64 // server CPU seconds per wall second (1.0 = one core)
	GenCPU   float64 // the load generator's
	OtherCPU float64 // every other process on the machine (noise)
	DBCPU    float64 // PostgreSQL backends serving the benchmark database (0 on SQLite, which runs in the server)
	RSSAnon  int64   // at the end: anonymous memory
	RSSFile  int64   // at the end: mapped files (the search index, SQLite pages)
	PeakRSS  int64
	Ratio    float64 // to the ceiling of its kind; 0 when none
	Ceiling  bool
	RSSReset bool
}

// targetRun is everything measured on one database.
type targetRun struct {
	Target     *target
	Times      seedTimes
	Fixtures   *fixtures
	Rows       []row
	StartRSS   int64 // peak RSS up to the first scenario (start-up)
	Locked     int   // "database is locked" lines in the server log
	ServerLog  string
	JSONSize   int
	HTMLSize   int
	SearchHits map[string]int
}

// buildInTemp builds agora from root into a new temporary folder, which
// the caller removes, and sets o.version to what it built.
func buildInTemp(root, prefix string, o *options) (tmp, bin string, err error) {
	if tmp, err = os.MkdirTemp("", prefix); err != nil {
		return "", "", err
	}
	o.version = sourceVersion(root)
	fmt.Printf("building agora (%s, %s) …\n", root, o.version)
	if bin, err = buildAgora(root, tmp, ".", o.tags); err != nil {
		os.RemoveAll(tmp)
		return "", "", err
	}
	return tmp, bin, nil
}

func run(ctx context.Context, o options) error {
	suiteStart := time.Now()
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	if o.data == "" {
		o.data = filepath.Join(root, "bench", "data")
	}
	if o.data, err = filepath.Abs(o.data); err != nil {
		return err
	}
	if err := os.MkdirAll(o.data, 0o755); err != nil {
		return err
	}
	tmp, bin, err := buildInTemp(root, "agora-bench-", &o)
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	serverBin := bin
	if o.profile {
		if serverBin, err = buildAgora(root, tmp, "./bench/pprofserver", o.tags); err != nil {
			return err
		}
	}

	targets := []*target{{Name: "sqlite", URL: "sqlite://" + filepath.Join(o.data, "agora.db"),
		SearchDir: filepath.Join(o.data, "search"), DataDir: o.data, marker: "sqlite"}}
	if o.pg {
		targets = append(targets, &target{Name: "postgres", URL: o.pgURL,
			SearchDir: filepath.Join(o.data, "search-pg"), DataDir: o.data, marker: "postgres"})
	}

	var runs []*targetRun
	var prepTime time.Duration
	var ceilBefore []row
	for _, t := range targets {
		prepStart := time.Now()
		if t.Name == "postgres" {
			if err := ensurePGDatabase(ctx, t.URL); err != nil {
				return err
			}
		}
		times, err := prepareData(ctx, bin, t)
		if err != nil {
			return err
		}
		if times.SeedNow || times.ReindexNow {
			prepTime += time.Since(prepStart)
		}
		fx, err := prepareFixtures(ctx, bin, t)
		if err != nil {
			return fmt.Errorf("[%s] fixtures: %w", t.Name, err)
		}
		fmt.Printf("[%s] fixtures: %d members + 1 moderator with tokens, %d open queue entries, %d topics with ≥ 19 replies (using %d)\n",
			t.Name, len(fx.Members), fx.OpenQueue, fx.LongTotal, len(fx.Topics))
		var before func(jsonSize, htmlSize int) error
		if len(runs) == 0 {
			// The first pass of the ceilings, once the answer sizes are known.
			before = func(jsonSize, htmlSize int) error {
				rows, err := runCeilings(ctx, o, jsonSize, htmlSize, "before")
				ceilBefore = rows
				return err
			}
		}
		tr, err := benchTarget(ctx, o, serverBin, t, fx, before)
		if err != nil {
			return err
		}
		tr.Times = times
		runs = append(runs, tr)
	}

	// The ceilings again, after everything: the machine's speed drifts
	// (other tenants), so each ratio uses the mean of both passes.
	ceilAfter, err := runCeilings(ctx, o, runs[0].JSONSize, runs[0].HTMLSize, "after")
	if err != nil {
		return err
	}
	ceil := append(ceilBefore, ceilAfter...)
	jsonCeil, htmlCeil := meanRPS(ceil, kindJSON), meanRPS(ceil, kindHTML)
	for _, tr := range runs {
		for i := range tr.Rows {
			r := &tr.Rows[i]
			switch r.Kind {
			case kindHTML:
				r.Ratio = r.Stats.RPS() / max(htmlCeil, 1)
			case kindJSON:
				r.Ratio = r.Stats.RPS() / max(jsonCeil, 1)
			}
		}
	}
	report(os.Stdout, o, runs, ceil)
	fmt.Printf("\nsuite took %s (of which one-time seeding/indexing %s)\n",
		time.Since(suiteStart).Round(time.Second), prepTime.Round(time.Second))
	return nil
}

// benchTarget starts the server on t and runs every scenario against it.
func benchTarget(ctx context.Context, o options, bin string, t *target, fx *fixtures,
	before func(jsonSize, htmlSize int) error) (*targetRun, error) {
	tr := &targetRun{Target: t, Fixtures: fx, SearchHits: map[string]int{}}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	cmd := exec.Command(bin, "serve")
	cmd.Env = agoraEnv(t, "AGORA_ADDR="+addr, "AGORA_RATE_LIMIT=100000000", "AGORA_ABUSE_LIMITS=off")
	var prof *profiler
	if o.profile {
		pport, err := freePort()
		if err != nil {
			return nil, err
		}
		prof = &profiler{addr: "127.0.0.1:" + strconv.Itoa(pport), dir: filepath.Join(t.DataDir, "profiles"), db: t.Name}
		cmd.Env = append(cmd.Env, "BENCH_PPROF_ADDR="+prof.addr)
	}
	tr.ServerLog = filepath.Join(t.DataDir, "server-"+t.Name+".log")
	srv, err := startChild(cmd, addr, tr.ServerLog)
	if err != nil {
		return nil, err
	}
	defer srv.stop(20 * time.Second)
	base := "http://" + addr
	fmt.Printf("[%s] server pid %d on %s; waiting for /readyz and the search index …\n", t.Name, srv.pid(), addr)
	if err := srv.waitHTTP(ctx, base+"/readyz", time.Minute); err != nil {
		return nil, err
	}
	if err := srv.waitHTTP(ctx, base+"/api/v1/search?q=export", 20*time.Minute); err != nil {
		return nil, err
	}
	for _, q := range searchQueries {
		var res struct {
			Total int `json:"total"`
		}
		if err := getJSON(base+"/api/v1/search?q="+strings.ReplaceAll(q, " ", "+"), &res); err != nil {
			return nil, fmt.Errorf("search %q: %w", q, err)
		}
		tr.SearchHits[q] = res.Total
	}
	least, most := -1, 0
	for _, n := range tr.SearchHits {
		if least < 0 || n < least {
			least = n
		}
		most = max(most, n)
	}
	fmt.Printf("[%s] %d search queries match %d to %d posts each\n", t.Name, len(tr.SearchHits), least, most)
	if least == 0 {
		return nil, fmt.Errorf("a search query matches nothing: %v", tr.SearchHits)
	}

	pools := newPools(fx)
	if tr.JSONSize, err = averageSize(base, pools.topicJSON, ""); err != nil {
		return nil, err
	}
	if tr.HTMLSize, err = averageSize(base, pools.topicHTML, ""); err != nil {
		return nil, err
	}
	fmt.Printf("[%s] topic page sizes: JSON %d bytes, HTML %d bytes (mean of 50)\n", t.Name, tr.JSONSize, tr.HTMLSize)

	took, ok := srv.settle(ctx, 10*time.Minute)
	if ok {
		fmt.Printf("[%s] server idle after %s (background work such as index merges done)\n", t.Name, took.Round(time.Second))
	} else {
		fmt.Printf("[%s] server still busy after %s; measuring anyway\n", t.Name, took.Round(time.Second))
	}
	tr.StartRSS = peakRSS(srv.pid())
	if before != nil {
		if err := before(tr.JSONSize, tr.HTMLSize); err != nil {
			return nil, err
		}
	}
	client := NewClient(addr, o.conns, 0)
	for _, sc := range scenarios(fx, pools) {
		if !selected(o.only, sc.Key) {
			continue
		}
		stopProf := prof.start(sc.Key, o.duration)
		r := measure(ctx, o, client, srv.pid(), pgName(t), sc)
		stopProf(r.Stats.Requests)
		r.DB = t.Name
		tr.Rows = append(tr.Rows, r)
		printRow(r)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
	srv.stop(20 * time.Second)
	if b, err := os.ReadFile(tr.ServerLog); err == nil {
		tr.Locked = strings.Count(string(b), "database is locked")
	}
	return tr, nil
}

func selected(only, key string) bool {
	if only == "" {
		return true
	}
	for _, k := range strings.Split(only, ",") {
		if strings.TrimSpace(k) == key {
			return true
		}
	}
	return false
}

// measure runs one scenario: a warm-up, then the measured run with the
// server's CPU time and peak RSS around it.
func measure(ctx context.Context, o options, hc *fasthttp.HostClient, pid int, pgDB string, sc scenario) row {
	if o.warmup > 0 {
		Run(ctx, RunConfig{Addr: hc.Addr, Conns: o.conns, Duration: o.warmup, Next: sc.Next, Client: hc})
	}
	reset := resetPeakRSS(pid)
	cpu0, _ := cpuSeconds(pid)
	self0, _ := cpuSeconds(os.Getpid())
	busy0 := machineBusy()
	db0 := backendCPU(pgDB)
	start := time.Now()
	st := Run(ctx, RunConfig{Addr: hc.Addr, Conns: o.conns, Duration: o.duration, Next: sc.Next, Client: hc})
	wall := time.Since(start).Seconds()
	cpu1, _ := cpuSeconds(pid)
	self1, _ := cpuSeconds(os.Getpid())
	busy1 := machineBusy()
	dbCPU := backendDelta(db0, backendCPU(pgDB)) / wall
	server, gen := (cpu1-cpu0)/wall, (self1-self0)/wall
	r := row{Key: sc.Key, Name: sc.Name, Kind: sc.Kind, Stats: st, CPU: server, GenCPU: gen,
		DBCPU: dbCPU, OtherCPU: max(0, (busy1-busy0)/wall-server-gen-dbCPU), PeakRSS: peakRSS(pid), RSSReset: reset}
	r.RSSAnon, r.RSSFile = rssSplit(pid)
	return r
}

// runCeilings starts the bare-Fiber ceilings in a child process (this
// program in its hidden ceiling mode) and drives them like Agora.
func runCeilings(ctx context.Context, o options, jsonSize, htmlSize int, pass string) ([]row, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	cmd := exec.Command(self, "ceiling", "-addr", addr, "-json-size", strconv.Itoa(jsonSize), "-html-size", strconv.Itoa(htmlSize))
	logPath := filepath.Join(o.data, "server-ceiling-"+pass+".log")
	c, err := startChild(cmd, addr, logPath)
	if err != nil {
		return nil, err
	}
	defer c.stop(10 * time.Second)
	if err := c.waitHTTP(ctx, "http://"+addr+"/readyz", 30*time.Second); err != nil {
		return nil, err
	}
	client := NewClient(addr, o.conns, 0)
	var rows []row
	for _, sc := range []scenario{
		{"ceiling-json", fmt.Sprintf("ceiling: bare Fiber JSON, %d B (%s)", jsonSize, pass), kindJSON, func(*Worker) Req { return Req{URI: "/json"} }},
		{"ceiling-html", fmt.Sprintf("ceiling: bare Fiber html/template, 20 items, %d B (%s)", htmlSize, pass), kindHTML, func(*Worker) Req { return Req{URI: "/html"} }},
	} {
		r := measure(ctx, o, client, c.pid(), "", sc)
		r.DB, r.Ceiling, r.Ratio = "-", true, 1
		rows = append(rows, r)
		printRow(r)
	}
	return rows, nil
}

func getJSON(url string, v any) error {
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// averageSize is the mean body size of the first 50 URIs (as a guest).
func averageSize(base string, uris []string, token string) (int, error) {
	client := &http.Client{Timeout: 30 * time.Second}
	n, total := 0, 0
	for _, u := range uris[:min(50, len(uris))] {
		req, _ := http.NewRequest(http.MethodGet, base+u, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return 0, err
		}
		if resp.StatusCode != http.StatusOK {
			return 0, fmt.Errorf("GET %s: %s", u, resp.Status)
		}
		n++
		total += len(b)
	}
	if n == 0 {
		return 0, fmt.Errorf("no topics to measure")
	}
	return total / n, nil
}

// pgName is the PostgreSQL database of t, or "" for SQLite.
func pgName(t *target) string {
	if t.Name != "postgres" {
		return ""
	}
	name, _, err := pgAdminURL(t.URL)
	if err != nil {
		return ""
	}
	return name
}

// meanRPS is the mean requests/s of the ceiling rows of one kind.
func meanRPS(rows []row, kind string) float64 {
	var sum float64
	n := 0
	for _, r := range rows {
		if r.Kind == kind {
			sum += r.Stats.RPS()
			n++
		}
	}
	if n == 0 {
		return 0
	}
	return sum / float64(n)
}
