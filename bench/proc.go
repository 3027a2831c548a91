package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Process accounting from /proc: CPU time (utime+stime, in clock ticks) and
// peak resident memory (VmHWM).

var clkTck = func() float64 {
	out, err := exec.Command("getconf", "CLK_TCK").Output()
	if err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(out))); err == nil && n > 0 {
			return float64(n)
		}
	}
	return 100
}()

// cpuSeconds returns the CPU time pid has used so far (user + system).
func cpuSeconds(pid int) (float64, error) {
	f, err := statFields(pid)
	if err != nil {
		return 0, err
	}
	return sumTicks(f[11], f[12])
}

// childrenCPUSeconds is the CPU time of pid's children that ended and were
// waited for (cutime + cstime): PostgreSQL's parallel workers and closed
// backends end up there, in the postmaster's account.
func childrenCPUSeconds(pid int) (float64, error) {
	f, err := statFields(pid)
	if err != nil {
		return 0, err
	}
	return sumTicks(f[13], f[14])
}

func sumTicks(a, b string) (float64, error) {
	x, err1 := strconv.ParseFloat(a, 64)
	y, err2 := strconv.ParseFloat(b, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return (x + y) / clkTck, nil
}

// statFields returns the fields of /proc/<pid>/stat from the third on
// (f[0] is the state; utime is f[11]).
func statFields(pid int) ([]string, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil, err
	}
	// The command name (field 2) is in parentheses and may hold spaces.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return nil, errors.New("unexpected /proc stat format")
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 15 {
		return nil, errors.New("short /proc stat")
	}
	return f, nil
}

// statusKB returns a "Vm…:  123 kB" field of /proc/<pid>/status in bytes.
func statusKB(pid int, field string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n << 10, err
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}

// peakRSS is the process's high-water resident set size.
func peakRSS(pid int) int64 {
	n, _ := statusKB(pid, "VmHWM")
	return n
}

// resetPeakRSS restarts the high-water mark at the current RSS, so each
// scenario reports its own peak (Linux ≥ 4.0; harmless elsewhere).
func resetPeakRSS(pid int) bool {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0) == nil
}

// freePort asks the kernel for an unused port on 127.0.0.1.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// child is a server process started by the bench.
type child struct {
	cmd     *exec.Cmd
	addr    string
	log     string
	exited  chan struct{} // closed when the process has ended
	waitErr error         // its exit status, once exited is closed
}

func (c *child) pid() int { return c.cmd.Process.Pid }

// startChild starts cmd with output to logPath and returns once it runs.
func startChild(cmd *exec.Cmd, addr, logPath string) (*child, error) {
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, err
	}
	c := &child{cmd: cmd, addr: addr, log: logPath, exited: make(chan struct{})}
	go func() {
		c.waitErr = cmd.Wait()
		f.Close()
		close(c.exited)
	}()
	return c, nil
}

// stop asks the process to finish (SIGTERM), then kills it after grace.
// Calling it again, or after the process ended, is harmless.
func (c *child) stop(grace time.Duration) {
	if c == nil {
		return
	}
	select {
	case <-c.exited:
		return
	default:
	}
	c.cmd.Process.Signal(syscall.SIGTERM) //nolint:errcheck // it may be gone already
	select {
	case <-c.exited:
	case <-time.After(grace):
		c.cmd.Process.Kill() //nolint:errcheck
		<-c.exited
	}
}

// waitHTTP polls url until it answers 200, the process dies or timeout passes.
func (c *child) waitHTTP(ctx context.Context, url string, timeout time.Duration) error {
	client := &http.Client{Timeout: 5 * time.Second}
	end := time.Now().Add(timeout)
	for {
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-c.exited:
			return fmt.Errorf("server exited (%v); see %s", c.waitErr, c.log)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(end) {
			status := "no answer"
			if err != nil {
				status = err.Error()
			} else {
				status = resp.Status
			}
			return fmt.Errorf("%s not ready after %s (%s); see %s", url, timeout, status, c.log)
		}
	}
}

// machineBusy returns the CPU seconds all cores spent busy since boot
// (everything but idle and iowait in /proc/stat).
func machineBusy() float64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 6 || f[0] != "cpu" {
		return 0
	}
	var total float64
	for i, v := range f[1:] {
		n, _ := strconv.ParseFloat(v, 64)
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		if i >= 8 { // guest time is already counted in user
			break
		}
		total += n
	}
	return total / clkTck
}

// settle waits until the process is idle (under 5% of a core for two
// seconds in a row), e.g. while Bleve merges the segments a fresh reindex
// left behind, so that background work is not measured as a scenario's.
func (c *child) settle(ctx context.Context, maxWait time.Duration) (time.Duration, bool) {
	start := time.Now()
	quiet := 0
	prev, _ := cpuSeconds(c.pid())
	for time.Since(start) < maxWait {
		select {
		case <-ctx.Done():
			return time.Since(start), false
		case <-c.exited:
			return time.Since(start), false
		case <-time.After(time.Second):
		}
		now, err := cpuSeconds(c.pid())
		if err != nil {
			return time.Since(start), false
		}
		if now-prev < 0.05 {
			quiet++
			if quiet >= 2 {
				return time.Since(start), true
			}
		} else {
			quiet = 0
		}
		prev = now
	}
	return time.Since(start), false
}

// rssSplit returns the current anonymous and file-backed resident memory:
// Bleve maps its index files, and pages of them it touched count in RSS.
func rssSplit(pid int) (anon, file int64) {
	anon, _ = statusKB(pid, "RssAnon")
	file, _ = statusKB(pid, "RssFile")
	return anon, file
}

// backendCPU sums the CPU seconds of the PostgreSQL backends serving the
// database named db (their titles read "postgres: [cluster:] user db host
// state"), by pid, and records their postmaster's reaped-children CPU
// under key -1 (parallel workers are short-lived processes that only show
// there; it also holds backends of other databases that ended meanwhile).
func backendCPU(db string) map[int]float64 {
	out := map[int]float64{}
	if db == "" {
		return out
	}
	postmaster := 0
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		cmd, err := os.ReadFile("/proc/" + d.Name() + "/cmdline")
		if err != nil || !bytes.HasPrefix(cmd, []byte("postgres:")) {
			continue
		}
		// "postgres: [cluster:] user db host(port) state"
		f := strings.Fields(string(bytes.ReplaceAll(cmd, []byte{0}, []byte{' '})))
		for _, w := range f[1:min(len(f), 5)] {
			if w == db {
				if s, err := cpuSeconds(pid); err == nil {
					out[pid] = s
				}
				if postmaster == 0 {
					if f, err := statFields(pid); err == nil {
						postmaster, _ = strconv.Atoi(f[1]) // field 4, the parent
					}
				}
				break
			}
		}
	}
	if postmaster > 0 {
		if s, err := childrenCPUSeconds(postmaster); err == nil {
			out[-1] = s
		}
	}
	return out
}

// backendDelta is the CPU the backends used between two backendCPU calls.
func backendDelta(before, after map[int]float64) float64 {
	var sum float64
	for pid, s := range after {
		b, ok := before[pid]
		if pid == -1 && !ok {
			continue // no baseline for the postmaster's account
		}
		sum += s - b // a new backend started from 0
	}
	return sum
}
