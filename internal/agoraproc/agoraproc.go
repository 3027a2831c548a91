// Package agoraproc runs the real agora binary for tests that need it as a
// process (killed, backed up, several nodes): it builds the binary once per
// test binary, starts servers on free loopback ports and stops them when
// the test ends.
package agoraproc

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	binDir   string
	buildMu  sync.Mutex
	binPath  string
	buildErr error
)

// Bin builds agora with go build -o on first use (a run that selects no
// test needing it builds nothing) and returns its path. RemoveBin, from
// TestMain, deletes it.
func Bin(t testing.TB) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if binPath == "" && buildErr == nil {
		buildErr = build()
	}
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func build() error {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return fmt.Errorf("go env GOMOD: %w", err)
	}
	if binDir, err = os.MkdirTemp("", "agora-bin-"); err != nil {
		return err
	}
	path := filepath.Join(binDir, "agora")
	cmd := exec.Command("go", "build", "-o", path, ".")
	cmd.Dir = filepath.Dir(strings.TrimSpace(string(out)))
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %v\n%s", err, out)
	}
	binPath = path
	return nil
}

// RemoveBin deletes the binary Bin built, if it built one.
func RemoveBin() {
	if binDir != "" {
		os.RemoveAll(binDir)
	}
}

// Env is the AGORA_* settings of one server or command.
type Env map[string]string

// List is the process environment without its AGORA_* variables (the
// tests' own settings are not the server's), plus e.
func (e Env) List() []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AGORA_") {
			out = append(out, kv)
		}
	}
	for k, v := range e {
		out = append(out, k+"="+v)
	}
	return out
}

// FreeAddr is a loopback address with a port free a moment ago.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// Server is one running `agora serve`.
type Server struct {
	Name   string
	Base   string // http://127.0.0.1:port
	cmd    *exec.Cmd
	log    string
	exited chan struct{}
}

// Start runs `agora serve` with e (on AGORA_ADDR, or a free port), waits
// for /readyz, and stops it when the test ends, showing its log if the
// test failed.
func Start(t testing.TB, name string, e Env) *Server {
	t.Helper()
	se := Env{}
	for k, v := range e {
		se[k] = v
	}
	if se["AGORA_ADDR"] == "" {
		se["AGORA_ADDR"] = FreeAddr(t)
	}
	logf, err := os.CreateTemp(t.TempDir(), "server-*.log")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Name: name, Base: "http://" + se["AGORA_ADDR"], cmd: exec.Command(Bin(t), "serve"), log: logf.Name(),
		exited: make(chan struct{})}
	s.cmd.Env = se.List()
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() { s.cmd.Wait(); logf.Close(); close(s.exited) }() //nolint:errcheck // killed on purpose
	t.Cleanup(func() {
		s.Stop()
		if t.Failed() {
			t.Logf("%s's log:\n%s", name, s.Log())
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		if resp, err := http.Get(s.Base + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s
			}
		}
		select {
		case <-s.exited:
			t.Fatalf("%s exited at start: %s", name, s.Log())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready after 60s: %s", name, s.Log())
		}
	}
}

// Log is what the server wrote so far.
func (s *Server) Log() string {
	b, _ := os.ReadFile(s.log)
	return string(b)
}

// Kill ends the process with SIGKILL: no handler runs, nothing is flushed.
func (s *Server) Kill() {
	s.cmd.Process.Signal(syscall.SIGKILL) //nolint:errcheck // it may be gone already
	<-s.exited
}

// Stop asks the server to finish (SIGTERM), and kills it after 20 s.
func (s *Server) Stop() {
	select {
	case <-s.exited:
		return
	default:
	}
	s.cmd.Process.Signal(syscall.SIGTERM) //nolint:errcheck
	select {
	case <-s.exited:
	case <-time.After(20 * time.Second):
		s.Kill()
	}
}

// NewRequest is a JSON API request: body (if any) as JSON, and the bearer
// token (if any).
func NewRequest(method, url, token string, body any) (*http.Request, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return req, nil
}
