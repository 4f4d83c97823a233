package process

import (
	"archive/tar"
	"context"
	"errors"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/durable-delivery/durable/adapters"
)

func TestCloseLeavesInstancesRunning(t *testing.T) {
	t.Parallel()
	spec := demoSpec("web-close", 1)
	spec.Artifact = demoImage(t)
	root := t.TempDir()
	first := newRuntime(t, root)
	before := ensureHealthy(t, first, spec)
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	if err := first.Close(); err != nil {
		t.Fatalf("Close twice: %v", err)
	}
	if _, err := first.Ensure(context.Background(), spec); !errors.Is(err, adapters.ErrUnavailable) {
		t.Errorf("Ensure after Close: %v, want ErrUnavailable", err)
	}
	if !alive(before.Instances[0].PID) {
		t.Fatalf("Close stopped instance %d", before.Instances[0].PID)
	}
	after := ensureHealthy(t, newRuntime(t, root), spec)
	if !maps.Equal(pids(after), pids(before)) {
		t.Errorf("after Close, a new runtime runs %+v, want the instance %d", after.Instances, before.Instances[0].PID)
	}
}

// TestAnInstanceThatForksIsOneInstance runs an entrypoint that starts a
// child of its own (which inherits the marker variables): the child is not
// a second instance, and Remove stops both.
func TestAnInstanceThatForksIsOneInstance(t *testing.T) {
	t.Parallel()
	rt := newRuntime(t, t.TempDir())
	spec, leader := startForking(t, rt, "forks")
	obs, ok := observeSet(t, rt, spec.ID)
	if !ok || len(obs.Instances) != 1 || obs.Instances[0].PID != leader {
		t.Fatalf("observed %+v, want the one instance %d", obs.Instances, leader)
	}
	again, err := rt.Ensure(context.Background(), spec)
	if err != nil || len(again.Instances) != 1 || again.Instances[0].PID != leader {
		t.Fatalf("Ensure again: %+v, %v; want the instance %d kept", again.Instances, err, leader)
	}
	if err := rt.Remove(context.Background(), spec.ID, 5*time.Second); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	if got := markedPIDs(t, rt.root); len(got) != 0 {
		t.Errorf("after Remove, the instance's own children still run: %v", got)
	}
}

// startForking ensures a set of one instance whose entrypoint (a shell)
// starts a child and waits for it, and returns the instance's pid once its
// child runs.
func startForking(t *testing.T, rt *Runtime, id string) (adapters.InfraSetSpec, int) {
	t.Helper()
	script := "#!/bin/sh\nsleep 600 &\nwait\n"
	layer := tarOf(t, dir("bin/"), entry{Header: tar.Header{Name: "bin/run", Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(script))}, body: script})
	spec := demoSpec(id, 1)
	spec.Artifact = pushImage(t, "forks/image", layer, "/bin/run")
	st, err := rt.Ensure(context.Background(), spec)
	if err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	deadline := time.Now().Add(healthTimeout)
	for len(markedPIDs(t, rt.root)) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("the entrypoint never started its child: %v", markedPIDs(t, rt.root))
		}
		time.Sleep(20 * time.Millisecond)
	}
	return spec, st.Instances[0].PID
}

// TestRemoveStopsTheOrphansOfACrashedInstance kills an instance alone, so
// that its child runs on as an orphan that is no instance, and checks that
// Remove stops it all the same.
func TestRemoveStopsTheOrphansOfACrashedInstance(t *testing.T) {
	t.Parallel()
	rt := newRuntime(t, t.TempDir())
	spec, leader := startForking(t, rt, "orphans")
	if err := syscall.Kill(leader, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitObserved(t, rt, spec.ID, "instance gone", func(_ adapters.InfraSetStatus, found bool) bool { return !found })
	if got := markedPIDs(t, rt.root); len(got) != 1 {
		t.Fatalf("after killing the instance alone, marked processes %v, want its one orphan", got)
	}
	if err := rt.Remove(context.Background(), spec.ID, 5*time.Second); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	if got := markedPIDs(t, rt.root); len(got) != 0 {
		t.Errorf("after Remove, the orphan still runs: %v", got)
	}
}

// TestConcurrentEnsuresShareOneUnpack runs two runtimes on one root that
// ensure two sets of the same image at once: both succeed, from one
// unpacked copy, with no temporary directory left.
func TestConcurrentEnsuresShareOneUnpack(t *testing.T) {
	t.Parallel()
	artifact := demoImage(t)
	root := t.TempDir()
	runtimes := []*Runtime{newRuntime(t, root), newRuntime(t, root)}
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			spec := demoSpec("web-concurrent-"+strconv.Itoa(i), 1)
			spec.Artifact = artifact
			_, errs[i] = runtimes[i%2].Ensure(context.Background(), spec)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Ensure %d: %v", i, err)
		}
	}
	entries, err := os.ReadDir(filepath.Join(runtimes[0].root, "images"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if len(names) != 1 || !strings.HasPrefix(names[0], "sha256-") {
		t.Errorf("images directory holds %v, want one unpacked image", names)
	}
	if sets := observe(t, runtimes[0]); len(sets) != 4 {
		t.Errorf("observed %d sets, want 4", len(sets))
	}
}

func TestNewRemovesAbandonedUnpacks(t *testing.T) {
	t.Parallel()
	finished := exec.Command("true")
	if err := finished.Run(); err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	abandoned := filepath.Join(root, "images", unpackPrefix+strconv.Itoa(finished.Process.Pid)+"-sha256-aa-1")
	inFlight := filepath.Join(root, "images", unpackPrefix+strconv.Itoa(os.Getpid())+"-sha256-bb-2")
	for _, d := range []string{abandoned, inFlight} {
		if err := os.MkdirAll(filepath.Join(d, "rootfs"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	newRuntime(t, root)
	if _, err := os.Stat(abandoned); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the unpack of a dead process is still there: %v", err)
	}
	if _, err := os.Stat(inFlight); err != nil {
		t.Errorf("the unpack of a live process was removed: %v", err)
	}
}

// TestAnExitedInstanceIsReaped checks that an instance that dies does not
// linger as a zombie of the reconciler.
func TestAnExitedInstanceIsReaped(t *testing.T) {
	t.Parallel()
	spec := demoSpec("web-reaped", 1)
	spec.Artifact = demoImage(t)
	rt := newRuntime(t, t.TempDir())
	pid := ensureHealthy(t, rt, spec).Instances[0].PID
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(healthTimeout)
	for {
		_, err := os.Stat("/proc/" + strconv.Itoa(pid))
		if errors.Is(err, os.ErrNotExist) {
			return
		}
		if time.Now().After(deadline) {
			st, _ := readStat(pid)
			t.Fatalf("the killed instance %d was never reaped (state %q)", pid, st.state)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
