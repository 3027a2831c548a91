package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"agora/database"
	"agora/seed"
)

// seedCmd runs "agora seed --demo" or "agora seed --topics N --replies M --users U [--seed S]".
func seedCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("seed", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	demo := fs.Bool("demo", false, "write the small demo community")
	var o seed.Options
	fs.IntVar(&o.Topics, "topics", 0, "synthetic topics")
	fs.IntVar(&o.Replies, "replies", 0, "synthetic replies in total")
	fs.IntVar(&o.Users, "users", 0, "synthetic members")
	fs.Int64Var(&o.Seed, "seed", 1, "random seed")
	dbURL := fs.String("database-url", "", "database URL (default: AGORA_DATABASE_URL)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError(err.Error())
	}
	if fs.NArg() > 0 {
		return usageError("unexpected argument " + fs.Arg(0))
	}
	synthetic := o.Topics != 0 || o.Replies != 0 || o.Users != 0
	switch {
	case *demo && synthetic:
		return usageError("seed takes either --demo or --topics/--replies/--users, not both")
	case !*demo && !synthetic:
		return usageError("seed needs --demo or --topics N --replies M --users U")
	}
	if err := o.Validate(); err != nil {
		return usageError("seed: " + err.Error())
	}
	db, err := openDBFlag(ctx, *dbURL, getenv)
	if err != nil {
		return err
	}
	defer db.Close()

	if *demo {
		sum, err := seed.Demo(ctx, db, time.Now())
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "seeded %s\nsign in as nadia.okafor (moderator) or any demo member with password %s\n",
			sum, seed.DemoPassword)
		return nil
	}
	o.Progress = stderr
	sum, err := seed.Synthetic(ctx, db, o, time.Now())
	if err != nil {
		return err
	}
	if !database.IsSQLite(db) {
		// Fresh bulk data has no planner statistics until autovacuum runs (if
		// it does). Only Agora's schema: a bare ANALYZE reads every schema of
		// the database, which may hold much else (the tests' schemas do).
		var tables []string
		if err := db.NewRaw("SELECT quote_ident(tablename) FROM pg_tables WHERE schemaname = current_schema()").
			Scan(ctx, &tables); err != nil {
			return fmt.Errorf("analyze: %w", err)
		}
		if _, err := db.ExecContext(ctx, "ANALYZE "+strings.Join(tables, ", ")); err != nil {
			return fmt.Errorf("analyze: %w", err)
		}
	}
	fmt.Fprintf(stdout, "seeded %s (%.0f posts/s)\nrun agora reindex to make the new posts searchable\n",
		sum, sum.PostsPerSecond())
	return nil
}
