package cli_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"agora/accounts"
	"agora/cli"
	"agora/database"
	"agora/internal/testdb"
	"agora/models"
)

// syncBuffer is a bytes.Buffer safe for the server's concurrent log writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testEnv returns a getenv with the database at dbURL and the data directory
// in a temp dir, so no test writes into the source tree.
func testEnv(t *testing.T, dbURL string, extra ...string) func(string) string {
	t.Helper()
	m := map[string]string{"AGORA_DATABASE_URL": dbURL, "AGORA_DATA_DIR": t.TempDir()}
	for i := 0; i+1 < len(extra); i += 2 {
		m[extra[i]] = extra[i+1]
	}
	return func(k string) string { return m[k] }
}

// run runs the command line and returns its exit code, stdout and stderr.
func run(t *testing.T, getenv func(string) string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr syncBuffer
	code := cli.Run(context.Background(), args, getenv, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// openDB opens the database the command wrote to, closed at cleanup.
func openDB(t *testing.T, dbURL string) *bun.DB {
	t.Helper()
	db, err := database.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatalf("open %s: %v", dbURL, err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestUserCreate(t *testing.T) {
	t.Parallel()
	for _, kind := range testdb.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			dbURL := testdb.URL(t, kind)
			code, stdout, stderr := run(t, testEnv(t, dbURL),
				"user", "create", "--username", "rootadmin", "--email", "root@example.com",
				"--password", "correct horse battery", "--role", "admin")
			if code != 0 {
				t.Fatalf("exit code = %d, want 0; stderr:\n%s", code, stderr)
			}
			if !strings.Contains(stdout, "created admin rootadmin") {
				t.Errorf("stdout = %q, want it to report the created admin", stdout)
			}
			db := openDB(t, dbURL)
			u, err := models.UserByUsername(context.Background(), db, "rootadmin")
			if err != nil {
				t.Fatalf("user not in database: %v", err)
			}
			if u.Role != models.RoleAdmin {
				t.Errorf("role = %q, want admin", u.Role)
			}
			if u.Email != "root@example.com" {
				t.Errorf("email = %q, want root@example.com", u.Email)
			}
			if !accounts.CheckPassword("correct horse battery", u.PasswordHash) {
				t.Error("stored hash does not match the given password")
			}
			if ok, err := models.AdminExists(context.Background(), db); err != nil || !ok {
				t.Errorf("AdminExists = %v, %v; want true", ok, err)
			}
		})
	}
}

func TestUserCreateDefaultRoleAndFlagURL(t *testing.T) {
	t.Parallel()
	dbURL := testdb.URL(t, "sqlite")
	// The database comes from --database-url here; the environment points nowhere useful.
	getenv := testEnv(t, "mysql://ignored")
	code, _, stderr := run(t, getenv, "user", "create", "--database-url", dbURL,
		"--username", "plainmember", "--email", "m@example.com", "--password", "long enough pw")
	if code != 0 {
		t.Fatalf("exit code = %d, want 0; stderr:\n%s", code, stderr)
	}
	u, err := models.UserByUsername(context.Background(), openDB(t, dbURL), "plainmember")
	if err != nil {
		t.Fatal(err)
	}
	if u.Role != models.RoleMember {
		t.Errorf("role = %q, want member by default", u.Role)
	}
}

func TestUserCreateRejectsBadInput(t *testing.T) {
	t.Parallel()
	// create returns the arguments of a valid `user create` with some flags changed.
	create := func(change ...string) []string {
		flags := map[string]string{"--username": "validname", "--email": "v@example.com", "--password": "long enough pw"}
		for i := 0; i+1 < len(change); i += 2 {
			flags[change[i]] = change[i+1]
		}
		args := []string{"user", "create"}
		for k, v := range flags {
			args = append(args, k, v)
		}
		return args
	}
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"bad email", create("--email", "not-an-email"), "email"},
		{"short password", create("--password", "short"), "password"},
		{"bad username", create("--username", "no spaces allowed"), "username"},
		{"unknown role", create("--role", "root"), "role"},
		{"unknown flag", create("--colour", "blue"), "colour"},
		{"no subcommand", []string{"user"}, "user takes: create"},
		{"unknown subcommand", []string{"user", "delete"}, "user takes: create"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dbURL := testdb.URL(t, "sqlite")
			code, _, stderr := run(t, testEnv(t, dbURL), tt.args...)
			if code != 2 {
				t.Errorf("exit code = %d, want 2; stderr:\n%s", code, stderr)
			}
			if !strings.Contains(stderr, tt.wantErr) {
				t.Errorf("stderr does not mention %q:\n%s", tt.wantErr, stderr)
			}
		})
	}
}

func TestUserCreateDuplicateFails(t *testing.T) {
	t.Parallel()
	dbURL := testdb.URL(t, "sqlite")
	getenv := testEnv(t, dbURL)
	args := []string{"user", "create", "--username", "twice", "--email", "twice@example.com", "--password", "long enough pw"}
	if code, _, stderr := run(t, getenv, args...); code != 0 {
		t.Fatalf("first create: exit code %d, want 0; stderr:\n%s", code, stderr)
	}
	code, _, stderr := run(t, getenv, args...)
	if code == 0 {
		t.Fatal("second create with the same username: exit code 0, want a failure")
	}
	if !strings.Contains(stderr, "taken") {
		t.Errorf("stderr = %q, want it to say the username is taken", stderr)
	}
}

func TestUnknownDatabaseScheme(t *testing.T) {
	t.Parallel()
	commands := [][]string{
		{"serve"},
		{"migrate", "status"},
		{"user", "create", "--username", "someone", "--email", "s@example.com", "--password", "long enough pw"},
	}
	for _, args := range commands {
		t.Run(strings.Join(args[:1], " "), func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := run(t, testEnv(t, "mysql://db.example/agora"), args...)
			if code != 2 {
				t.Errorf("exit code = %d, want 2", code)
			}
			lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
			if len(lines) != 1 {
				t.Errorf("stderr has %d lines, want one:\n%s", len(lines), stderr)
			}
			if !strings.Contains(stderr, "AGORA_DATABASE_URL") {
				t.Errorf("stderr = %q, want it to name AGORA_DATABASE_URL", stderr)
			}
			if stdout != "" {
				t.Errorf("stdout = %q, want nothing", stdout)
			}
		})
	}
}

func TestUnreachablePostgres(t *testing.T) {
	t.Parallel()
	const dbURL = "postgres://agora:secret@127.0.0.1:1/agora?sslmode=disable&dial_timeout=1s"
	commands := [][]string{
		{"serve", "--addr", "127.0.0.1:0"},
		{"migrate", "up"},
		{"user", "create", "--username", "someone", "--email", "s@example.com", "--password", "long enough pw"},
	}
	for _, args := range commands {
		t.Run(args[0], func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			code, _, stderr := run(t, testEnv(t, dbURL), args...)
			if code != 2 {
				t.Errorf("exit code = %d, want 2; stderr:\n%s", code, stderr)
			}
			if !strings.Contains(stderr, "AGORA_DATABASE_URL") {
				t.Errorf("stderr = %q, want it to name AGORA_DATABASE_URL", stderr)
			}
			if strings.Contains(stderr, "secret") {
				t.Errorf("stderr leaks the database password:\n%s", stderr)
			}
			if d := time.Since(start); d > 15*time.Second {
				t.Errorf("took %v to give up, want a quick failure", d)
			}
		})
	}
}

func TestMigrateCommands(t *testing.T) {
	t.Parallel()
	for _, kind := range testdb.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			getenv := testEnv(t, testdb.URL(t, kind))
			steps := []struct {
				args     []string
				want     string // a line of stdout, matched as a regexp
				wantCode int
			}{
				{[]string{"migrate", "status"}, `(?m)^20261121000001_init\tpending$`, 0},
				{[]string{"migrate", "up"}, `(?m)^applied 20261121000001_init$`, 0},
				{[]string{"migrate", "status"}, `(?m)^20261121000001_init\tapplied \d{4}-\d\d-\d\d \d\d:\d\d:\d\d$`, 0},
				{[]string{"migrate"}, `(?m)^database is up to date$`, 0},
				{[]string{"migrate", "down"}, `(?m)^rolled back 20261121000001_init$`, 0},
				{[]string{"migrate", "status"}, `(?m)^20261121000001_init\tpending$`, 0},
				{[]string{"migrate", "down"}, `(?m)^nothing to roll back$`, 0},
				{[]string{"migrate", "sideways"}, ``, 2},
			}
			for _, st := range steps {
				code, stdout, stderr := run(t, getenv, st.args...)
				if code != st.wantCode {
					t.Fatalf("%q: exit code = %d, want %d; stderr:\n%s", st.args, code, st.wantCode, stderr)
				}
				if st.want != "" && !regexp.MustCompile(st.want).MatchString(stdout) {
					t.Fatalf("%q: stdout = %q, want a line matching %s", st.args, stdout, st.want)
				}
			}
		})
	}
}

func TestUsage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		args     []string
		wantCode int
	}{
		{"help", []string{"help"}, 0},
		{"dash dash help", []string{"--help"}, 0},
		{"dash h", []string{"-h"}, 0},
		{"serve help", []string{"serve", "-h"}, 0},
		{"migrate help", []string{"migrate", "status", "--help"}, 0},
		{"unknown command", []string{"frobnicate"}, 2},
		{"serve extra argument", []string{"serve", "--addr", "127.0.0.1:0", "extra"}, 2},
		{"serve unknown flag", []string{"serve", "--no-such-flag"}, 2},
		{"migrate unknown flag", []string{"migrate", "status", "--no-such-flag"}, 2},
		{"serve bad log level", []string{"serve", "--log-level", "chatty"}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := run(t, testEnv(t, testdb.URL(t, "sqlite")), tt.args...)
			if code != tt.wantCode {
				t.Errorf("exit code = %d, want %d; stderr:\n%s", code, tt.wantCode, stderr)
			}
			if tt.wantCode == 0 && !strings.Contains(stdout, "usage: agora") {
				t.Errorf("stdout = %q, want the usage", stdout)
			}
			if tt.wantCode != 0 && !strings.HasPrefix(stderr, "agora: ") {
				t.Errorf("stderr = %q, want an 'agora: ' message", stderr)
			}
		})
	}
}

// serveResult is what a serve run returned.
type serveResult struct {
	code int
	took time.Duration
}

// startServe runs `agora serve` until the test cancels it; it returns the
// base URL parsed from the "agora listening" log line, the log, a cancel
// func and the channel receiving the result.
func startServe(t *testing.T, getenv func(string) string) (string, *syncBuffer, context.CancelFunc, <-chan serveResult) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	done := make(chan serveResult, 1)
	finished := make(chan struct{}) // closed when Run returned; cleanup waits on it
	var cancelledAt time.Time
	var mu sync.Mutex
	stop := func() {
		mu.Lock()
		cancelledAt = time.Now()
		mu.Unlock()
		cancel()
	}
	go func() {
		code := cli.Run(ctx, []string{"serve", "--addr", "127.0.0.1:0"}, getenv, &stdout, &stderr)
		mu.Lock()
		took := time.Since(cancelledAt)
		mu.Unlock()
		done <- serveResult{code: code, took: took}
		close(finished)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-finished:
		case <-time.After(10 * time.Second):
			t.Error("serve still running 10s after cancel")
		}
	})
	addrRE := regexp.MustCompile(`msg="agora listening" addr=(\S+)`)
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if m := addrRE.FindStringSubmatch(stderr.String()); m != nil {
			return "http://" + m[1], &stderr, stop, done
		}
		select {
		case r := <-done:
			t.Fatalf("serve exited with %d before listening; log:\n%s", r.code, stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("no 'agora listening' line within 20s; log:\n%s", stderr.String())
	return "", nil, nil, nil
}

// get fetches url and returns the status.
func get(t *testing.T, url string) int {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second}
	res, err := client.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode
}

func TestServe(t *testing.T) {
	t.Parallel()
	for _, kind := range testdb.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			dbURL := testdb.URL(t, kind)
			if kind == "postgres" {
				// The test server trusts every client, so a password is
				// accepted: it must never reach the log.
				u, err := url.Parse(dbURL)
				if err != nil {
					t.Fatal(err)
				}
				u.User = url.UserPassword(u.User.Username(), "secret")
				dbURL = u.String()
			}
			base, log, stop, done := startServe(t, testEnv(t, dbURL, "AGORA_SHUTDOWN_GRACE", "2s"))

			if got := get(t, base+"/healthz"); got != http.StatusOK {
				t.Errorf("GET /healthz = %d, want 200", got)
			}
			if got := get(t, base+"/readyz"); got != http.StatusOK {
				t.Errorf("GET /readyz = %d, want 200", got)
			}

			// No admin yet: the one-time setup link is printed, and it works.
			m := regexp.MustCompile(`url="?(http://[^"\s]+/setup\?token=[A-Za-z0-9_-]{43})`).FindStringSubmatch(log.String())
			if m == nil {
				t.Fatalf("log has no setup link; log:\n%s", log.String())
			}
			if got := get(t, m[1]); got != http.StatusOK {
				t.Errorf("GET printed setup link %s = %d, want 200", m[1], got)
			}
			token := m[1][strings.Index(m[1], "token=")+len("token="):]
			if n := strings.Count(log.String(), token); n != 1 {
				t.Errorf("setup token appears %d times in the log, want once (request logs must not carry query strings)", n)
			}

			if strings.Contains(log.String(), "secret") {
				t.Errorf("log leaks the database password:\n%s", log.String())
			}
			if kind == "postgres" && !strings.Contains(log.String(), "database=pg") {
				t.Errorf("log does not say the database is PostgreSQL:\n%s", log.String())
			}

			stop()
			select {
			case r := <-done:
				if r.code != 0 {
					t.Errorf("exit code after cancel = %d, want 0; log:\n%s", r.code, log.String())
				}
				if r.took > 5*time.Second {
					t.Errorf("shutdown took %v, want under 5s", r.took)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("serve did not return within 10s of cancel; log:\n%s", log.String())
			}
			if !strings.Contains(log.String(), "stopped") {
				t.Errorf("log does not say the server stopped:\n%s", log.String())
			}
		})
	}
}

func TestServeWithAdminPrintsNoSetupLink(t *testing.T) {
	t.Parallel()
	dbURL := testdb.URL(t, "sqlite")
	getenv := testEnv(t, dbURL)
	if code, _, stderr := run(t, getenv, "user", "create", "--username", "boss", "--email", "boss@example.com",
		"--password", "long enough pw", "--role", "admin"); code != 0 {
		t.Fatalf("user create: exit code %d; stderr:\n%s", code, stderr)
	}
	base, log, stop, done := startServe(t, getenv)
	if got := get(t, base+"/setup"); got != http.StatusNotFound {
		t.Errorf("GET /setup with an admin = %d, want 404", got)
	}
	if strings.Contains(log.String(), "/setup?token=") {
		t.Errorf("log prints a setup link although an admin exists:\n%s", log.String())
	}
	stop()
	if r := <-done; r.code != 0 {
		t.Errorf("exit code = %d, want 0", r.code)
	}
}
