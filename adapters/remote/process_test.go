package remote

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/durable-delivery/durable/adapters"
	"github.com/durable-delivery/durable/adapters/agent"
	"github.com/durable-delivery/durable/internal/listener"
)

// agentProcessEnv, when set, makes the test binary an agent (TestMain): a
// real process to kill. It holds an agentProcess in JSON.
const agentProcessEnv = "DURABLE_REMOTE_TEST_AGENT"

// agentProcess is what an agent process is started with.
type agentProcess struct {
	Listen, State, Cert, Key, CA string
}

// runAgentProcess serves as an agent until SIGTERM, writing its address on
// the first line of its output.
func runAgentProcess() int {
	var c agentProcess
	if err := json.Unmarshal([]byte(os.Getenv(agentProcessEnv)), &c); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	a, err := agent.New(agent.Config{StateDir: c.State, Allow: []string{reconcilerName}, Logger: quiet})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	l, err := agent.Listen(listener.Config{Address: c.Listen, TLSCert: c.Cert, TLSKey: c.Key, ClientCA: c.CA})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println(l.Addr())
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	if err := agent.Serve(ctx, a, l); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// spawnAgent starts the test binary as agent a1 on listen (127.0.0.1:0 for
// any port) with state, and returns the process and its address. The
// process dies with the test.
func spawnAgent(t *testing.T, listen, state string) (*exec.Cmd, string) {
	t.Helper()
	dir := pki(t)
	cert, key := certOf(dir, "a1")
	conf, _ := json.Marshal(agentProcess{Listen: listen, State: state, Cert: cert, Key: key, CA: filepath.Join(dir, "ca", "ca.crt")})
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), agentProcessEnv+"="+string(conf))
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("agent process gave no address: %v", err)
	}
	return cmd, line[:len(line)-1]
}

// ensureHealthy calls Ensure until every instance is healthy.
func ensureHealthy(t *testing.T, rt adapters.Runtime, spec adapters.InfraSetSpec) adapters.InfraSetStatus {
	return waitHealthy(t, rt, spec)
}

// waitHealthy is ensureHealthy for a test or a benchmark.
func waitHealthy(t testing.TB, rt adapters.Runtime, spec adapters.InfraSetSpec) adapters.InfraSetStatus {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for {
		st, err := rt.Ensure(ctx, spec)
		if err == nil && st.Healthy(spec.Replicas) {
			return st
		}
		select {
		case <-ctx.Done():
			t.Fatalf("set %s not healthy: %+v, %v", spec.ID, st, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func pids(st adapters.InfraSetStatus) []int {
	var out []int
	for _, in := range st.Instances {
		out = append(out, in.PID)
	}
	slices.Sort(out)
	return out
}

// TestAgentKilledAndRestartedReadopts: an agent SIGKILLed leaves its
// instances running; started again on the same --state and address, it
// reports the same processes, and an Ensure of the same set starts nothing.
// The client is the one from before the kill: its kept connection is dead,
// and the call is sent again on a fresh one, as every call is idempotent.
func TestAgentKilledAndRestartedReadopts(t *testing.T) {
	state := t.TempDir()
	first, addr := spawnAgent(t, "127.0.0.1:0", state)
	rt := dial(t, addr, "a1", reconcilerName).Runtime("process", nil)
	spec := demoSpec(t, "readopt", 2)
	before := ensureHealthy(t, rt, spec)

	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = first.Wait()
	for _, pid := range pids(before) {
		if err := syscall.Kill(pid, 0); err != nil {
			t.Fatalf("instance pid %d died with the agent: %v", pid, err)
		}
	}
	if _, err := rt.Observe(context.Background()); err == nil {
		t.Fatal("a killed agent answered")
	}
	spawnAgent(t, addr, state)
	removeAll(t, rt)

	sets, err := rt.Observe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(sets) != 1 || !slices.Equal(pids(sets[0]), pids(before)) {
		t.Fatalf("the restarted agent observes %+v, want the instances %v", sets, pids(before))
	}
	after := ensureHealthy(t, rt, spec)
	if !slices.Equal(pids(after), pids(before)) {
		t.Fatalf("the restarted agent's Ensure ran %v, was %v: an instance ran twice or was replaced", pids(after), pids(before))
	}
	sets, _ = rt.Observe(context.Background())
	if len(sets) != 1 || len(sets[0].Instances) != 2 {
		t.Fatalf("after the restart, observed %+v", sets)
	}
}

// markedPIDs lists the live processes whose environment names the infra-set
// set: every process the runtime started for it, adopted or not.
func markedPIDs(t *testing.T, set string) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	marker := []byte("\x00DURABLE_INFRA_SET=" + set + "\x00")
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		env, err := os.ReadFile("/proc/" + e.Name() + "/environ")
		if err != nil || !bytes.Contains(append([]byte{0}, env...), marker) {
			continue
		}
		if running(pid) {
			out = append(out, pid)
		}
	}
	slices.Sort(out)
	return out
}

// running reports whether pid runs: it exists and is not a zombie (ended,
// its parent not told yet: an instance orphaned by a killed agent may wait
// long for a parent that reaps it).
func running(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	_, rest, ok := bytes.Cut(stat, []byte(") "))
	return ok && len(rest) > 0 && rest[0] != 'Z' && rest[0] != 'X'
}

// TestAgentKilledMidEnsureStartsNothingTwice: an agent SIGKILLed while an
// Ensure starts instances, wherever it stood, and started again: the
// repeated Ensure leaves exactly the replicas asked for, one process each:
// an instance started before the kill is adopted, or stopped when the kill
// came before its record was written, never left running beside the set.
func TestAgentKilledMidEnsureStartsNothingTwice(t *testing.T) {
	state := t.TempDir()
	first, addr := spawnAgent(t, "127.0.0.1:0", state)
	rt := dial(t, addr, "a1", reconcilerName).Runtime("process", nil)
	spec := demoSpec(t, "midkill", 4)
	ensured := make(chan error, 1)
	go func() {
		_, err := rt.Ensure(context.Background(), spec)
		ensured <- err
	}()
	// Killed as soon as the first instance runs (or after the Ensure, on a
	// machine fast enough to start all four first).
	var atKill []int
	for deadline := time.Now().Add(2 * time.Minute); len(atKill) == 0; atKill = markedPIDs(t, spec.ID) {
		if time.Now().After(deadline) {
			t.Fatal("no instance ever started")
		}
		time.Sleep(time.Millisecond)
	}
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = first.Wait()
	t.Logf("killed with %d of 4 instances started; Ensure: %v", len(atKill), <-ensured)

	spawnAgent(t, addr, state)
	removeAll(t, rt)
	after := ensureHealthy(t, rt, spec)
	runningNow := markedPIDs(t, spec.ID)
	if len(after.Instances) != 4 || !slices.Equal(runningNow, pids(after)) {
		t.Fatalf("after the restart, Ensure reports %v and %v run: a process ran twice", pids(after), runningNow)
	}
	for _, pid := range atKill {
		if running(pid) && !slices.Contains(runningNow, pid) {
			t.Errorf("pid %d, started before the kill, still runs beside the set", pid)
		}
	}
}
