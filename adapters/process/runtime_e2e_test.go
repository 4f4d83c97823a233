package process

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/durable-delivery/durable/adapters"
	"github.com/durable-delivery/durable/examples"
)

// healthTimeout bounds waiting for instances of the demo service to answer
// their health check: generous, as a loaded machine may be slow.
const healthTimeout = 2 * time.Minute

// demo is the registry and the demo service image every end-to-end test
// of this package shares, made on first use and closed by TestMain.
var demo struct {
	regOnce sync.Once
	reg     *httptest.Server

	imgOnce sync.Once
	ref     string
	err     error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if demo.reg != nil {
		demo.reg.Close()
	}
	os.Exit(code)
}

func newRegistry() *httptest.Server {
	return httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
}

// testRegistry returns the host:port of the shared registry on 127.0.0.1.
func testRegistry(t *testing.T) string {
	t.Helper()
	demo.regOnce.Do(func() { demo.reg = newRegistry() })
	return strings.TrimPrefix(demo.reg.URL, "http://")
}

// demoImage returns the demo service at v1, pinned by digest in the shared
// registry; it is built with the Go toolchain once per test binary.
func demoImage(t *testing.T) string {
	t.Helper()
	host := testRegistry(t)
	demo.imgOnce.Do(func() {
		dir, err := os.MkdirTemp("", "durable-process-test-")
		if err != nil {
			demo.err = err
			return
		}
		defer os.RemoveAll(dir)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		refs, err := examples.BuildAndPush(ctx, host, dir, "v1")
		demo.ref, demo.err = refs["v1"], err
	})
	if demo.err != nil {
		t.Fatalf("build the demo image: %v", demo.err)
	}
	return demo.ref
}

// newRuntime returns a runtime on root that removes, when the test ends,
// every set it then observes: whatever the test started, by whichever
// runtime on this root.
func newRuntime(t *testing.T, root string) *Runtime {
	t.Helper()
	return newRuntimeWith(t, Config{Root: root})
}

// newRuntimeWith is newRuntime with a configuration of the test's own.
func newRuntimeWith(t *testing.T, cfg Config) *Runtime {
	t.Helper()
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	rt, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		defer rt.Close()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		sets, err := rt.Observe(ctx)
		if err != nil {
			t.Errorf("cleanup: observe: %v", err)
		}
		for _, s := range sets {
			if err := rt.Remove(ctx, s.ID, 5*time.Second); err != nil {
				t.Errorf("cleanup: remove %s: %v", s.ID, err)
			}
		}
	})
	return rt
}

func demoSpec(id string, replicas int) adapters.InfraSetSpec {
	return adapters.InfraSetSpec{
		ID: id, Service: "web", Release: "r1", Replicas: replicas,
		Health: adapters.HealthCheck{Path: "/healthz", ExpectStatus: http.StatusOK, Timeout: time.Second},
	}
}

// ensureHealthy calls Ensure until spec.Replicas instances pass their
// health check.
func ensureHealthy(t *testing.T, rt *Runtime, spec adapters.InfraSetSpec) adapters.InfraSetStatus {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), healthTimeout)
	defer cancel()
	for {
		st, err := rt.Ensure(ctx, spec)
		if err != nil {
			t.Fatalf("Ensure %s: %v", spec.ID, err)
		}
		if st.Healthy(spec.Replicas) && len(st.Instances) == spec.Replicas {
			return st
		}
		select {
		case <-ctx.Done():
			t.Fatalf("infra-set %s not healthy within %s: %+v", spec.ID, healthTimeout, st.Instances)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func observe(t *testing.T, rt *Runtime) []adapters.InfraSetStatus {
	t.Helper()
	sets, err := rt.Observe(context.Background())
	if err != nil {
		t.Fatalf("Observe: %v", err)
	}
	return sets
}

// observeSet returns the observed set id, sorted by index.
func observeSet(t *testing.T, rt *Runtime, id string) (adapters.InfraSetStatus, bool) {
	t.Helper()
	for _, s := range observe(t, rt) {
		if s.ID == id {
			slices.SortFunc(s.Instances, func(a, b adapters.Instance) int { return a.Index - b.Index })
			return s, true
		}
	}
	return adapters.InfraSetStatus{}, false
}

// waitObserved polls Observe until ok accepts the set as observed (found
// reports whether it is observed at all).
func waitObserved(t *testing.T, rt *Runtime, id string, what string, ok func(st adapters.InfraSetStatus, found bool) bool) adapters.InfraSetStatus {
	t.Helper()
	deadline := time.Now().Add(healthTimeout)
	for {
		st, found := observeSet(t, rt, id)
		if ok(st, found) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("set %s: %s: never observed; last observed %+v (found %v)", id, what, st.Instances, found)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func pids(st adapters.InfraSetStatus) map[int]int {
	out := map[int]int{}
	for _, in := range st.Instances {
		out[in.Index] = in.PID
	}
	return out
}

func endpointsOf(st adapters.InfraSetStatus) map[int]string {
	out := map[int]string{}
	for _, in := range st.Instances {
		out[in.Index] = in.Endpoint
	}
	return out
}

// get returns the body the instance at endpoint answers on /.
func get(t *testing.T, endpoint string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+endpoint+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", endpoint, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", endpoint, err)
	}
	return string(b)
}

// alive reports whether pid runs and is not a zombie.
func alive(pid int) bool {
	st, ok := readStat(pid)
	return ok && !st.dead()
}

// markedPIDs reads /proc itself (not through the runtime) for the live
// processes that carry root's marker variable.
func markedPIDs(t *testing.T, root string) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	marker := []byte(envRoot + "=" + root + "\x00")
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
		if err == nil && bytes.Contains(env, marker) && alive(pid) {
			out = append(out, pid)
		}
	}
	return out
}

func TestEnsureStartsHealthyInstances(t *testing.T) {
	t.Parallel()
	spec := demoSpec("web-start", 2)
	spec.Artifact = demoImage(t)
	rt := newRuntime(t, t.TempDir())

	st := ensureHealthy(t, rt, spec)
	if st.ID != spec.ID || st.Service != "web" || st.Release != "r1" {
		t.Errorf("status names the wrong set: %+v", st)
	}
	seen := map[string]bool{}
	for i, in := range st.Instances {
		if in.Index != i || in.PID <= 0 || !in.Healthy {
			t.Errorf("instance %d: %+v", i, in)
		}
		if seen[in.Endpoint] {
			t.Errorf("two instances share endpoint %s", in.Endpoint)
		}
		seen[in.Endpoint] = true
		if body := get(t, in.Endpoint); !strings.Contains(body, "hello from quickstart v1") {
			t.Errorf("instance %d at %s answered %q", i, in.Endpoint, body)
		}
	}
}

func TestEnsureTwiceIsOnce(t *testing.T) {
	t.Parallel()
	spec := demoSpec("web-twice", 2)
	spec.Artifact = demoImage(t)
	rt := newRuntime(t, t.TempDir())

	first := ensureHealthy(t, rt, spec)
	second := ensureHealthy(t, rt, spec)
	if !maps.Equal(pids(first), pids(second)) || !maps.Equal(endpointsOf(first), endpointsOf(second)) {
		t.Fatalf("Ensure twice changed the instances: %+v then %+v", first.Instances, second.Instances)
	}
	sets := observe(t, rt)
	if len(sets) != 1 || len(sets[0].Instances) != 2 {
		t.Fatalf("after Ensure twice, observed %+v", sets)
	}
	if got := pids(sets[0]); !maps.Equal(got, pids(first)) {
		t.Errorf("observed PIDs %v, Ensure reported %v", got, pids(first))
	}
}

func TestEnsureReplacesAKilledInstance(t *testing.T) {
	t.Parallel()
	spec := demoSpec("web-kill", 2)
	spec.Artifact = demoImage(t)
	rt := newRuntime(t, t.TempDir())

	before := ensureHealthy(t, rt, spec)
	victim, survivor := before.Instances[0], before.Instances[1]
	if err := syscall.Kill(victim.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	st := waitObserved(t, rt, spec.ID, "instance 0 gone", func(st adapters.InfraSetStatus, found bool) bool {
		_, ok := pids(st)[victim.Index]
		return found && !ok
	})
	if len(st.Instances) != 1 || st.Instances[0].PID != survivor.PID {
		t.Fatalf("after killing instance 0, observed %+v", st.Instances)
	}

	after := ensureHealthy(t, rt, spec)
	got := pids(after)
	if got[victim.Index] == victim.PID {
		t.Errorf("instance 0 kept the killed PID %d", victim.PID)
	}
	if got[survivor.Index] != survivor.PID {
		t.Errorf("the surviving instance was replaced: PID %d, was %d", got[survivor.Index], survivor.PID)
	}
	if obs, _ := observeSet(t, rt, spec.ID); !maps.Equal(pids(obs), got) {
		t.Errorf("observed %v, Ensure reported %v", pids(obs), got)
	}
}

func TestRestartedRuntimeReadopts(t *testing.T) {
	t.Parallel()
	spec := demoSpec("web-readopt", 2)
	spec.Artifact = demoImage(t)
	root := t.TempDir()
	first := newRuntime(t, root)
	before := ensureHealthy(t, first, spec)

	second := newRuntime(t, root)
	obs, ok := observeSet(t, second, spec.ID)
	if !ok || !maps.Equal(pids(obs), pids(before)) || !maps.Equal(endpointsOf(obs), endpointsOf(before)) {
		t.Fatalf("a restarted runtime observes %+v, the first runs %+v", obs.Instances, before.Instances)
	}
	if obs.Service != spec.Service || obs.Release != spec.Release {
		t.Errorf("a restarted runtime reads the wrong set labels: %+v", obs)
	}
	after := ensureHealthy(t, second, spec)
	if !maps.Equal(pids(after), pids(before)) {
		t.Fatalf("a restarted runtime started duplicates: %v, was %v", pids(after), pids(before))
	}
	if got := markedPIDs(t, second.root); len(got) != 2 {
		t.Errorf("%d processes carry the root's marker, want 2: %v", len(got), got)
	}
}

func TestEnsureScales(t *testing.T) {
	t.Parallel()
	spec := demoSpec("web-scale", 2)
	spec.Artifact = demoImage(t)
	rt := newRuntime(t, t.TempDir())
	prev := ensureHealthy(t, rt, spec)

	for _, step := range []struct {
		name     string
		replicas int
	}{
		{"up from 2 to 3", 3},
		{"down from 3 to 1", 1},
	} {
		spec.Replicas = step.replicas
		st := ensureHealthy(t, rt, spec)
		obs := waitObserved(t, rt, spec.ID, step.name, func(st adapters.InfraSetStatus, found bool) bool {
			return found && len(st.Instances) == step.replicas
		})
		for i := range step.replicas {
			if _, ok := pids(obs)[i]; !ok {
				t.Errorf("%s: index %d not observed: %+v", step.name, i, obs.Instances)
			}
		}
		for index, pid := range pids(prev) {
			switch {
			case index < step.replicas && pids(st)[index] != pid:
				t.Errorf("%s: instance %d was restarted (PID %d, was %d)", step.name, index, pids(st)[index], pid)
			case index >= step.replicas && alive(pid):
				t.Errorf("%s: instance %d (PID %d) still runs", step.name, index, pid)
			}
		}
		prev = st
	}
}

func TestRemoveLeavesNothing(t *testing.T) {
	t.Parallel()
	spec := demoSpec("web/remove", 2) // a slash: the set's directory name is escaped
	spec.Artifact = demoImage(t)
	root := t.TempDir()
	rt := newRuntime(t, root)
	kept := demoSpec("web-kept", 1)
	kept.Artifact = spec.Artifact
	ensureHealthy(t, rt, kept)
	ensureHealthy(t, rt, spec)
	setDir := rt.setDir(spec.ID)
	if _, err := os.Stat(setDir); err != nil {
		t.Fatalf("the set has no directory: %v", err)
	}

	if err := rt.Remove(context.Background(), spec.ID, 5*time.Second); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	sets := observe(t, rt)
	if len(sets) != 1 || sets[0].ID != kept.ID {
		t.Errorf("after Remove, observed %+v; want only %s", sets, kept.ID)
	}
	if got := markedPIDs(t, rt.root); len(got) != 1 || got[0] != sets[0].Instances[0].PID {
		t.Errorf("after Remove, processes with the marker: %v", got)
	}
	if _, err := os.Stat(setDir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Remove left %s: %v", setDir, err)
	}
	if _, err := os.Stat(rt.setDir(kept.ID)); err != nil {
		t.Errorf("Remove of one set took another's directory: %v", err)
	}

	for _, id := range []string{spec.ID, "never-existed"} {
		if err := rt.Remove(context.Background(), id, time.Second); err != nil {
			t.Errorf("Remove of absent set %s: %v", id, err)
		}
	}
}

// closedPort returns a 127.0.0.1 address where nothing listens.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

func TestEnsureErrors(t *testing.T) {
	t.Parallel()
	host := testRegistry(t)
	demoRef, err := name.NewDigest(demoImage(t))
	if err != nil {
		t.Fatal(err)
	}
	zeros := "sha256:" + strings.Repeat("0", 64)
	tests := []struct {
		name     string
		artifact string
		want     error
	}{
		{name: "pinned by tag", artifact: host + "/quickstart/web:v1", want: adapters.ErrInvalid},
		{name: "not a reference", artifact: "not a reference", want: adapters.ErrInvalid},
		{name: "digest not in the registry", artifact: demoRef.Context().Digest(zeros).String(), want: adapters.ErrNotFound},
		{name: "repository not in the registry", artifact: host + "/no/such@" + demoRef.DigestStr(), want: adapters.ErrNotFound},
		{name: "registry unreachable", artifact: closedPort(t) + "/quickstart/web@" + zeros, want: adapters.ErrUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rt := newRuntime(t, t.TempDir())
			spec := demoSpec("web-error", 1)
			spec.Artifact = tt.artifact
			_, err := rt.Ensure(context.Background(), spec)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Ensure of %q: %v, want %v", tt.artifact, err, tt.want)
			}
			t.Logf("Ensure of %q: %v", tt.artifact, err)
			if sets := observe(t, rt); len(sets) != 0 {
				t.Errorf("a failed Ensure started instances: %+v", sets)
			}
		})
	}
}

// TestUnpackedImageRunsWithoutTheRegistry fetches the image from a registry
// of its own, closes that registry and runs the image again from the same
// root, as a restarted reconciler would while the registry is down.
func TestUnpackedImageRunsWithoutTheRegistry(t *testing.T) {
	t.Parallel()
	shared, err := name.NewDigest(demoImage(t))
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(shared)
	if err != nil {
		t.Fatal(err)
	}
	reg := newRegistry()
	defer reg.Close()
	tag, err := name.NewTag(strings.TrimPrefix(reg.URL, "http://") + "/private/web:v1")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(tag, img); err != nil {
		t.Fatal(err)
	}
	spec := demoSpec("web-cached", 1)
	spec.Artifact = tag.Context().Digest(shared.DigestStr()).String()

	root := t.TempDir()
	ensureHealthy(t, newRuntime(t, root), spec)
	reg.Close()

	restarted := newRuntime(t, root)
	again := spec
	again.ID = "web-cached-again"
	st := ensureHealthy(t, restarted, again)
	if body := get(t, st.Instances[0].Endpoint); !strings.Contains(body, "hello from quickstart v1") {
		t.Errorf("the cached image answered %q", body)
	}

	// Only what was unpacked runs without the registry.
	_, err = newRuntime(t, t.TempDir()).Ensure(context.Background(), spec)
	if !errors.Is(err, adapters.ErrUnavailable) {
		t.Errorf("Ensure of an uncached image with the registry closed: %v, want ErrUnavailable", err)
	}
}

func TestEnsureHonoursItsContext(t *testing.T) {
	t.Parallel()
	artifact := demoImage(t)
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	expired, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	tests := []struct {
		name string
		ctx  context.Context
		want error
	}{
		{"cancelled", cancelled, context.Canceled},
		{"deadline passed", expired, context.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rt := newRuntime(t, t.TempDir())
			spec := demoSpec("web-context", 1)
			spec.Artifact = artifact
			done := make(chan error, 1)
			go func() {
				_, err := rt.Ensure(tt.ctx, spec)
				done <- err
			}()
			select {
			case err := <-done:
				if !errors.Is(err, tt.want) {
					t.Fatalf("Ensure with a %s context: %v, want %v", tt.name, err, tt.want)
				}
			case <-time.After(healthTimeout):
				t.Fatalf("Ensure with a %s context did not return", tt.name)
			}
			if sets := observe(t, rt); len(sets) != 0 {
				t.Errorf("Ensure with a %s context started instances: %+v", tt.name, sets)
			}
		})
	}
}
