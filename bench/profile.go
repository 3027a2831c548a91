package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// profiler takes CPU, allocation, mutex and block profiles of the server
// (bench/pprofserver) over each measured scenario.
type profiler struct {
	addr, dir, db string
}

// start begins both profiles for the next d; the returned func waits for
// them, saves them and prints the allocations per request.
func (p *profiler) start(key string, d time.Duration) func(requests int64) {
	if p == nil {
		return func(int64) {}
	}
	if err := os.MkdirAll(p.dir, 0o755); err != nil {
		fmt.Println("  profile:", err)
		return func(int64) {}
	}
	secs := strconv.Itoa(max(1, int(d.Round(time.Second)/time.Second)))
	base := filepath.Join(p.dir, p.db+"-"+key)
	var wg sync.WaitGroup
	for _, prof := range []struct{ path, file string }{
		{"/debug/pprof/profile?seconds=" + secs, base + ".cpu.pprof"},
		{"/debug/pprof/allocs?seconds=" + secs, base + ".allocs.pprof"},
		{"/debug/pprof/mutex?seconds=" + secs, base + ".mutex.pprof"},
		{"/debug/pprof/block?seconds=" + secs, base + ".block.pprof"},
	} {
		wg.Go(func() {
			if err := fetch("http://"+p.addr+prof.path, prof.file); err != nil {
				fmt.Println("  profile:", err)
			}
		})
	}
	return func(requests int64) {
		wg.Wait()
		fmt.Printf("           profiles: %s.{cpu,allocs,mutex,block}.pprof", base)
		if objs, bytes, ok := allocTotals(base + ".allocs.pprof"); ok && requests > 0 {
			fmt.Printf("; ≈ %d allocations and %d KB allocated per request", objs/requests, bytes/requests/1024)
		}
		fmt.Println()
	}
}

func fetch(url, file string) error {
	resp, err := (&http.Client{Timeout: 2 * time.Minute}).Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, resp.Body)
	return errorsJoin(err, f.Close())
}

func errorsJoin(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// allocTotals sums a delta allocs profile with `go tool pprof -raw`-free
// means: the totals line of `go tool pprof -top` for objects and bytes.
func allocTotals(file string) (objects, bytes int64, ok bool) {
	total := func(index string) (int64, bool) {
		out, err := exec.Command("go", "tool", "pprof", "-sample_index="+index, "-top", "-nodecount=1", file).Output()
		if err != nil {
			return 0, false
		}
		// "Showing nodes accounting for X, Y% of Z total"
		for _, line := range strings.Split(string(out), "\n") {
			if i := strings.Index(line, " of "); i >= 0 && strings.HasSuffix(strings.TrimSpace(line), "total") {
				v := strings.Fields(line[i+4:])[0]
				return parseQuantity(v)
			}
		}
		return 0, false
	}
	o, ok1 := total("alloc_objects")
	b, ok2 := total("alloc_space")
	return o, b, ok1 && ok2
}

// parseQuantity reads pprof's 12345, 1.5k, 3.2M, 10.5MB, 900kB, 2GB.
func parseQuantity(s string) (int64, bool) {
	mult := 1.0
	for _, u := range []struct {
		suffix string
		m      float64
	}{{"GB", 1 << 30}, {"MB", 1 << 20}, {"kB", 1 << 10}, {"B", 1}, {"G", 1e9}, {"M", 1e6}, {"k", 1e3}} {
		if v, ok := strings.CutSuffix(s, u.suffix); ok {
			s, mult = v, u.m
			break
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, false
	}
	return int64(f * mult), true
}
