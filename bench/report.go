package main

import (
	"fmt"
	"io"
	"runtime"
	"sort"
	"strings"
	"time"
)

func ms(d time.Duration) string {
	v := float64(d) / float64(time.Millisecond)
	switch {
	case v < 10:
		return fmt.Sprintf("%.2f ms", v)
	case v < 100:
		return fmt.Sprintf("%.1f ms", v)
	}
	return fmt.Sprintf("%.0f ms", v)
}

func mb(n int64) string { return fmt.Sprintf("%.0f MB", float64(n)/(1<<20)) }

func thousands(v float64) string {
	s := fmt.Sprintf("%.0f", v)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// cpuPerReq is the server's CPU time per request (plus PostgreSQL's), in
// milliseconds: steadier than requests/s on a shared machine.
func cpuPerReq(r row) float64 {
	if r.Stats.Requests == 0 {
		return 0
	}
	return 1000 * (r.CPU + r.DBCPU) * r.Stats.Elapsed.Seconds() / float64(r.Stats.Requests)
}

// printRow is the progress line after each scenario.
func printRow(r row) {
	errs := fmt.Sprint(r.Stats.Errors)
	if s := r.Stats.ErrorSummary(); s != "" {
		errs += " (" + s + ")"
	}
	fmt.Printf("  %-8s %-50s %8s req/s  p50 %-9s p99 %-9s errors %-6s CPU/req %.2f ms  server CPU %4.0f%%%s  load gen %4.0f%%  other %4.0f%%  peak RSS %s (now %s anon + %s files)\n",
		r.DB, r.Name, thousands(r.Stats.RPS()), ms(r.Stats.P50), ms(r.Stats.P99), errs, cpuPerReq(r), 100*r.CPU, dbNote(r), 100*r.GenCPU, 100*r.OtherCPU,
		mb(r.PeakRSS), mb(r.RSSAnon), mb(r.RSSFile))
	for _, s := range r.Stats.Samples {
		fmt.Printf("           error sample: %s\n", s)
	}
	if len(r.Stats.Kinds) > 0 {
		keys := make([]string, 0, len(r.Stats.Kinds))
		for k := range r.Stats.Kinds {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, 0, len(keys))
		for _, k := range keys {
			parts = append(parts, fmt.Sprintf("%s %d", k, r.Stats.Kinds[k]))
		}
		fmt.Printf("           requests by kind: %s\n", strings.Join(parts, ", "))
	}
}

func dbNote(r row) string {
	if r.DB != "postgres" {
		return ""
	}
	return fmt.Sprintf(" + PostgreSQL %3.0f%%", 100*r.DBCPU)
}

// report prints the table and the targets of issue 6.
func report(w io.Writer, o options, runs []*targetRun, ceil []row) {
	fmt.Fprintf(w, "\n## Results (%d connections, %s per scenario after %s warm-up, %d CPUs, %s, %s)\n\n",
		o.conns, o.duration, o.warmup, runtime.NumCPU(), runtime.Version(), o.version)
	fmt.Fprintln(w, "| db | scenario | requests/s | p50 | p99 | errors | server CPU | peak RSS | vs ceiling | CPU ms/request | PostgreSQL CPU | load gen CPU | other CPU |")
	fmt.Fprintln(w, "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	line := func(r row) {
		ratio := "—"
		if r.Ratio > 0 && !r.Ceiling {
			ratio = fmt.Sprintf("%.0f%% of %s", 100*r.Ratio, r.Kind)
		}
		errs := fmt.Sprint(r.Stats.Errors)
		if s := r.Stats.ErrorSummary(); s != "" {
			errs += " (" + s + ")"
		}
		pg := "—"
		if r.DB == "postgres" {
			pg = fmt.Sprintf("%.0f%%", 100*r.DBCPU)
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %.0f%% | %s | %s | %.2f | %s | %.0f%% | %.0f%% |\n", r.DB, r.Name, thousands(r.Stats.RPS()),
			ms(r.Stats.P50), ms(r.Stats.P99), errs, 100*r.CPU, mb(r.PeakRSS), ratio, cpuPerReq(r), pg, 100*r.GenCPU, 100*r.OtherCPU)
	}
	for _, tr := range runs {
		for _, r := range tr.Rows {
			line(r)
		}
	}
	for _, r := range ceil {
		line(r)
	}
	fmt.Fprintln(w, "\nserver CPU: share of one core used by the server process during the scenario (200% = both cores);"+
		" the load generator runs on the same machine and competes for the same two cores (load gen CPU);"+
		" CPU ms/request is the server's (plus PostgreSQL's) CPU time per request, steadier than requests/s when the machine is shared;"+
		" PostgreSQL CPU is the backends serving the benchmark database; other CPU is every other process on the machine"+
		" during the scenario (noise: should be near 0%).")

	for _, tr := range runs {
		fmt.Fprintf(w, "\n[%s] seed %s%s, reindex %s%s; server start-up peak RSS %s; \"database is locked\" in the server log: %d\n",
			tr.Target.Name, tr.Times.Seed.Round(time.Second), measuredNow(tr.Times.SeedNow),
			tr.Times.Reindex.Round(time.Second), measuredNow(tr.Times.ReindexNow), mb(tr.StartRSS), tr.Locked)
	}
	if len(runs) == 0 || runs[0].Target.Name != "sqlite" {
		return
	}
	tr := runs[0]
	by := map[string]row{}
	for _, r := range tr.Rows {
		by[r.Key] = r
	}
	fmt.Fprintln(w, "\n## Targets (SQLite, 1 M posts)")
	fmt.Fprintln(w)
	check := func(ok bool, what, got string) {
		mark := "FAIL"
		if ok {
			mark = "pass"
		}
		fmt.Fprintf(w, "- [%s] %s — %s\n", mark, what, got)
	}
	rps := func(key string, min float64, what string) {
		r, ok := by[key]
		if !ok {
			return
		}
		check(r.Stats.RPS() >= min, fmt.Sprintf("%s ≥ %s req/s", what, thousands(min)), thousands(r.Stats.RPS())+" req/s")
	}
	p99 := func(key string, limit time.Duration, what string) {
		r, ok := by[key]
		if !ok {
			return
		}
		check(r.Stats.P99 < limit, fmt.Sprintf("%s p99 < %s", what, ms(limit)), ms(r.Stats.P99))
	}
	rps("topic-html", 4000, "topic page HTML")
	if r, ok := by["topic-html"]; ok {
		check(r.Ratio >= 0.6, "topic page HTML ≥ 60% of the bare template ceiling",
			fmt.Sprintf("%.0f%% (%s vs %s req/s, the mean of the ceiling's two passes)", 100*r.Ratio, thousands(r.Stats.RPS()),
				thousands(meanRPS(ceil, kindHTML))))
	}
	p99("topic-html", 25*time.Millisecond, "topic page HTML")
	rps("topic-json", 15000, "topic page JSON")
	p99("topic-json", 25*time.Millisecond, "topic page JSON")
	rps("list-html", 4000, "topic list HTML")
	p99("list-html", 25*time.Millisecond, "topic list HTML")
	rps("list-json", 4000, "topic list JSON")
	p99("list-json", 25*time.Millisecond, "topic list JSON")
	rps("search", 1500, "search")
	p99("search", 40*time.Millisecond, "search")
	rps("mixed", 3000, "mixed workload")
	if r, ok := by["mixed"]; ok {
		check(r.Stats.Errors == 0, "mixed workload with zero errors", fmt.Sprintf("%d errors %s", r.Stats.Errors, r.Stats.ErrorSummary()))
	}
	check(tr.Locked == 0, `no "database is locked"`, fmt.Sprintf("%d in %s", tr.Locked, tr.ServerLog))
	peak := tr.StartRSS
	for _, r := range tr.Rows {
		peak = max(peak, r.PeakRSS)
	}
	check(peak < 400<<20, "server RSS < 400 MB", mb(peak)+" (largest peak: start-up or any scenario)")
	check(tr.Times.Seed > 0 && tr.Times.Seed < 2*time.Minute, "seed of 1 M posts < 2 min", tr.Times.Seed.Round(time.Second).String()+measuredNow(tr.Times.SeedNow))
	check(tr.Times.Reindex > 0 && tr.Times.Reindex < 5*time.Minute, "full reindex < 5 min", tr.Times.Reindex.Round(time.Second).String()+measuredNow(tr.Times.ReindexNow))
}

func measuredNow(now bool) string {
	if now {
		return " (this run)"
	}
	return " (when the data was created; see bench/data/*.seeded, *.indexed)"
}
