package main

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/driver/pgdriver"

	"agora/database"
)

// Seeding sizes of the benchmark forum (issue 6).
const (
	seedTopics  = 100_000
	seedReplies = 900_000
	seedUsers   = 50_000

	benchMembers   = 32
	fixtureFlags   = 1000
	flagsPerMember = 20 // the domain's limit per member and hour
	topicPoolSize  = 5000
	fixtureNote    = "bench fixture"
	benchPassword  = "bench-password-2026"
)

// moduleRoot finds the directory of go.mod: `go env GOMOD`, else walking up.
func moduleRoot() (string, error) {
	if out, err := exec.Command("go", "env", "GOMOD").Output(); err == nil {
		if p := strings.TrimSpace(string(out)); p != "" && p != os.DevNull {
			return filepath.Dir(p), nil
		}
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the working directory")
		}
		dir = parent
	}
}

// buildAgora compiles the server (pkg: "." or the profiling variant) into
// dir and returns the binary's path.
func buildAgora(root, dir, pkg, tags string) (string, error) {
	bin := filepath.Join(dir, "agora")
	if pkg != "." {
		bin = filepath.Join(dir, filepath.Base(pkg))
	}
	args := []string{"build", "-o", bin}
	if tags != "" {
		args = append(args, "-tags", tags)
	}
	cmd := exec.Command("go", append(args, pkg)...)
	cmd.Dir = root
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build: %w", err)
	}
	return bin, nil
}

// target is one database the suite runs against.
type target struct {
	Name      string // "sqlite" or "postgres"
	URL       string // AGORA_DATABASE_URL
	SearchDir string
	DataDir   string
	marker    string // prefix of the marker files in DataDir
	noQueue   bool   // no moderation-queue fixtures (they need a million posts): the soak's small forum
}

// marker records a finished one-time step and how long it took.
type marker struct {
	Seconds  float64   `json:"seconds"`
	Finished time.Time `json:"finished"`
	Command  string    `json:"command"`
}

func readMarker(path string) (*marker, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, false
	}
	var m marker
	if json.Unmarshal(b, &m) != nil {
		return nil, false
	}
	return &m, true
}

func writeMarker(path string, m marker) error {
	b, _ := json.MarshalIndent(m, "", "  ")
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// agoraEnv is the environment for agora commands against t: this process's
// environment without any AGORA_* setting, plus the ones given.
func agoraEnv(t *target, extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AGORA_") {
			env = append(env, kv)
		}
	}
	env = append(env, "AGORA_DATABASE_URL="+t.URL, "AGORA_DATA_DIR="+t.DataDir, "AGORA_SEARCH_DIR="+t.SearchDir,
		"AGORA_LOG_LEVEL=warn")
	return append(env, extra...)
}

// runAgora runs one agora command, its output going to ours.
func runAgora(ctx context.Context, bin string, t *target, args ...string) error {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = agoraEnv(t)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("agora %s: %w", strings.Join(args, " "), err)
	}
	return nil
}

// seedTimes is what the one-time preparation took (from the markers when reused).
type seedTimes struct {
	Seed, Reindex       time.Duration
	SeedNow, ReindexNow bool // measured in this run
}

// prepareData seeds and indexes t once; later runs reuse both. A marker
// written after each step finished tells a complete database from a
// half-seeded one, which is thrown away and redone.
func prepareData(ctx context.Context, bin string, t *target) (seedTimes, error) {
	var times seedTimes
	seededPath := filepath.Join(t.DataDir, t.marker+".seeded")
	indexedPath := filepath.Join(t.DataDir, t.marker+".indexed")
	seedArgs := []string{"seed", "--topics", fmt.Sprint(seedTopics), "--replies", fmt.Sprint(seedReplies),
		"--users", fmt.Sprint(seedUsers)}

	m, ok := readMarker(seededPath)
	if ok && dataExists(ctx, t) {
		times.Seed = time.Duration(m.Seconds * float64(time.Second))
		fmt.Printf("[%s] reusing the seeded database (seeded in %s on %s)\n", t.Name, times.Seed.Round(time.Second),
			m.Finished.Format(time.DateTime))
	} else {
		fmt.Printf("[%s] seeding %d topics, %d replies, %d members (once) …\n", t.Name, seedTopics, seedReplies, seedUsers)
		os.Remove(indexedPath)
		if err := resetDatabase(ctx, t); err != nil {
			return times, err
		}
		start := time.Now()
		if err := runAgora(ctx, bin, t, seedArgs...); err != nil {
			return times, err
		}
		times.Seed, times.SeedNow = time.Since(start), true
		fmt.Printf("[%s] seed took %s\n", t.Name, times.Seed.Round(time.Millisecond))
		if err := writeMarker(seededPath, marker{Seconds: times.Seed.Seconds(), Finished: time.Now().UTC(),
			Command: "agora " + strings.Join(seedArgs, " ")}); err != nil {
			return times, err
		}
	}

	m, ok = readMarker(indexedPath)
	if _, err := os.Stat(t.SearchDir); ok && err == nil {
		times.Reindex = time.Duration(m.Seconds * float64(time.Second))
		fmt.Printf("[%s] reusing the search index (built in %s)\n", t.Name, times.Reindex.Round(time.Second))
		return times, nil
	}
	fmt.Printf("[%s] agora reindex (once) …\n", t.Name)
	os.RemoveAll(t.SearchDir)
	start := time.Now()
	if err := runAgora(ctx, bin, t, "reindex"); err != nil {
		return times, err
	}
	times.Reindex, times.ReindexNow = time.Since(start), true
	fmt.Printf("[%s] reindex took %s\n", t.Name, times.Reindex.Round(time.Millisecond))
	return times, writeMarker(indexedPath, marker{Seconds: times.Reindex.Seconds(), Finished: time.Now().UTC(),
		Command: "agora reindex"})
}

// dataExists checks that the marked database is really there and full.
func dataExists(ctx context.Context, t *target) bool {
	if t.Name == "sqlite" {
		if _, err := os.Stat(strings.TrimPrefix(t.URL, "sqlite://")); err != nil {
			return false
		}
	}
	db, err := database.Open(ctx, t.URL)
	if err != nil {
		return false
	}
	defer db.Close()
	var maxID int64
	if err := db.NewRaw("SELECT COALESCE(MAX(id), 0) FROM posts").Scan(ctx, &maxID); err != nil {
		return false
	}
	return maxID >= seedTopics+seedReplies
}

// resetDatabase removes whatever a failed run left: the SQLite files, or
// the PostgreSQL database (created afresh).
func resetDatabase(ctx context.Context, t *target) error {
	os.RemoveAll(t.SearchDir)
	if t.Name == "sqlite" {
		path := strings.TrimPrefix(t.URL, "sqlite://")
		for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
			if err := os.Remove(path + suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
		}
		return nil
	}
	name, admin, err := pgAdminURL(t.URL)
	if err != nil {
		return err
	}
	db := sql.OpenDB(pgdriver.NewConnector(pgdriver.WithDSN(admin), pgdriver.WithTimeout(10*time.Second)))
	defer db.Close()
	if _, err := db.ExecContext(ctx, `DROP DATABASE IF EXISTS "`+name+`" WITH (FORCE)`); err != nil {
		return fmt.Errorf("drop database %s: %w", name, err)
	}
	if _, err := db.ExecContext(ctx, `CREATE DATABASE "`+name+`"`); err != nil {
		return fmt.Errorf("create database %s: %w", name, err)
	}
	return nil
}

// ensurePGDatabase creates the PostgreSQL database when it is missing.
func ensurePGDatabase(ctx context.Context, url string) error {
	name, admin, err := pgAdminURL(url)
	if err != nil {
		return err
	}
	db := sql.OpenDB(pgdriver.NewConnector(pgdriver.WithDSN(admin), pgdriver.WithTimeout(10*time.Second)))
	defer db.Close()
	var n int
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM pg_database WHERE datname = $1", name).Scan(&n); err != nil {
		return fmt.Errorf("PostgreSQL at %s: %w", admin, err)
	}
	if n == 0 {
		if _, err := db.ExecContext(ctx, `CREATE DATABASE "`+name+`"`); err != nil {
			return fmt.Errorf("create database %s: %w", name, err)
		}
	}
	return nil
}

// pgAdminURL returns the database name of url and the URL of the
// maintenance database "postgres" on the same server.
func pgAdminURL(url string) (name, admin string, err error) {
	base, query, _ := strings.Cut(url, "?")
	i := strings.LastIndexByte(base, '/')
	if i < 0 || i == len(base)-1 {
		return "", "", fmt.Errorf("no database name in %s", url)
	}
	name = base[i+1:]
	if strings.ContainsAny(name, `"`) {
		return "", "", fmt.Errorf("odd database name %q", name)
	}
	admin = base[:i+1] + "postgres"
	if query != "" {
		admin += "?" + query
	}
	return name, admin, nil
}

// account is a benchmark account with its bearer token.
type account struct {
	ID       int64
	Username string
	Token    string
}

// postRef is a post with its author.
type postRef struct {
	ID, UserID int64
}

// topicRef is a topic the load spreads over.
type topicRef struct {
	ID   int64
	Slug string
}

// fixtures is what the scenarios use, prepared in the database.
type fixtures struct {
	Members   []account
	Moderator account
	Topics    []topicRef // reply_count >= 19: a full first page
	LikePosts []int64    // posts by synthetic members, for likes
	FlagPosts [][]int64  // per member, distinct posts to flag (≤ 20 each)
	OpenQueue int        // open queue entries after preparation
	LongTotal int        // topics with a full first page in the database
}

// tokenHash is how Agora stores tokens (accounts.HashToken).
func tokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// prepareFixtures creates (idempotently) the benchmark accounts and tokens,
// the 1,000 open flags of the moderation queue, and loads the id pools the
// scenarios spread their requests over.
func prepareFixtures(ctx context.Context, bin string, t *target) (*fixtures, error) {
	db, err := database.Open(ctx, t.URL)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	fx := &fixtures{}
	now := time.Now().UTC()

	// Accounts: created through `agora user create` (the supported path,
	// with the rows registration makes), tokens inserted as Agora stores them.
	ensure := func(username, role string) (account, error) {
		a := account{Username: username, Token: "agora_bench_" + username + "_token"}
		err := db.NewRaw("SELECT id FROM users WHERE lower(username) = ?", username).Scan(ctx, &a.ID)
		if errors.Is(err, sql.ErrNoRows) {
			err = runAgora(ctx, bin, t, "user", "create", "--username", username, "--email", username+"@bench.example",
				"--password", benchPassword, "--role", role)
			if err == nil {
				err = db.NewRaw("SELECT id FROM users WHERE lower(username) = ?", username).Scan(ctx, &a.ID)
			}
		}
		if err != nil {
			return a, fmt.Errorf("account %s: %w", username, err)
		}
		// A previous run may have left a suspension or role change: undo it.
		// Level 2: the members are regulars, not newcomers held to the
		// new-member limits (10 replies in the first day).
		if _, err := db.NewRaw("UPDATE users SET role = ?, level = 2, suspended_until = NULL, deleted_at = NULL WHERE id = ?",
			role, a.ID).Exec(ctx); err != nil {
			return a, err
		}
		hash := tokenHash(a.Token)
		if _, err := db.NewRaw("DELETE FROM api_tokens WHERE token_hash = ?", hash).Exec(ctx); err != nil {
			return a, err
		}
		_, err = db.NewRaw("INSERT INTO api_tokens (user_id, token_hash, name, created_at) VALUES (?, ?, ?, ?)",
			a.ID, hash, "bench", now).Exec(ctx)
		return a, err
	}
	for i := 1; i <= benchMembers; i++ {
		a, err := ensure(fmt.Sprintf("benchm%02d", i), "member")
		if err != nil {
			return nil, err
		}
		fx.Members = append(fx.Members, a)
	}
	if fx.Moderator, err = ensure("benchmod", "moderator"); err != nil {
		return nil, err
	}
	benchIDs := make([]int64, 0, benchMembers+1)
	for _, a := range fx.Members {
		benchIDs = append(benchIDs, a.ID)
	}
	benchIDs = append(benchIDs, fx.Moderator.ID)

	// Flags the mixed workload raised last time would count against the
	// members' 20-an-hour limit and make their posts duplicates: drop them.
	if _, err := db.NewRaw("DELETE FROM flags WHERE user_id IN (?)", bun.List(benchIDs)).Exec(ctx); err != nil {
		return nil, fmt.Errorf("reset bench flags: %w", err)
	}

	if !t.noQueue {
		if err := ensureQueue(ctx, db, now); err != nil {
			return nil, err
		}
	}
	if err := db.NewRaw("SELECT count(DISTINCT post_id) FROM flags WHERE status = 'open'").Scan(ctx, &fx.OpenQueue); err != nil {
		return nil, err
	}

	// Topics with a full first page, sampled evenly (fixed seed).
	var topics []topicRef
	rows, err := db.QueryContext(ctx, "SELECT id, slug FROM topics WHERE reply_count >= 19 AND removed_at IS NULL "+
		"AND locked = ? ORDER BY id", false)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var tr topicRef
		if err := rows.Scan(&tr.ID, &tr.Slug); err != nil {
			rows.Close()
			return nil, err
		}
		topics = append(topics, tr)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	fx.LongTotal = len(topics)
	r := rand.New(rand.NewPCG(6, 6))
	r.Shuffle(len(topics), func(i, j int) { topics[i], topics[j] = topics[j], topics[i] })
	fx.Topics = topics[:min(len(topics), topicPoolSize)]
	if len(fx.Topics) == 0 {
		return nil, errors.New("no topic has 19 replies or more: is the database seeded?")
	}

	// Posts to like: visible posts by synthetic members (never a bench member's own).
	likes, err := postsWhere(ctx, db, "id % 991 = 7", benchIDs, 5000)
	if err != nil {
		return nil, err
	}
	for _, p := range likes {
		fx.LikePosts = append(fx.LikePosts, p.ID)
	}
	// Posts to flag: distinct across members, disjoint from the queue fixtures.
	flaggable, err := postsWhere(ctx, db, "id % 997 = 500", benchIDs, benchMembers*flagsPerMember)
	if err != nil {
		return nil, err
	}
	fx.FlagPosts = make([][]int64, len(fx.Members))
	for i, p := range flaggable {
		m := i % len(fx.Members)
		fx.FlagPosts[m] = append(fx.FlagPosts[m], p.ID)
	}
	if t.Name == "postgres" {
		// A bulk-loaded database has no planner statistics until autovacuum
		// analyzes it (and autovacuum may be off): without them PostgreSQL
		// sorts all topics for every list page. A live forum has them.
		// Its own connection: ANALYZE of a million posts outlasts the
		// 10 s read timeout of database.Open.
		adb := sql.OpenDB(pgdriver.NewConnector(pgdriver.WithDSN(t.URL), pgdriver.WithTimeout(10*time.Minute)))
		_, err := adb.ExecContext(ctx, "ANALYZE")
		adb.Close()
		if err != nil {
			return nil, fmt.Errorf("analyze: %w", err)
		}
	}
	return fx, nil
}

// postsWhere returns up to limit visible posts matching cond not written by exclude.
func postsWhere(ctx context.Context, db *bun.DB, cond string, exclude []int64, limit int) ([]postRef, error) {
	var out []postRef
	err := db.NewRaw("SELECT p.id, p.user_id FROM posts AS p JOIN topics AS t ON t.id = p.topic_id "+
		"WHERE p."+cond+" AND p.removed_at IS NULL AND p.hidden_at IS NULL AND t.removed_at IS NULL "+
		"AND p.user_id NOT IN (?) ORDER BY p.id LIMIT ?", bun.List(exclude), limit).Scan(ctx, &out)
	return out, err
}

// ensureQueue makes the moderation queue hold exactly the 1,000 fixture
// flags: weight 1, reason spam, on 1,000 distinct posts, each raised by a
// different synthetic member than the post's author, hours to days ago.
func ensureQueue(ctx context.Context, db *bun.DB, now time.Time) error {
	var have int
	if err := db.NewRaw("SELECT count(*) FROM flags WHERE note = ? AND status = 'open'", fixtureNote).Scan(ctx, &have); err != nil {
		return err
	}
	var total int
	if err := db.NewRaw("SELECT count(*) FROM flags WHERE note = ?", fixtureNote).Scan(ctx, &total); err != nil {
		return err
	}
	if have == fixtureFlags && total == fixtureFlags {
		return nil
	}
	var posts []postRef
	err := db.NewRaw("SELECT p.id, p.user_id FROM posts AS p WHERE p.id % 997 = 0 AND p.removed_at IS NULL "+
		"AND p.hidden_at IS NULL ORDER BY p.id LIMIT ?", fixtureFlags).Scan(ctx, &posts)
	if err != nil {
		return err
	}
	if len(posts) < fixtureFlags {
		return fmt.Errorf("only %d posts for the queue fixtures", len(posts))
	}
	var users []int64
	if err := db.NewRaw("SELECT id FROM users WHERE role = 'member' AND username NOT LIKE 'bench%' "+
		"AND deleted_at IS NULL ORDER BY id LIMIT 50000").Scan(ctx, &users); err != nil {
		return err
	}
	if len(users) < 2 {
		return errors.New("not enough members to raise the queue fixtures")
	}
	return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewRaw("DELETE FROM flags WHERE note = ?", fixtureNote).Exec(ctx); err != nil {
			return err
		}
		var b strings.Builder
		args := make([]any, 0, 5*100)
		flush := func() error {
			if len(args) == 0 {
				return nil
			}
			_, err := tx.NewRaw("INSERT INTO flags (post_id, post_user_id, user_id, reason, note, weight, status, created_at) VALUES "+
				b.String(), args...).Exec(ctx)
			b.Reset()
			args = args[:0]
			return err
		}
		for i, p := range posts {
			flagger := users[(int(p.ID)*7919)%len(users)]
			if flagger == p.UserID {
				flagger = users[(int(p.ID)*7919+1)%len(users)]
			}
			if b.Len() > 0 {
				b.WriteString(", ")
			}
			b.WriteString("(?, ?, ?, 'spam', ?, 1, 'open', ?)")
			args = append(args, p.ID, p.UserID, flagger, fixtureNote, now.Add(-time.Duration(2+i%200)*time.Hour))
			if len(args) >= 5*100 {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		return flush()
	})
}
