package cli

import (
	"context"
	"fmt"
	"io"
	"time"

	"agora/config"
	"agora/internal/progress"
	"agora/services"
)

// badgesCmd implements `agora badges backfill`: grant every rule badge to
// the members who already qualify (a rule added later, or data imported),
// then recompute every level. Both are idempotent: a second run grants nothing.
func badgesCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "backfill" {
		return usageError("badges takes one subcommand: backfill")
	}
	cfg, rest, err := config.Load(args[1:], getenv)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageError("badges backfill takes no arguments")
	}
	db, err := openDB(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	set, err := services.New(ctx, db, nil, nil, services.Options{})
	if err != nil {
		return err
	}
	start := time.Now()
	changed, err := set.Levels.Nightly(ctx)
	if err != nil {
		return err
	}
	bar := progress.New(stderr, "members", 0)
	n, err := set.Badges.Backfill(ctx, bar.Set)
	bar.Finish()
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "granted %d badges and changed %d levels in %s\n", n, changed, time.Since(start).Round(time.Millisecond))
	return nil
}
