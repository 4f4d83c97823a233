package exec

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/durable-delivery/durable/adapters"
	"github.com/durable-delivery/durable/adapters/hostconfig"
)

// linesPlugin is testdata/lines.py as a long-lived traffic adapter, and the
// file where each of its processes writes its pid.
func linesPlugin(t *testing.T, timeout time.Duration, mode ...string) (*Traffic, string) {
	t.Helper()
	script, err := filepath.Abs(filepath.Join("testdata", "lines.py"))
	if err != nil {
		t.Fatal(err)
	}
	pidFile := filepath.Join(t.TempDir(), "pids")
	tr := NewLongLivedTraffic("lines", append([]string{python(t), script, pidFile}, mode...), timeout)
	t.Cleanup(func() { _ = tr.Close() })
	return tr, pidFile
}

// python is the interpreter: the system's, which starts in tens of
// milliseconds where a version manager's shim takes a second.
func python(t testing.TB) string {
	t.Helper()
	if _, err := os.Stat("/usr/bin/python3"); err == nil {
		return "/usr/bin/python3"
	}
	p, err := exec.LookPath("python3")
	if err != nil {
		t.Fatalf("the tests of the long-lived form run Python plug-ins: %v; run hack/install-deps.sh", err)
	}
	return p
}

// pids are the processes the plug-in started, in order.
func pids(t *testing.T, pidFile string) []int {
	t.Helper()
	b, err := os.ReadFile(pidFile)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	var out []int
	for _, f := range strings.Fields(string(b)) {
		n, err := strconv.Atoi(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, n)
	}
	return out
}

// procStat is the state, parent and process group of pid; ok is false once
// it is reaped.
func procStat(pid int) (state byte, ppid, pgid int, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, 0, false
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	ppid, _ = strconv.Atoi(f[1])
	pgid, _ = strconv.Atoi(f[2])
	return f[0][0], ppid, pgid, true
}

// killNow kills pid with SIGKILL and waits until it is dead (a zombie, or
// reaped).
func killNow(t *testing.T, pid int) {
	t.Helper()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if state, _, _, ok := procStat(pid); !ok || state == 'Z' {
			return
		}
	}
	t.Fatalf("process %d still runs after SIGKILL", pid)
}

// served calls in-flight for service and returns the plug-in's count.
func served(t *testing.T, tr *Traffic, service string) (int, error) {
	t.Helper()
	return tr.InFlight(context.Background(), service, "a")
}

func mustServe(t *testing.T, tr *Traffic, want int) {
	t.Helper()
	if n, err := served(t, tr, "web"); err != nil || n != want {
		t.Fatalf("in-flight = %d, %v; want %d from the plug-in", n, err, want)
	}
}

func TestLongLivedKeepsOneProcess(t *testing.T) {
	tr, pidFile := linesPlugin(t, 10*time.Second)
	for i := 1; i <= 3; i++ {
		mustServe(t, tr, i)
	}
	if p := pids(t, pidFile); len(p) != 1 {
		t.Fatalf("started %d processes for 3 calls; want 1", len(p))
	}
}

func TestLongLivedRestartsAfterAKillBetweenCalls(t *testing.T) {
	tr, pidFile := linesPlugin(t, 10*time.Second)
	mustServe(t, tr, 1)
	killNow(t, pids(t, pidFile)[0])
	mustServe(t, tr, 1) // a new process: its count starts again
	mustServe(t, tr, 2)
	if p := pids(t, pidFile); len(p) != 2 {
		t.Fatalf("processes %v; want 2", p)
	}
}

// A request the process could not read (its stdin is closed) is sent once
// more to a new process: it never saw it.
func TestLongLivedResendsWhatWasNotDelivered(t *testing.T) {
	tr, pidFile := linesPlugin(t, 10*time.Second)
	if n, err := served(t, tr, "deaf"); err != nil || n != 1 {
		t.Fatalf("in-flight = %d, %v", n, err)
	}
	stdin := fmt.Sprintf("/proc/%d/fd/0", pids(t, pidFile)[0])
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if _, err := os.Lstat(stdin); errors.Is(err, os.ErrNotExist) {
			break // it closed its stdin after answering
		}
		if time.Now().After(deadline) {
			t.Fatal("the plug-in did not close its stdin")
		}
	}
	mustServe(t, tr, 1)
	if p := pids(t, pidFile); len(p) != 2 {
		t.Fatalf("processes %v; want the deaf one replaced", p)
	}
}

func TestLongLivedCallFailsWhenKilledDuringIt(t *testing.T) {
	tr, pidFile := linesPlugin(t, 10*time.Second)
	mustServe(t, tr, 1)
	done := make(chan error, 1)
	go func() {
		_, err := served(t, tr, "slow")
		done <- err
	}()
	time.Sleep(300 * time.Millisecond) // the plug-in is in its 2 s sleep
	killNow(t, pids(t, pidFile)[0])
	err := <-done
	if !errors.Is(err, adapters.ErrUnavailable) || !strings.Contains(err.Error(), "exec plug-in lines in-flight: exited (signal: killed)") {
		t.Fatalf("call during the kill: %v; want it to say the plug-in was killed", err)
	}
	mustServe(t, tr, 1)
}

// TestLongLivedMisbehaviour: each misbehaviour mid-call fails the call with
// what went wrong, and the next call runs on a new process, in step.
func TestLongLivedMisbehaviour(t *testing.T) {
	for _, tc := range []struct{ service, want string }{
		{"hang", "in-flight: no answer within its timeout"},
		{"garbage", "the line is not a response"},
		{"long", fmt.Sprintf("printed a line longer than %d bytes", MaxOutput)},
		{"wrong-call", "the response is to call 3, not to call 2"},
		{"exit", "exited (exit status 3); its standard error ends: lost the connection to the load balancer"},
	} {
		t.Run(tc.service, func(t *testing.T) {
			// A 16 MiB line took over 2 s to write on a loaded machine:
			// its call gets longer, so that the cap is what it meets.
			timeout := 2 * time.Second
			if tc.service == "long" {
				timeout = 20 * time.Second
			}
			tr, pidFile := linesPlugin(t, timeout)
			start := time.Now()
			_, err := served(t, tr, tc.service)
			if !errors.Is(err, adapters.ErrUnavailable) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v; want %q", err, tc.want)
			}
			if d := time.Since(start); d > timeout+3*time.Second {
				t.Fatalf("the call took %s with a %s timeout", d, timeout)
			}
			mustServe(t, tr, 1)
			p := pids(t, pidFile)
			if len(p) != 2 {
				t.Fatalf("processes %v; want the first replaced", p)
			}
			if _, _, _, alive := procStat(p[0]); alive {
				t.Fatalf("the replaced process %d is still there (or unreaped)", p[0])
			}
		})
	}
}

// A child the plug-in started dies with it when its call times out.
func TestLongLivedTimeoutKillsTheGroup(t *testing.T) {
	tr, pidFile := linesPlugin(t, 2*time.Second)
	if _, err := served(t, tr, "spawn"); err == nil || !strings.Contains(err.Error(), "no answer within its timeout") {
		t.Fatalf("error %v; want a timeout", err)
	}
	child := pids(t, pidFile+".child")
	if len(child) != 1 {
		t.Fatalf("the plug-in's child is %v", child)
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if state, _, _, ok := procStat(child[0]); !ok || state == 'Z' {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the plug-in's child %d survived the timeout", child[0])
		}
	}
	mustServe(t, tr, 1)
}

// Calls to one plug-in made at once run one after the other, each
// answered once; a call queued behind a hung one ends within its timeout.
func TestLongLivedCallsRunOneAtATime(t *testing.T) {
	tr, _ := linesPlugin(t, 10*time.Second)
	got := make(chan int, 8)
	for range 8 {
		go func() {
			n, err := served(t, tr, "web")
			if err != nil {
				t.Error(err)
			}
			got <- n
		}()
	}
	seen := map[int]bool{}
	for range 8 {
		seen[<-got] = true
	}
	for i := 1; i <= 8; i++ {
		if !seen[i] {
			t.Fatalf("answers %v; want 1 to 8, each once", seen)
		}
	}
	go func() { _, _ = served(t, tr, "hang") }()
	time.Sleep(200 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	if _, err := tr.InFlight(ctx, "web", "a"); err == nil || !strings.Contains(err.Error(), "still waiting for the plug-in's previous call") {
		t.Fatalf("a call behind a hung one: %v; want it to end when its caller gives up", err)
	}
}

// TestLongLivedStartFailures: a program that exits at once or does not
// speak the long-lived form fails with the fix, fast, and is restarted
// with a growing pause, never in a hot loop.
func TestLongLivedStartFailures(t *testing.T) {
	for _, tc := range []struct{ mode, want string }{
		// It exits before or after reading the hello, as the scheduler has it.
		{"--exit-at-once", "its standard error ends: cannot reach the cloud API"},
		{"--one-shot", "no answer within its timeout"},
		{"--version-2", "it speaks version 2, Durable 1"},
		{"--no-call", `the response to call 1 carries no "call"`},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			tr, _ := linesPlugin(t, 2*time.Second, tc.mode)
			_, err := served(t, tr, "web")
			fix := "; if the program speaks only the one-shot form, remove longLived from plugins.lines in the host file"
			if !errors.Is(err, adapters.ErrUnavailable) || !strings.Contains(err.Error(), "exec plug-in lines in-flight: did not complete the long-lived handshake: ") ||
				!strings.Contains(err.Error(), tc.want+fix) {
				t.Fatalf("error %v\nwant it to contain %q", err, tc.want+fix)
			}
		})
	}
	tr, pidFile := linesPlugin(t, 10*time.Second, "--exit-at-once")
	var refused int
	for start := time.Now(); time.Since(start) < 3*time.Second; {
		_, err := served(t, tr, "web")
		if err == nil {
			t.Fatal("a plug-in that exits at once answered")
		}
		if strings.Contains(err.Error(), "not restarted for another") {
			refused++
			if !strings.Contains(err.Error(), "cannot reach the cloud API") {
				t.Fatalf("a refused call does not say why: %v", err)
			}
		}
		time.Sleep(time.Millisecond)
	}
	// Starts at 0, 0, 0.1, 0.3, 0.7, 1.5 s (plus their own time) at
	// most: 6 in 3 s.
	if n := len(pids(t, pidFile)); n > 6 || n < 2 || refused == 0 {
		t.Fatalf("%d starts and %d refused calls in 3 s; want 2 to 6 starts, spaced", n, refused)
	}
}

// A plug-in that writes much to standard error never stalls on the pipe,
// and errors carry only the end of it.
func TestLongLivedReadsStderrContinuously(t *testing.T) {
	tr, _ := linesPlugin(t, 5*time.Second)
	for i := 1; i <= 3; i++ {
		if n, err := served(t, tr, "flood"); err != nil || n != i {
			t.Fatalf("call %d after 1 MiB on stderr: %d, %v", i, n, err)
		}
	}
	_, err := served(t, tr, "exit")
	if err == nil || !strings.Contains(err.Error(), "the last words\nlost the connection to the load balancer") || len(err.Error()) > maxStderr+1000 {
		t.Fatalf("error of %d bytes; want the end of stderr, at most %d bytes", len(err.Error()), maxStderr)
	}
}

// children are the processes whose parent is this test.
func children() []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if _, ppid, _, ok := procStat(pid); ok && ppid == os.Getpid() {
			out = append(out, pid)
		}
	}
	return out
}

// TestLongLivedCloseLeavesNothing: Close ends a call in flight, and after
// it no process of the plug-in and no goroutine of the adapter remain.
func TestLongLivedCloseLeavesNothing(t *testing.T) {
	before := runtime.NumGoroutine()
	if c := children(); len(c) != 0 {
		t.Fatalf("children before the test: %v", c)
	}
	tr, pidFile := linesPlugin(t, time.Minute)
	mustServe(t, tr, 1)
	done := make(chan error, 1)
	go func() {
		_, err := served(t, tr, "hang")
		done <- err
	}()
	time.Sleep(200 * time.Millisecond)
	start := time.Now()
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err == nil || time.Since(start) > 3*time.Second {
		t.Fatalf("the call in flight ended with %v after %s; want an error at once", err, time.Since(start))
	}
	if _, err := served(t, tr, "web"); err == nil || !strings.Contains(err.Error(), "the adapter is closed") {
		t.Fatalf("a call after Close: %v", err)
	}
	pid := pids(t, pidFile)[0]
	if _, _, _, ok := procStat(pid); ok {
		t.Fatalf("plug-in %d remains after Close", pid)
	}
	if c := children(); len(c) != 0 {
		t.Fatalf("children after Close: %v", c)
	}
	for deadline := time.Now().Add(2 * time.Second); runtime.NumGoroutine() > before; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines after Close, %d before:\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
	}
}

// Close of an idle plug-in lets it exit on the end of its input.
func TestLongLivedCloseIdle(t *testing.T) {
	tr, pidFile := linesPlugin(t, time.Minute)
	mustServe(t, tr, 1)
	start := time.Now()
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d >= closeGrace {
		t.Fatalf("Close took %s: the plug-in was killed; it exits on the end of its input", d)
	}
	if _, _, _, ok := procStat(pids(t, pidFile)[0]); ok {
		t.Fatal("the plug-in remains after Close")
	}
	if err := tr.Close(); err != nil {
		t.Fatalf("a second Close: %v", err)
	}
}

// The host file's longLived reaches the adapter the registry builds, and
// the reconciler's io.Closer check stops its process.
func TestLongLivedFromTheHostFile(t *testing.T) {
	script, err := filepath.Abs(filepath.Join("testdata", "lines.py"))
	if err != nil {
		t.Fatal(err)
	}
	pidFile := filepath.Join(t.TempDir(), "pids")
	host := adapters.Host{Config: &hostconfig.Config{File: "host.yaml", Plugins: map[string]hostconfig.Plugin{
		"lines": {Command: []string{python(t), script, pidFile}, LongLived: true}}}}
	tr, err := adapters.NewTraffic("exec", json.RawMessage(`{"plugin": "lines"}`), host)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 2; i++ {
		if n, err := tr.InFlight(context.Background(), "web", "a"); err != nil || n != i {
			t.Fatalf("in-flight = %d, %v; want %d from one process", n, err, i)
		}
	}
	closer, ok := tr.(io.Closer)
	if !ok {
		t.Fatal("the exec traffic adapter is not an io.Closer: the reconciler would never stop its process")
	}
	if err := closer.Close(); err != nil {
		t.Fatal(err)
	}
	if p := pids(t, pidFile); len(p) != 1 {
		t.Fatalf("processes %v; want 1", p)
	} else if _, _, _, alive := procStat(p[0]); alive {
		t.Fatalf("plug-in %d remains after Close", p[0])
	}
}

// TestLongLivedAbandonedCallsAreNoFailures: calls their callers give up
// (cancelled, past their deadline) replace the process, whose stream is out
// of step, but do not count towards the restart backoff: the next call is
// served at once, as the conformance suite's cleanup after its deadline
// test expects.
func TestLongLivedAbandonedCallsAreNoFailures(t *testing.T) {
	tr, _ := linesPlugin(t, 5*time.Second)
	mustServe(t, tr, 1)
	for range 3 {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		_, err := tr.InFlight(ctx, "hang", "a")
		cancel()
		if !errors.Is(err, errAbandoned) {
			t.Fatalf("a call past its caller's deadline: %v; want it abandoned", err)
		}
	}
	mustServe(t, tr, 1)
}
