package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"agora/config"
	"agora/internal/progress"
	"agora/search"
)

// reindexCmd implements `agora reindex`: rebuild the search index from the
// database into a new folder and swap it in atomically. A running server
// keeps answering from the old index and picks up the new one by itself.
func reindexCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, rest, err := config.Load(args, getenv)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageError("reindex takes no arguments")
	}
	db, err := openDB(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	index, err := search.Open(cfg.SearchDir)
	if err != nil && !errors.Is(err, search.ErrNoIndex) {
		return fmt.Errorf("%w: AGORA_SEARCH_DIR=%s: %v", errStartup, cfg.SearchDir, err)
	}
	defer index.Close()
	start := time.Now()
	bar := progress.New(stderr, "posts", 0)
	n, err := search.Rebuild(ctx, db, index, bar.Set)
	bar.Finish()
	if err != nil {
		return err
	}
	took := time.Since(start)
	fmt.Fprintf(stdout, "indexed %d posts in %s (%.0f posts/s) into %s\n", n, took.Round(time.Millisecond),
		float64(n)/max(took.Seconds(), 0.001), cfg.SearchDir)
	return nil
}
