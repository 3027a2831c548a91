// Package cli implements the agora command line: serve, migrate and user
// management. Exit codes: 0 success, 1 runtime failure, 2 bad usage or configuration.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/uptrace/bun"

	"agora/accounts"
	"agora/app"
	"agora/config"
	"agora/database"
	"agora/mailer"
	"agora/models"
	"agora/ratelimit"
	"agora/search"
	"agora/services"
)

const usage = `usage: agora [serve] [flags]
       agora migrate [up|down|status]
       agora user create --username U --email E --password P [--role member|moderator|admin]
       agora reindex
       agora modlog verify
       agora backup FILE
       agora badges backfill
       agora seed --demo | --topics N --replies M --users U [--seed S]

Settings come from AGORA_* environment variables; flags (--addr, --database-url,
--data-dir, --base-url, …) override them. See README.md.`

// Run executes the command in args and returns the process exit code.
func Run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 && (!strings.HasPrefix(args[0], "-") || args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
		cmd, args = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "serve":
		err = serve(ctx, args, getenv, stderr)
	case "migrate":
		err = migrateCmd(ctx, args, getenv, stdout)
	case "user":
		err = userCmd(ctx, args, getenv, stdout)
	case "reindex":
		err = reindexCmd(ctx, args, getenv, stdout, stderr)
	case "modlog":
		err = modlogCmd(ctx, args, getenv, stdout)
	case "backup":
		err = backupCmd(ctx, args, getenv, stdout)
	case "seed":
		err = seedCmd(ctx, args, getenv, stdout, stderr)
	case "badges":
		err = badgesCmd(ctx, args, getenv, stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprintln(stdout, usage)
		return 0
	default:
		err = usageError("unknown command " + cmd)
	}
	if err == nil {
		return 0
	}
	if errors.Is(err, flag.ErrHelp) { // `agora serve -h`: asked for, not a mistake
		fmt.Fprintln(stdout, usage)
		return 0
	}
	fmt.Fprintln(stderr, "agora: "+err.Error())
	var ue usageError
	var ce *config.Error
	var rf refusal
	if errors.As(err, &ue) || errors.As(err, &ce) || errors.Is(err, config.ErrBadFlag) || errors.Is(err, errStartup) ||
		errors.As(err, &rf) {
		if errors.As(err, &ue) || errors.Is(err, config.ErrBadFlag) {
			fmt.Fprintln(stderr, usage)
		}
		return 2
	}
	return 1
}

// usageError is a command line that makes no sense.
type usageError string

func (e usageError) Error() string { return string(e) }

// refusal is a command that will not do what it was asked, for a reason
// the user can fix (exit 2, without the usage text).
type refusal string

func (e refusal) Error() string { return string(e) }

// errStartup marks configuration that looked right but could not be used
// (unreachable database, unwritable data directory, address in use).
var errStartup = errors.New("cannot start")

// connect opens the configured database as it is, without migrating it.
func connect(ctx context.Context, cfg config.Config) (*bun.DB, error) {
	db, err := database.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, fmt.Errorf("%w: AGORA_DATABASE_URL=%s: %v", errStartup, config.Redact(cfg.DatabaseURL), err)
	}
	return db, nil
}

// openDB opens and migrates the configured database.
func openDB(ctx context.Context, cfg config.Config) (*bun.DB, error) {
	db, err := connect(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if _, err := database.Migrate(ctx, db); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// openDBFlag opens and migrates the database named by a command's
// --database-url flag, or by the environment when the flag is empty.
func openDBFlag(ctx context.Context, dbURL string, getenv func(string) string) (*bun.DB, error) {
	var args []string
	if dbURL != "" {
		args = []string{"--database-url", dbURL}
	}
	cfg, _, err := config.Load(args, getenv)
	if err != nil {
		return nil, err
	}
	return openDB(ctx, cfg)
}

func serve(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	cfg, rest, err := config.Load(args, getenv)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageError("unexpected argument " + rest[0])
	}
	log := newLogger(cfg.LogLevel, stderr)
	db, err := openDB(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()

	setupToken, err := setupToken(ctx, db)
	if err != nil {
		return err
	}
	index, err := search.Open(cfg.SearchDir)
	if err != nil && !errors.Is(err, search.ErrNoIndex) {
		return fmt.Errorf("%w: AGORA_SEARCH_DIR=%s: %v", errStartup, cfg.SearchDir, err)
	}
	if err != nil {
		log.Warn("search index will be rebuilt", "dir", cfg.SearchDir, "reason", err)
	}
	defer index.Close()

	sender, err := mailer.NewSender(cfg.SMTPURL, log)
	if err != nil {
		return &config.Error{Var: "AGORA_SMTP_URL", Value: "(hidden)", Why: err.Error()}
	}
	var limits ratelimit.Store // nil: the database
	if cfg.RedisURL != "" {
		r, err := ratelimit.OpenRedis(ctx, cfg.RedisURL)
		if err != nil {
			return fmt.Errorf("%w: AGORA_REDIS_URL=%s: %v", errStartup, config.Redact(cfg.RedisURL), err)
		}
		defer r.Close()
		limits = r
	}
	set, err := services.New(ctx, db, nil, index, services.Options{Mail: mailer.Config{BaseURL: cfg.BaseURL, From: cfg.MailFrom,
		PostalAddress: cfg.MailPostalAddress, Sender: sender, Log: log}, RetentionDays: cfg.RetentionDays, Limits: limits})
	if err != nil {
		return err
	}
	background, stopBackground := context.WithCancel(context.WithoutCancel(ctx))
	workers := startBackground(background, db, set, index, log)
	defer func() { stopBackground(); workers.Wait() }()

	fiberApp, err := app.New(app.Deps{Set: set, Config: cfg, Log: log, SetupToken: setupToken})
	if err != nil {
		return fmt.Errorf("%w: %v", errStartup, err)
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("%w: AGORA_ADDR=%s: %v", errStartup, cfg.Addr, err)
	}
	baseURL := cfg.BaseURL
	if _, port, _ := net.SplitHostPort(cfg.Addr); port == "0" && baseURL == "http://"+cfg.Addr {
		// No AGORA_BASE_URL and a port picked by the system: link to where we really listen.
		baseURL = "http://" + ln.Addr().String()
	}
	limitsIn := "database"
	if cfg.RedisURL != "" {
		limitsIn = "redis " + config.Redact(cfg.RedisURL)
	}
	log.Info("agora listening", "addr", ln.Addr().String(), "url", baseURL,
		"database", db.Dialect().Name().String(), "database_url", config.Redact(cfg.DatabaseURL), "rate_limits", limitsIn)
	if setupToken != "" {
		log.Warn("no admin account yet: open the one-time setup link to create it",
			"url", baseURL+"/setup?token="+setupToken)
	}

	served := make(chan error, 1)
	go func() { served <- fiberApp.Listener(app.Linger(ln)) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing in-flight requests", "grace", cfg.ShutdownGrace.String())
	if err := fiberApp.ShutdownWithTimeout(cfg.ShutdownGrace); err != nil {
		log.Warn("shutdown", "err", err)
	}
	log.Info("stopped")
	return nil
}

// startBackground runs the server's background work until ctx ends: the
// search indexer, the flusher of views, reads and visits, the mail queue,
// the durable schedule (the nightly level pass, the digests, the retention
// pass with expired sessions), the purge of expired rate-limit counters and
// the re-rendering of posts made by an
// older markup policy.
func startBackground(ctx context.Context, db *bun.DB, set services.Set, index *search.Index, log *slog.Logger) *sync.WaitGroup {
	var wg sync.WaitGroup
	wg.Go(func() {
		(&search.Indexer{DB: db, Index: index, Log: log}).Run(ctx, 250*time.Millisecond)
	})
	wg.Go(func() {
		set.Views.Run(ctx, 5*time.Second, func(err error) { log.Error("flush view counts", "err", err) })
	})
	wg.Go(func() {
		set.Mail.Run(ctx, 5*time.Second, func(err error) { log.Error("mail pass", "err", err) })
	})
	wg.Go(func() {
		set.Schedule.Run(ctx, time.Minute, func(err error) { log.Error("scheduled pass", "err", err) })
	})
	wg.Go(func() {
		set.Limits.Run(ctx, time.Minute, func(err error) { log.Error("purge rate limits", "err", err) })
	})
	wg.Go(func() {
		n, err := set.Forum.RerenderStale(ctx, 500)
		if err != nil && ctx.Err() == nil {
			log.Error("re-render posts", "err", err)
		}
		if n > 0 {
			log.Info("re-rendered posts for the current markup policy", "posts", n)
		}
	})
	return &wg
}

// setupToken returns a fresh one-time token while no admin exists, else "".
func setupToken(ctx context.Context, db bun.IDB) (string, error) {
	exists, err := models.AdminExists(ctx, db)
	if err != nil || exists {
		return "", err
	}
	return accounts.NewToken(), nil
}

func newLogger(level string, w io.Writer) *slog.Logger {
	var l slog.Level
	l.UnmarshalText([]byte(level)) //nolint:errcheck // config.Load validated it
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}

func migrateCmd(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	sub := "up"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		sub, args = args[0], args[1:]
	}
	cfg, _, err := config.Load(args, getenv)
	if err != nil {
		return err
	}
	db, err := connect(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	m, err := database.Migrator(db)
	if err != nil {
		return err
	}
	if err := m.Init(ctx); err != nil {
		return err
	}
	switch sub {
	case "up":
		names, err := database.Migrate(ctx, db)
		if err != nil {
			return err
		}
		if len(names) == 0 {
			fmt.Fprintln(stdout, "database is up to date")
		}
		for _, n := range names {
			fmt.Fprintln(stdout, "applied", n)
		}
	case "down":
		unlock, err := database.LockMigrations(ctx, db)
		if err != nil {
			return err
		}
		defer unlock()
		group, err := m.Rollback(ctx)
		if err != nil {
			return err
		}
		if group.IsZero() {
			fmt.Fprintln(stdout, "nothing to roll back")
		}
		for _, mig := range group.Migrations {
			fmt.Fprintln(stdout, "rolled back", mig.Name+"_"+mig.Comment)
		}
	case "status":
		ms, err := m.MigrationsWithStatus(ctx)
		if err != nil {
			return err
		}
		for _, mig := range ms {
			state := "pending"
			if mig.IsApplied() {
				state = "applied " + mig.MigratedAt.UTC().Format("2006-01-02 15:04:05")
			}
			fmt.Fprintf(stdout, "%s_%s\t%s\n", mig.Name, mig.Comment, state)
		}
	default:
		return usageError("migrate takes up, down or status")
	}
	return nil
}

func userCmd(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		return usageError("user takes: create")
	}
	fs := flag.NewFlagSet("user create", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	username := fs.String("username", "", "username")
	email := fs.String("email", "", "email")
	password := fs.String("password", "", "password")
	role := fs.String("role", models.RoleMember, "member, moderator or admin")
	dbURL := fs.String("database-url", "", "database URL (default: AGORA_DATABASE_URL)")
	if err := fs.Parse(args[1:]); err != nil {
		return usageError(err.Error())
	}
	db, err := openDBFlag(ctx, *dbURL, getenv)
	if err != nil {
		return err
	}
	defer db.Close()
	u, err := accounts.New(db, nil).Register(ctx, accounts.RegisterInput{
		Username: *username, Email: *email, Password: *password, AgeConfirmed: true, Role: *role,
	})
	var ve *models.ValidationError
	if errors.As(err, &ve) {
		return usageError(ve.Error())
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "created %s %s (id %d)\n", u.Role, u.Username, u.ID)
	return nil
}
