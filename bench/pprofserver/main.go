// Command pprofserver is agora with net/http/pprof on BENCH_PPROF_ADDR:
// the same cli.Run as the real binary, so `go run ./bench -profile` can
// take CPU and allocation profiles of the server under each scenario
// without any change to the application.
package main

import (
	"context"
	"fmt"
	"net/http"
	_ "net/http/pprof" //nolint:gosec // bound to 127.0.0.1 by the bench only
	"os"
	"os/signal"
	"runtime"
	"syscall"

	"agora/cli"
)

func main() {
	// Contention too: where requests wait (locks, channels, the connection pool).
	runtime.SetMutexProfileFraction(20)
	runtime.SetBlockProfileRate(100_000) // one sample per 100 µs blocked
	if addr := os.Getenv("BENCH_PPROF_ADDR"); addr != "" {
		go func() {
			if err := http.ListenAndServe(addr, nil); err != nil { //nolint:gosec // local profiling only
				fmt.Fprintln(os.Stderr, "pprof:", err)
			}
		}()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
