package core

import (
	"context"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/durable-delivery/durable/adapters/docker"
	dockersettings "github.com/durable-delivery/durable/adapters/docker/settings"
	"github.com/durable-delivery/durable/adapters/process"
	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/examples"
	"github.com/durable-delivery/durable/internal/harness"
	"github.com/durable-delivery/durable/test/e2e/e2etest"
)

// TestReconcilerKilledMidRollout kills the reconciler with SIGKILL while a
// new infra-set is starting, restarts it, and checks that it converges with
// no duplicate or orphaned infra-set and no failed request.
func TestReconcilerKilledMidRollout(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	f := e2etest.New(t, ctx)
	st := f.Story()
	c1 := f.Commit(ctx, f.Artifacts["v1"], "", "Deploy web v1")
	f.StartReconciler(ctx)
	if !st.Promoted(ctx, "deploy v1", c1, "v1") {
		t.Fatalf("v1 did not converge:\n%s", f.Logs())
	}
	st.Load = harness.StartLoad(ctx, f.Router, 4, 5*time.Millisecond)
	defer st.Load.Stop()

	// v2 takes a few seconds to become healthy: the window to kill in.
	c2 := f.Commit(ctx, f.Artifacts["v2"], `{STARTUP_DELAY: "3s"}`, "Deploy web v2, slow to start")
	if err := f.API.Trigger(ctx); err != nil {
		t.Fatal(err)
	}
	e2etest.WaitFor(ctx, t, "the v2 infra-set to be created", func() bool {
		s, err := f.API.Status(ctx)
		return err == nil && e2etest.HasSetInState(s, api.SetCreating)
	})
	f.Kill()
	// While no reconciler runs, the router keeps serving v1.
	time.Sleep(500 * time.Millisecond)
	f.StartReconciler(ctx)
	if !st.Promoted(ctx, "deploy v2 after SIGKILL", c2, "v2") {
		t.Fatalf("v2 did not converge after the restart:\n%s", f.Logs())
	}

	// Kill again right after a revert is seen: the switch must still happen
	// exactly once, on restart if not before.
	c3, err := f.Repo.Revert(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.API.Trigger(ctx); err != nil {
		t.Fatal(err)
	}
	e2etest.WaitFor(ctx, t, "the revert to be seen", func() bool {
		s, err := f.API.Status(ctx)
		return err == nil && s.Head != nil && s.Head.Commit == c3
	})
	f.Kill()
	f.StartReconciler(ctx)
	if !st.Promoted(ctx, "revert after SIGKILL", c3, "v1") {
		t.Fatalf("revert did not converge after the restart:\n%s", f.Logs())
	}

	st.AssertNoFailedRequests(t)
	assertNoDuplicatesOrOrphans(ctx, t, f)
}

// assertNoDuplicatesOrOrphans checks the target against the journal: every
// running infra-set is one the journal has live, with exactly its replicas,
// one process per instance index.
func assertNoDuplicatesOrOrphans(ctx context.Context, t *testing.T, f *e2etest.Fixture) {
	t.Helper()
	s, err := f.API.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	observed := e2etest.RunningAsJournaled(ctx, t, f, s, api.SetServing, api.SetWarm)
	if len(observed) != 2 {
		t.Errorf("want 2 infra-sets running (v1 serving, v2 warm), got %d: %+v", len(observed), observed)
	}
	for _, o := range observed {
		if len(o.Instances) != 2 {
			t.Errorf("infra-set %s runs %d instances, want 2", o.ID, len(o.Instances))
		}
	}
}

// TestRejectedRevisionKeepsRunning commits invalid desired state: the
// revision is rejected with positioned errors, shown in status, and what
// runs keeps serving with no failed request; a fix is then applied.
func TestRejectedRevisionKeepsRunning(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	f, st, c1 := e2etest.ServingV1UnderLoad(t, ctx)

	bad := filepath.Join(f.Repo.Dir, "typo.cue")
	if err := os.WriteFile(bad, []byte("package quickstart\n\nservices: web: run: replica: 3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c2, err := f.Repo.Commit(ctx, "Typo in a field name")
	if err != nil {
		t.Fatal(err)
	}
	s := f.Judged(ctx, t, c2)
	if s.Head.Verdict != api.RevisionRejected || s.Ready.Reason != api.ReasonRevisionRejected {
		t.Fatalf("bad revision not rejected: %+v", s)
	}
	if len(s.Head.Errors) == 0 || !strings.HasPrefix(s.Head.Errors[0], "typo.cue:3:") {
		t.Fatalf("errors not positioned in typo.cue:3: %q", s.Head.Errors)
	}
	if s.Applied == nil || s.Applied.Commit != c1 {
		t.Fatalf("applied revision changed: %+v", s.Applied)
	}
	time.Sleep(time.Second) // the load keeps going against v1
	if err := os.Remove(bad); err != nil {
		t.Fatal(err)
	}
	c3 := f.Commit(ctx, f.Artifacts["v2"], "", "Fix the typo, deploy v2")
	f.Converge(ctx, st, "deploy v2 after the fix", c3, "v2")
	st.AssertNoFailedRequests(t)
}

// TestUnreachableRepositoryChangesNothing moves the repository away while
// the reconciler runs: the failure is reported, what runs keeps serving, and
// the reconciler recovers when the repository is back.
func TestUnreachableRepositoryChangesNothing(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	f, st, c1 := e2etest.ServingV1UnderLoad(t, ctx)

	moved := f.Repo.Dir + ".moved"
	if err := os.Rename(f.Repo.Dir, moved); err != nil {
		t.Fatal(err)
	}
	if err := f.API.Trigger(ctx); err != nil {
		t.Fatal(err)
	}
	var s api.Status
	var err error
	e2etest.WaitFor(ctx, t, "the fetch failure to be reported", func() bool {
		s, err = f.API.Status(ctx)
		return err == nil && s.Source.Error != ""
	})
	if s.Ready.Reason != api.ReasonSourceUnreachable || s.Applied == nil || s.Applied.Commit != c1 {
		t.Fatalf("status while the repository is gone: %+v", s)
	}
	if !strings.Contains(s.Source.Error, f.Repo.Dir) {
		t.Errorf("the error does not name the repository: %q", s.Source.Error)
	}
	if err := os.Rename(moved, f.Repo.Dir); err != nil {
		t.Fatal(err)
	}
	if err := f.API.Trigger(ctx); err != nil {
		t.Fatal(err)
	}
	e2etest.WaitFor(ctx, t, "the source to recover", func() bool {
		s, err = f.API.Status(ctx)
		return err == nil && s.Source.Error == "" && s.Ready.Status
	})
	st.AssertNoFailedRequests(t)
}

// TestUnhealthyReleaseFailsAndTrafficStays deploys a release whose
// instances never pass their health check: the rollout fails at its
// progress deadline, its infra-set is removed, the traffic never leaves v1,
// and the release is not retried at the same revision.
func TestUnhealthyReleaseFailsAndTrafficStays(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	f, st, _ := e2etest.ServingV1UnderLoad(t, ctx)

	deadline := "package quickstart\n\nservices: web: strategy: progressDeadline: \"3s\"\n"
	if err := os.WriteFile(filepath.Join(f.Repo.Dir, "deadline.cue"), []byte(deadline), 0o644); err != nil {
		t.Fatal(err)
	}
	c2 := f.Commit(ctx, f.Artifacts["v2"], `{FAIL_HEALTH: "1"}`, "Deploy a v2 that never gets healthy")
	if err := f.API.Trigger(ctx); err != nil {
		t.Fatal(err)
	}
	var s api.Status
	var err error
	e2etest.WaitFor(ctx, t, "the rollout to fail", func() bool {
		s, err = f.API.Status(ctx)
		return err == nil && s.Ready.Reason == api.ReasonRolloutFailed
	})
	if s.Applied == nil || s.Applied.Commit != c2 || !strings.Contains(s.Ready.Message, "did not become healthy") ||
		!strings.Contains(s.Ready.Message, "503") {
		t.Fatalf("failed rollout status: %+v", s.Ready)
	}
	e2etest.WaitFor(ctx, t, "the failed infra-set's removal to be journaled", func() bool {
		entries, err := f.API.Journal(ctx, 0, 1000)
		if err != nil {
			return false
		}
		for _, e := range entries {
			if e.Kind == api.EntryOutcome && e.Action == api.ActionRemoveSet && e.Error == "" {
				return true
			}
		}
		return false
	})
	if s, err = f.API.Status(ctx); err != nil || e2etest.HasSetInState(s, api.SetFailed) || e2etest.HasSetInState(s, api.SetRemoving) {
		t.Fatalf("the failed set is still there: %+v, %v", s, err)
	}
	pl := s.Services[0].Placements[0]
	if pl.Split == nil || pl.Split.Weight(pl.Serving) != 100 || len(pl.Sets) != 1 {
		t.Fatalf("traffic left v1 or sets remain: %+v", pl)
	}
	// Not retried: the journal stays quiet for a few passes.
	before := s.LastSeq
	time.Sleep(3 * time.Second)
	if s, err = f.API.Status(ctx); err != nil || s.LastSeq != before {
		t.Fatalf("the failed release was retried at the same revision (journal %d → %d)", before, s.LastSeq)
	}
	st.AssertNoFailedRequests(t)
	if !st.Load.ServingOnly("v1", time.Time{}) {
		t.Fatal("a request was served by something other than v1")
	}
}

// BenchmarkWarmRollback measures, per operation, the time from the trigger
// that follows a `git revert` (as a webhook would send it) to the router
// serving the warm release to a client: fetch, load, decide and switch.
// Reverts alternate between v1 and v2, both kept warm.
func BenchmarkWarmRollback(b *testing.B) {
	ctx := context.Background()
	f := e2etest.New(b, ctx)
	st := f.Story()
	c1 := f.Commit(ctx, f.Artifacts["v1"], "", "Deploy web v1")
	f.StartReconciler(ctx)
	if !st.Promoted(ctx, "deploy v1", c1, "v1") {
		b.Fatal("v1 did not converge")
	}
	// v2 is canaried: its steps are judged on traffic, and a step without
	// any is held, not passed.
	st.Load = harness.StartLoadOn(ctx, []string{f.Router}, "", 2, 5*time.Millisecond)
	defer st.Load.Stop()
	c2 := f.Commit(ctx, f.Artifacts["v2"], "", "Deploy web v2")
	if err := f.API.Trigger(ctx); err != nil {
		b.Fatal(err)
	}
	if !st.Promoted(ctx, "deploy v2", c2, "v2") {
		b.Fatal("v2 did not converge")
	}
	client := &http.Client{Timeout: 5 * time.Second}
	version := func() string {
		resp, err := client.Get(f.Router)
		if err != nil {
			return ""
		}
		defer resp.Body.Close()
		return resp.Header.Get("X-App-Version")
	}
	want := "v2"
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		if _, err := f.Repo.Revert(ctx); err != nil {
			b.Fatal(err)
		}
		want = map[string]string{"v1": "v2", "v2": "v1"}[want]
		b.StartTimer()
		if err := f.API.Trigger(ctx); err != nil {
			b.Fatal(err)
		}
		deadline := time.Now().Add(time.Minute)
		for version() != want {
			if time.Now().After(deadline) {
				b.Fatalf("router never served %s", want)
			}
			time.Sleep(time.Millisecond)
		}
	}
}

// TestCrashedInstanceIsReplaced kills a serving instance by hand: the
// reconciler starts a new one, the router's split follows its new endpoint,
// and the router's retry on a refused connection keeps every request whole.
func TestCrashedInstanceIsReplaced(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	f, st, _ := e2etest.ServingV1UnderLoad(t, ctx)

	rt, err := process.New(process.Config{Root: f.ProcessRoot()})
	if err != nil {
		t.Fatal(err)
	}
	sets, err := rt.Observe(ctx)
	if err != nil || len(sets) != 1 || len(sets[0].Instances) != 2 {
		t.Fatalf("observed %+v, %v", sets, err)
	}
	victim := sets[0].Instances[0]
	if err := syscall.Kill(victim.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	e2etest.WaitFor(ctx, t, "a replacement instance in the router's split", func() bool {
		s, err := f.API.Status(ctx)
		if err != nil || len(s.Services) == 0 {
			return false
		}
		pl := s.Services[0].Placements[0]
		if pl.Split == nil || len(pl.Split.Backends) != 1 {
			return false
		}
		eps := pl.Split.Backends[0].Endpoints
		return len(eps) == 2 && !slices.Contains(eps, victim.Endpoint)
	})
	sets, err = rt.Observe(ctx)
	if err != nil || len(sets) != 1 || len(sets[0].Instances) != 2 {
		t.Fatalf("after replacement observed %+v, %v", sets, err)
	}
	for _, in := range sets[0].Instances {
		if in.PID == victim.PID {
			t.Fatalf("killed instance %d still listed", victim.PID)
		}
	}
	st.AssertNoFailedRequests(t)
}

// TestOlderSetsAreCollected deploys three releases in a row: with keepWarm
// 1, the oldest set is drained and removed, and only the serving set and one
// warm set run.
func TestOlderSetsAreCollected(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	f, st, _ := e2etest.ServingV1UnderLoad(t, ctx)
	c2 := f.Commit(ctx, f.Artifacts["v2"], "", "Deploy web v2")
	f.Converge(ctx, st, "deploy v2", c2, "v2")
	// The same artifact with another setting is another release.
	c3 := f.Commit(ctx, f.Artifacts["v2"], `{LANGUAGE: "fr"}`, "Deploy web v2 in French")
	f.Converge(ctx, st, "deploy v2 in French", c3, "v2")
	rt, err := process.New(process.Config{Root: f.ProcessRoot()})
	if err != nil {
		t.Fatal(err)
	}
	var states map[api.SetState]int
	e2etest.WaitFor(ctx, t, "the oldest set to be removed", func() bool {
		sets, err := rt.Observe(ctx)
		if err != nil || len(sets) != 2 {
			return false
		}
		s, err := f.API.Status(ctx)
		if err != nil {
			return false
		}
		states = map[api.SetState]int{}
		for _, set := range s.Services[0].Placements[0].Sets {
			states[set.State]++
		}
		return states[api.SetRemoving] == 0
	})
	if states[api.SetServing] != 1 || states[api.SetWarm] != 1 || len(states) != 2 {
		t.Fatalf("sets by state: %v", states)
	}
	st.AssertNoFailedRequests(t)
}

// TestDockerTargetRollsOutAndReverts runs the story on a Docker target: the
// same desired state with runtime kind docker, containers behind the router.
func TestDockerTargetRollsOutAndReverts(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	f := e2etest.New(t, ctx)
	owner := fmt.Sprintf("durable-e2e-%d", time.Now().UnixNano())
	targets := filepath.Join(f.Repo.Dir, "targets.cue")
	b, err := os.ReadFile(targets)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(b), `runtime: kind: "process"`, fmt.Sprintf(`runtime: {kind: "docker", owner: %q}`, owner), 1)
	if text == string(b) {
		t.Fatal("examples/quickstart/targets.cue no longer says runtime: kind: \"process\"")
	}
	if err := os.WriteFile(targets, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	rt := dockerRuntime(t, owner, f.Artifacts)

	st, _ := f.ServeV1(ctx, "Deploy web v1 on Docker")
	c2 := f.Commit(ctx, f.Artifacts["v2"], "", "Deploy web v2 on Docker")
	f.Converge(ctx, st, "deploy v2", c2, "v2")
	c3, err := f.Repo.Revert(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f.Converge(ctx, st, "git revert to v1", c3, "v1")
	sets, err := rt.Observe(ctx)
	if err != nil || len(sets) != 2 {
		t.Fatalf("containers: %d sets (%v), want v1 serving and v2 warm", len(sets), err)
	}
	st.AssertNoFailedRequests(t)
}

// TestMissingArtifactFailsWithTheReason deploys an artifact whose digest the
// registry does not have: the rollout fails at its deadline saying why, and
// the traffic stays on v1.
func TestMissingArtifactFailsWithTheReason(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	// Without a trust file, so that the runtime meets the missing artifact
	// (with one, verification refuses it first: TestUntrustedRevisionsAreRefused).
	f := e2etest.New(t, ctx)
	f.Trust, f.Unverified = "", true
	st, _ := f.ServeV1(ctx, "Deploy web v1")
	deadline := "package quickstart\n\nservices: web: strategy: progressDeadline: \"3s\"\n"
	if err := os.WriteFile(filepath.Join(f.Repo.Dir, "deadline.cue"), []byte(deadline), 0o644); err != nil {
		t.Fatal(err)
	}
	repo, _, _ := strings.Cut(f.Artifacts["v1"], "@")
	f.Commit(ctx, repo+"@sha256:"+strings.Repeat("0", 64), "", "Deploy an artifact the registry does not have")
	if err := f.API.Trigger(ctx); err != nil {
		t.Fatal(err)
	}
	var s api.Status
	var err error
	e2etest.WaitFor(ctx, t, "the rollout to fail", func() bool {
		s, err = f.API.Status(ctx)
		return err == nil && s.Ready.Reason == api.ReasonRolloutFailed
	})
	if !strings.Contains(s.Ready.Message, "fetch "+repo+"@sha256:000") {
		t.Fatalf("the failure does not say the artifact could not be fetched: %s", s.Ready.Message)
	}
	st.AssertNoFailedRequests(t)
	if !st.Load.ServingOnly("v1", time.Time{}) {
		t.Fatal("a request was served by something other than v1")
	}
}

// TestDockerHAProxyExample runs examples/docker-haproxy end to end: a real
// HAProxy from the example's bootstrap configuration, containers on the
// Docker engine; under continuous load through HAProxy: v1, a bad release
// that fails and is reverted, v2, then `git revert` back to the warm v1, with
// no failed request.
func TestDockerHAProxyExample(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	dir := t.TempDir()
	regHost, artifacts := e2etest.StartRegistry(t, ctx, dir)

	// HAProxy, from the example's own configuration, on this test's socket
	// and a free port.
	frontend, err := e2etest.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	socket := filepath.Join(dir, "admin.sock")
	cfg, err := fs.ReadFile(examples.DockerHAProxy(), "haproxy.cfg")
	if err != nil {
		t.Fatal(err)
	}
	text := strings.NewReplacer("/tmp/durable-haproxy/admin.sock", socket, "127.0.0.1:8088", frontend).Replace(string(cfg))
	if text == string(cfg) {
		t.Fatal("examples/docker-haproxy/haproxy.cfg no longer names the socket and port this test replaces")
	}
	cfgPath := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(cfgPath, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	bin, err := exec.LookPath("haproxy")
	if err != nil {
		t.Fatalf("haproxy is not installed (hack/install-deps.sh installs it): %v", err)
	}
	hap, err := harness.StartChild("haproxy", bin, filepath.Join(dir, "haproxy.log"), "-f", cfgPath, "-db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hap.Stop(5 * time.Second) })
	e2etest.WaitFor(ctx, t, "HAProxy's Runtime API", func() bool {
		c, err := net.Dial("unix", socket)
		if err == nil {
			c.Close()
		}
		return err == nil
	})

	owner := fmt.Sprintf("durable-example-%d", time.Now().UnixNano())
	rp, err := harness.NewRepoFrom(ctx, filepath.Join(dir, "repo"), examples.DockerHAProxy(), map[string][][2]string{
		"targets.cue": {{`"docker-haproxy-example"`, strconv.Quote(owner)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	dockerRuntime(t, owner, artifacts)
	f := e2etest.On(t, dir, artifacts, rp, "http://"+frontend+"/")
	if f.Trust, err = harness.SignAndTrust(ctx, filepath.Join(dir, "trust"), regHost, artifacts); err != nil {
		t.Fatal(err)
	}
	f.Host.HAProxy = map[string]string{"docker-haproxy": socket}

	st := f.Story()
	c1 := f.Commit(ctx, artifacts["v1"], "", "Deploy web v1 behind HAProxy")
	f.StartReconciler(ctx)
	if !st.Promoted(ctx, "deploy v1", c1, "v1") {
		t.Fatalf("v1 did not converge:\n%s", f.Logs())
	}
	st.Load = harness.StartLoad(ctx, f.Router, 2, 5*time.Millisecond)
	t.Cleanup(st.Load.Stop)

	// v2 is canaried through HAProxy's weights with no failed request.
	c2 := f.Commit(ctx, artifacts["v2"], "", "Deploy web v2 behind HAProxy")
	f.Converge(ctx, st, "canary v2", c2, "v2")
	st.AssertNoFailedRequests(t)

	// A bad release fails a fifth of its requests: HAProxy's 5xx counts
	// catch it at its first step, and the traffic goes back to v2.
	c3 := f.Commit(ctx, artifacts["v2"], `{FAIL_RATE: "0.2"}`, "Deploy a bad web v2")
	if err := f.API.Trigger(ctx); err != nil {
		t.Fatal(err)
	}
	if !st.RolledBack(ctx, "canary of the bad release", c3, "v2") {
		t.Fatalf("the bad release was not rolled back:\n%s", f.Logs())
	}
	bad := st.Phases[len(st.Phases)-1]
	if bad.FailedShare() >= harness.MaxBadShare {
		t.Fatalf("the bad release failed %d of %d requests: more than its canary's share", bad.FailedRequests, bad.Requests)
	}

	// git revert of both: v1 is still warm, so this is a traffic switch.
	c4, err := rp.RevertLast(ctx, 2, "Roll back to v1")
	if err != nil {
		t.Fatal(err)
	}
	f.Converge(ctx, st, "git revert to v1", c4, "v1")
	t.Logf("bad release caught after %.3fs, %d of %d requests failed (%.2f%%)", bad.DetectionSeconds, bad.FailedRequests, bad.Requests, 100*bad.FailedShare())
	s, err := f.API.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pl := s.Services[0].Placements[0]
	if pl.Split == nil || pl.Split.Weight(pl.Serving) != 100 || len(pl.Split.Backends) != 2 {
		t.Fatalf("HAProxy's split after the revert: %+v", pl.Split)
	}
	for _, p := range st.Phases {
		if p.Expect == "promoted" && p.FailedRequests != 0 {
			t.Errorf("phase %s: %d requests failed", p.Name, p.FailedRequests)
		}
	}
}

// dockerRuntime is the Docker runtime of owner's containers; at the end of
// the test it removes them, and the images, which name a registry that dies
// with the test.
func dockerRuntime(t *testing.T, owner string, artifacts map[string]string) *docker.Runtime {
	t.Helper()
	rt, err := docker.New(docker.Config{Docker: dockersettings.Docker{Owner: owner}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		sets, _ := rt.Observe(ctx)
		for _, s := range sets {
			_ = rt.Remove(ctx, s.ID, 5*time.Second)
		}
		rt.Close()
		if engine, err := client.New(client.FromEnv); err == nil {
			for _, ref := range artifacts {
				_, _ = engine.ImageRemove(ctx, ref, client.ImageRemoveOptions{Force: true, PruneChildren: true})
			}
			engine.Close()
		}
	})
	return rt
}
