// Command agora is a community forum and moderation server. See README.md.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"agora/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
