package demo

import (
	"context"
	"errors"
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

	"github.com/durable-delivery/durable/adapters"
	"github.com/durable-delivery/durable/adapters/docker"
	dockersettings "github.com/durable-delivery/durable/adapters/docker/settings"
	"github.com/durable-delivery/durable/adapters/process"
	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/examples"
	"github.com/durable-delivery/durable/journal"
	"github.com/durable-delivery/durable/server"
)

// durableBin is the durable binary built once for these tests: the router
// and the reconciler run as their own processes, as in production.
var durableBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "durable-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	durableBin = filepath.Join(dir, "durable")
	build := exec.Command("go", "build", "-o", durableBin, "github.com/durable-delivery/durable/cmd/durable")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build durable: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// TestDemoHeadless runs the whole demo story: v1, v2 canaried under load,
// v3 (which fails a fifth of its requests) caught at its first canary step
// and rolled back, then git revert back to the warm v1. Only v3's phase may
// fail requests, and no more than its canary's share.
func TestDemoHeadless(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var out strings.Builder
	sum, err := Run(ctx, Options{Executable: durableBin, Dir: t.TempDir(), Headless: true, Out: &out})
	t.Log(out.String())
	if err != nil {
		t.Fatal(err)
	}
	if !sum.Converged {
		t.Fatalf("demo did not converge: %+v", sum)
	}
	if sum.TotalRequests == 0 {
		t.Fatal("no request was sent")
	}
	want := []struct{ version, expect string }{{"v1", "promoted"}, {"v2", "promoted"}, {"v2", "rolled back"}, {"v1", "promoted"}}
	if len(sum.Phases) != len(want) {
		t.Fatalf("phases %+v", sum.Phases)
	}
	for i, p := range sum.Phases {
		if p.Version != want[i].version || p.Expect != want[i].expect || !p.Converged {
			t.Errorf("phase %d: %+v, want %s %s", i, p, want[i].version, want[i].expect)
		}
		if p.Expect == "promoted" && p.FailedRequests != 0 {
			t.Errorf("phase %s: %d requests failed", p.Name, p.FailedRequests)
		}
	}
	bad := sum.Phases[2]
	if bad.FailedRequests == 0 || bad.FailedShare() >= maxBadShare || bad.DetectionSeconds <= 0 || sum.FailedRequests != bad.FailedRequests {
		t.Errorf("bad release: %d of %d requests failed (%.2f%%), caught after %.3fs; all phases failed %d",
			bad.FailedRequests, bad.Requests, 100*bad.FailedShare(), bad.DetectionSeconds, sum.FailedRequests)
	}
	t.Logf("v3 caught after %.3fs with %.2f%% of the phase's requests failed; rollback %.3fs; %d requests",
		bad.DetectionSeconds, 100*bad.FailedShare(), sum.RollbackSecond, sum.TotalRequests)
}

// fixture is a registry, a router, a desired-state repository and a
// reconciler, each real, for tests that need to act between the demo's steps.
type fixture struct {
	t         testing.TB
	dir       string
	artifacts map[string]string
	repo      *repo
	api       *server.Client
	apiAddr   string
	router    string
	// routerAdmin is the router's admin address, which targets.cue names.
	routerAdmin string
	// registry is the OCI registry's host:port; trust the reconciler's
	// trust file, when the artifacts are signed.
	registry string
	trust    string
	// extraArgs are more flags for durable run.
	extraArgs []string
	rec       *child
}

func newFixture(t testing.TB, ctx context.Context) *fixture {
	t.Helper()
	f := &fixture{t: t, dir: t.TempDir()}
	regHost, stopRegistry, err := examples.StartRegistry()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stopRegistry)
	if f.artifacts, err = examples.BuildAndPush(ctx, regHost, filepath.Join(f.dir, "build"), "v1", "v2"); err != nil {
		t.Fatal(err)
	}
	f.registry = regHost
	if f.trust, err = signAndTrust(ctx, filepath.Join(f.dir, "trust"), regHost, f.artifacts); err != nil {
		t.Fatal(err)
	}
	router, routerAddr, adminAddr, err := startRouterChild(ctx, "router", durableBin, filepath.Join(f.dir, "router.log"), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { router.stop(5 * time.Second) })
	f.router, f.routerAdmin = "http://"+routerAddr+"/", adminAddr
	// The reconciler picks its API port when it starts: the client learns
	// it then (stories hold this same client).
	f.api = server.NewClient("127.0.0.1:0")
	if f.repo, err = newRepo(ctx, filepath.Join(f.dir, "repo"), adminAddr); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if f.rec != nil {
			f.rec.stop(10 * time.Second)
		}
		removeInstances(f.processRoot())
		f.checkJournal()
	})
	return f
}

// checkJournal replays the journal the reconciler left, once it stopped,
// and fails the test on any breach of its invariants (journal.Check).
func (f *fixture) checkJournal() {
	path := filepath.Join(f.dir, "state", "journal.db")
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return // no reconciler ran: no journal to check
	}
	st, err := journal.OpenBolt(path, journal.BoltOptions{ReadOnly: true})
	if err != nil {
		f.t.Errorf("open the journal to check it: %v", err)
		return
	}
	defer st.Close()
	problems, err := journal.Check(context.Background(), st)
	if err != nil {
		f.t.Errorf("check the journal: %v", err)
	}
	for _, p := range problems {
		f.t.Errorf("journal: %s", p)
	}
}

func (f *fixture) processRoot() string { return filepath.Join(f.dir, "state", "process") }

// startReconciler runs `durable run` on the fixture's repository. The first
// start lets it pick its API port; a restart asks for the same one.
func (f *fixture) startReconciler(ctx context.Context) {
	f.t.Helper()
	listen := f.apiAddr
	if listen == "" {
		listen = "127.0.0.1:0"
	}
	args := []string{"run", "--repo", f.repo.dir, "--state", filepath.Join(f.dir, "state"), "--listen", listen}
	if f.trust != "" {
		args = append(args, "--trust", f.trust)
	}
	args = append(args, f.extraArgs...)
	rec, err := startChild("reconciler", durableBin, filepath.Join(f.dir, "reconciler.log"), args...)
	if err != nil {
		f.t.Fatal(err)
	}
	f.rec = rec
	addrs, err := rec.waitListening(ctx, reconcilerListening)
	if err != nil {
		f.t.Fatal(err)
	}
	f.apiAddr = addrs[0]
	f.api.Base = "http://" + f.apiAddr
	if err := rec.waitHealthy(ctx, "http://"+f.apiAddr+"/healthz"); err != nil {
		f.t.Fatal(err)
	}
}

// kill ends the reconciler with SIGKILL: no chance to clean up.
func (f *fixture) kill() {
	_ = f.rec.cmd.Process.Signal(syscall.SIGKILL)
	<-f.rec.done
	f.rec = nil
}

func (f *fixture) commit(ctx context.Context, artifact, env, message string) string {
	f.t.Helper()
	if err := f.repo.setArtifact(artifact); err != nil {
		f.t.Fatal(err)
	}
	if env != "" {
		extra := fmt.Sprintf("package %s\n\nservices: web: run: env: %s\n", f.repo.pkg(), env)
		if err := os.WriteFile(filepath.Join(f.repo.dir, "env.cue"), []byte(extra), 0o644); err != nil {
			f.t.Fatal(err)
		}
	}
	c, err := f.repo.commit(ctx, message)
	if err != nil {
		f.t.Fatal(err)
	}
	return c
}

func (f *fixture) story() *story {
	return &story{client: f.api, n: &narrator{w: testWriter{f.t}}, timeout: 2 * time.Minute, router: f.router}
}

func (f *fixture) logs() string {
	b, _ := os.ReadFile(filepath.Join(f.dir, "reconciler.log"))
	return string(b)
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(ctx context.Context, t *testing.T, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// TestReconcilerKilledMidRollout kills the reconciler with SIGKILL while a
// new infra-set is starting, restarts it, and checks that it converges with
// no duplicate or orphaned infra-set and no failed request.
func TestReconcilerKilledMidRollout(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	f := newFixture(t, ctx)
	st := f.story()
	c1 := f.commit(ctx, f.artifacts["v1"], "", "Deploy web v1")
	f.startReconciler(ctx)
	if !st.phase(ctx, "deploy v1", c1, "v1") {
		t.Fatalf("v1 did not converge:\n%s", f.logs())
	}
	st.load = startLoad(ctx, f.router, 4, 5*time.Millisecond)
	defer st.load.stop()

	// v2 takes a few seconds to become healthy: the window to kill in.
	c2 := f.commit(ctx, f.artifacts["v2"], `{STARTUP_DELAY: "3s"}`, "Deploy web v2, slow to start")
	if err := f.api.Trigger(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(ctx, t, "the v2 infra-set to be created", func() bool {
		s, err := f.api.Status(ctx)
		return err == nil && hasSetInState(s, api.SetCreating)
	})
	f.kill()
	// While no reconciler runs, the router keeps serving v1.
	time.Sleep(500 * time.Millisecond)
	f.startReconciler(ctx)
	if !st.phase(ctx, "deploy v2 after SIGKILL", c2, "v2") {
		t.Fatalf("v2 did not converge after the restart:\n%s", f.logs())
	}

	// Kill again right after a revert is seen: the switch must still happen
	// exactly once, on restart if not before.
	c3, err := f.repo.revert(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.api.Trigger(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(ctx, t, "the revert to be seen", func() bool {
		s, err := f.api.Status(ctx)
		return err == nil && s.Head != nil && s.Head.Commit == c3
	})
	f.kill()
	f.startReconciler(ctx)
	if !st.phase(ctx, "revert after SIGKILL", c3, "v1") {
		t.Fatalf("revert did not converge after the restart:\n%s", f.logs())
	}

	st.assertNoFailedRequests(t)
	assertNoDuplicatesOrOrphans(ctx, t, f)
}

func hasSetInState(s api.Status, state api.SetState) bool {
	for _, svc := range s.Services {
		for _, pl := range svc.Placements {
			for _, set := range pl.Sets {
				if set.State == state {
					return true
				}
			}
		}
	}
	return false
}

// assertNoDuplicatesOrOrphans checks the target against the journal: every
// running infra-set is one the journal has live, with exactly its replicas,
// one process per instance index.
func assertNoDuplicatesOrOrphans(ctx context.Context, t *testing.T, f *fixture) {
	t.Helper()
	s, err := f.api.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	observed := runningAsJournaled(ctx, t, f, s, api.SetServing, api.SetWarm)
	if len(observed) != 2 {
		t.Errorf("want 2 infra-sets running (v1 serving, v2 warm), got %d: %+v", len(observed), observed)
	}
	for _, o := range observed {
		if len(o.Instances) != 2 {
			t.Errorf("infra-set %s runs %d instances, want 2", o.ID, len(o.Instances))
		}
	}
}

// runningAsJournaled observes the process runtime and fails the test when
// a set runs that the journal does not have in one of the states, or when a
// set runs an instance twice. It returns what runs.
func runningAsJournaled(ctx context.Context, t *testing.T, f *fixture, s api.Status, states ...api.SetState) []adapters.InfraSetStatus {
	t.Helper()
	journaled := map[string]api.SetState{}
	for _, svc := range s.Services {
		for _, pl := range svc.Placements {
			for _, set := range pl.Sets {
				journaled[set.ID] = set.State
			}
		}
	}
	rt, err := process.New(process.Config{Root: f.processRoot()})
	if err != nil {
		t.Fatal(err)
	}
	observed, err := rt.Observe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range observed {
		if !slices.Contains(states, journaled[o.ID]) {
			t.Fatalf("infra-set %s runs but the journal has it as %q", o.ID, journaled[o.ID])
		}
		seen := map[int]bool{}
		for _, in := range o.Instances {
			if seen[in.Index] {
				t.Fatalf("infra-set %s runs instance %d twice", o.ID, in.Index)
			}
			seen[in.Index] = true
		}
	}
	return observed
}

// TestRejectedRevisionKeepsRunning commits invalid desired state: the
// revision is rejected with positioned errors, shown in status, and what
// runs keeps serving with no failed request; a fix is then applied.
func TestRejectedRevisionKeepsRunning(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	f, st, c1 := servingV1UnderLoad(t, ctx)

	bad := filepath.Join(f.repo.dir, "typo.cue")
	if err := os.WriteFile(bad, []byte("package quickstart\n\nservices: web: run: replica: 3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c2, err := f.repo.commit(ctx, "Typo in a field name")
	if err != nil {
		t.Fatal(err)
	}
	s := f.judged(ctx, t, c2)
	if s.Head.Verdict != api.RevisionRejected || s.Ready.Reason != "RevisionRejected" {
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
	c3 := f.commit(ctx, f.artifacts["v2"], "", "Fix the typo, deploy v2")
	f.converge(ctx, st, "deploy v2 after the fix", c3, "v2")
	st.assertNoFailedRequests(t)
}

// TestUnreachableRepositoryChangesNothing moves the repository away while
// the reconciler runs: the failure is reported, what runs keeps serving, and
// the reconciler recovers when the repository is back.
func TestUnreachableRepositoryChangesNothing(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	f, st, c1 := servingV1UnderLoad(t, ctx)

	moved := f.repo.dir + ".moved"
	if err := os.Rename(f.repo.dir, moved); err != nil {
		t.Fatal(err)
	}
	if err := f.api.Trigger(ctx); err != nil {
		t.Fatal(err)
	}
	var s api.Status
	var err error
	waitFor(ctx, t, "the fetch failure to be reported", func() bool {
		s, err = f.api.Status(ctx)
		return err == nil && s.Source.Error != ""
	})
	if s.Ready.Reason != "SourceUnreachable" || s.Applied == nil || s.Applied.Commit != c1 {
		t.Fatalf("status while the repository is gone: %+v", s)
	}
	if !strings.Contains(s.Source.Error, f.repo.dir) {
		t.Errorf("the error does not name the repository: %q", s.Source.Error)
	}
	if err := os.Rename(moved, f.repo.dir); err != nil {
		t.Fatal(err)
	}
	if err := f.api.Trigger(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(ctx, t, "the source to recover", func() bool {
		s, err = f.api.Status(ctx)
		return err == nil && s.Source.Error == "" && s.Ready.Status
	})
	st.assertNoFailedRequests(t)
}

// TestUnhealthyReleaseFailsAndTrafficStays deploys a release whose
// instances never pass their health check: the rollout fails at its
// progress deadline, its infra-set is removed, the traffic never leaves v1,
// and the release is not retried at the same revision.
func TestUnhealthyReleaseFailsAndTrafficStays(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	f, st, _ := servingV1UnderLoad(t, ctx)

	deadline := "package quickstart\n\nservices: web: strategy: progressDeadline: \"3s\"\n"
	if err := os.WriteFile(filepath.Join(f.repo.dir, "deadline.cue"), []byte(deadline), 0o644); err != nil {
		t.Fatal(err)
	}
	c2 := f.commit(ctx, f.artifacts["v2"], `{FAIL_HEALTH: "1"}`, "Deploy a v2 that never gets healthy")
	if err := f.api.Trigger(ctx); err != nil {
		t.Fatal(err)
	}
	var s api.Status
	var err error
	waitFor(ctx, t, "the rollout to fail", func() bool {
		s, err = f.api.Status(ctx)
		return err == nil && s.Ready.Reason == "RolloutFailed"
	})
	if s.Applied == nil || s.Applied.Commit != c2 || !strings.Contains(s.Ready.Message, "did not become healthy") ||
		!strings.Contains(s.Ready.Message, "503") {
		t.Fatalf("failed rollout status: %+v", s.Ready)
	}
	waitFor(ctx, t, "the failed infra-set's removal to be journaled", func() bool {
		entries, err := f.api.Journal(ctx, 0, 1000)
		if err != nil {
			return false
		}
		for _, e := range entries {
			if e.Kind == api.EntryOutcome && e.Action == "remove-set" && e.Error == "" {
				return true
			}
		}
		return false
	})
	if s, err = f.api.Status(ctx); err != nil || hasSetInState(s, api.SetFailed) || hasSetInState(s, api.SetRemoving) {
		t.Fatalf("the failed set is still there: %+v, %v", s, err)
	}
	pl := s.Services[0].Placements[0]
	if pl.Split == nil || pl.Split.Weight(pl.Serving) != 100 || len(pl.Sets) != 1 {
		t.Fatalf("traffic left v1 or sets remain: %+v", pl)
	}
	// Not retried: the journal stays quiet for a few passes.
	before := s.LastSeq
	time.Sleep(3 * time.Second)
	if s, err = f.api.Status(ctx); err != nil || s.LastSeq != before {
		t.Fatalf("the failed release was retried at the same revision (journal %d → %d)", before, s.LastSeq)
	}
	st.assertNoFailedRequests(t)
	if !st.load.servingOnly("v1", time.Time{}) {
		t.Fatal("a request was served by something other than v1")
	}
}

// BenchmarkWarmRollback measures, per operation, the time from the trigger
// that follows a `git revert` (as a webhook would send it) to the router
// serving the warm release to a client: fetch, load, decide and switch.
// Reverts alternate between v1 and v2, both kept warm.
func BenchmarkWarmRollback(b *testing.B) {
	ctx := context.Background()
	f := newFixture(b, ctx)
	st := f.story()
	c1 := f.commit(ctx, f.artifacts["v1"], "", "Deploy web v1")
	f.startReconciler(ctx)
	if !st.phase(ctx, "deploy v1", c1, "v1") {
		b.Fatal("v1 did not converge")
	}
	c2 := f.commit(ctx, f.artifacts["v2"], "", "Deploy web v2")
	if err := f.api.Trigger(ctx); err != nil {
		b.Fatal(err)
	}
	if !st.phase(ctx, "deploy v2", c2, "v2") {
		b.Fatal("v2 did not converge")
	}
	client := &http.Client{Timeout: 5 * time.Second}
	version := func() string {
		resp, err := client.Get(f.router)
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
		if _, err := f.repo.revert(ctx); err != nil {
			b.Fatal(err)
		}
		want = map[string]string{"v1": "v2", "v2": "v1"}[want]
		b.StartTimer()
		if err := f.api.Trigger(ctx); err != nil {
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
	f, st, _ := servingV1UnderLoad(t, ctx)

	rt, err := process.New(process.Config{Root: f.processRoot()})
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
	waitFor(ctx, t, "a replacement instance in the router's split", func() bool {
		s, err := f.api.Status(ctx)
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
	st.assertNoFailedRequests(t)
}

// judged asks the reconciler to fetch at once and waits until it judged
// commit, its head; it returns the status then.
func (f *fixture) judged(ctx context.Context, t *testing.T, commit string) api.Status {
	t.Helper()
	if err := f.api.Trigger(ctx); err != nil {
		t.Fatal(err)
	}
	var s api.Status
	waitFor(ctx, t, "revision "+short(commit)+" to be judged", func() bool {
		var err error
		s, err = f.api.Status(ctx)
		return err == nil && s.Head != nil && s.Head.Commit == commit
	})
	return s
}

// approve commits alice's approval of release for stage with durable
// approve (more flags in extra), and returns the approval's commit.
func (f *fixture) approve(ctx context.Context, t *testing.T, release, stage string, extra ...string) string {
	t.Helper()
	args := append([]string{"approve", release, "--stage", stage, "--by", "alice@example.com", "--repo", f.repo.dir}, extra...)
	if out, err := exec.CommandContext(ctx, durableBin, args...).CombinedOutput(); err != nil {
		t.Fatalf("durable approve: %v: %s", err, out)
	}
	commit, err := f.repo.head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return commit
}

// servingV1UnderLoad starts a fixture, deploys v1 and sends it a steady load
// for the rest of the test; it returns the v1 commit.
func servingV1UnderLoad(t *testing.T, ctx context.Context) (*fixture, *story, string) {
	t.Helper()
	f := newFixture(t, ctx)
	st, c1 := f.serveV1(ctx, "Deploy web v1")
	return f, st, c1
}

// serveV1 commits v1, starts the reconciler, waits until v1 serves, and
// starts a steady load through the router (or spread over urls): the start
// of most stories.
func (f *fixture) serveV1(ctx context.Context, message string, urls ...string) (*story, string) {
	f.t.Helper()
	st := f.story()
	c1 := f.commit(ctx, f.artifacts["v1"], "", message)
	f.startReconciler(ctx)
	if !st.phase(ctx, "deploy v1", c1, "v1") {
		f.t.Fatalf("v1 did not converge:\n%s", f.logs())
	}
	if len(urls) == 0 {
		urls = []string{f.router}
	}
	st.load = startLoadOn(ctx, urls, "", 2*len(urls), 5*time.Millisecond)
	f.t.Cleanup(st.load.stop)
	return st, c1
}

// converge asks the reconciler to fetch at once and waits until commit
// serves version, failing the test with the reconciler's log if not.
func (f *fixture) converge(ctx context.Context, st *story, name, commit, version string) {
	f.t.Helper()
	if err := f.api.Trigger(ctx); err != nil {
		f.t.Fatal(err)
	}
	if !st.phase(ctx, name, commit, version) {
		f.t.Fatalf("%s did not converge:\n%s", name, f.logs())
	}
}

// assertNoFailedRequests fails the test if any request of the load failed
// or none was sent.
func (s *story) assertNoFailedRequests(t *testing.T) {
	t.Helper()
	total, failed, lastErr := s.load.stats()
	if failed != 0 || total == 0 {
		t.Fatalf("requests: %d failed of %d (last error %q)", failed, total, lastErr)
	}
}

// TestOlderSetsAreCollected deploys three releases in a row: with keepWarm
// 1, the oldest set is drained and removed, and only the serving set and one
// warm set run.
func TestOlderSetsAreCollected(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	f, st, _ := servingV1UnderLoad(t, ctx)
	c2 := f.commit(ctx, f.artifacts["v2"], "", "Deploy web v2")
	f.converge(ctx, st, "deploy v2", c2, "v2")
	// The same artifact with another setting is another release.
	c3 := f.commit(ctx, f.artifacts["v2"], `{LANGUAGE: "fr"}`, "Deploy web v2 in French")
	f.converge(ctx, st, "deploy v2 in French", c3, "v2")
	rt, err := process.New(process.Config{Root: f.processRoot()})
	if err != nil {
		t.Fatal(err)
	}
	var states map[api.SetState]int
	waitFor(ctx, t, "the oldest set to be removed", func() bool {
		sets, err := rt.Observe(ctx)
		if err != nil || len(sets) != 2 {
			return false
		}
		s, err := f.api.Status(ctx)
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
	st.assertNoFailedRequests(t)
}

// TestDockerTargetRollsOutAndReverts runs the story on a Docker target: the
// same desired state with runtime kind docker, containers behind the router.
func TestDockerTargetRollsOutAndReverts(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	f := newFixture(t, ctx)
	owner := fmt.Sprintf("durable-e2e-%d", time.Now().UnixNano())
	targets := filepath.Join(f.repo.dir, "targets.cue")
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
	rt := dockerRuntime(t, owner, f.artifacts)

	st, _ := f.serveV1(ctx, "Deploy web v1 on Docker")
	c2 := f.commit(ctx, f.artifacts["v2"], "", "Deploy web v2 on Docker")
	f.converge(ctx, st, "deploy v2", c2, "v2")
	c3, err := f.repo.revert(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f.converge(ctx, st, "git revert to v1", c3, "v1")
	sets, err := rt.Observe(ctx)
	if err != nil || len(sets) != 2 {
		t.Fatalf("containers: %d sets (%v), want v1 serving and v2 warm", len(sets), err)
	}
	st.assertNoFailedRequests(t)
}

// TestMissingArtifactFailsWithTheReason deploys an artifact whose digest the
// registry does not have: the rollout fails at its deadline saying why, and
// the traffic stays on v1.
func TestMissingArtifactFailsWithTheReason(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	// Without a trust file, so that the runtime meets the missing artifact
	// (with one, verification refuses it first: TestUntrustedRevisionsAreRefused).
	f := newFixture(t, ctx)
	f.trust = ""
	st, _ := f.serveV1(ctx, "Deploy web v1")
	deadline := "package quickstart\n\nservices: web: strategy: progressDeadline: \"3s\"\n"
	if err := os.WriteFile(filepath.Join(f.repo.dir, "deadline.cue"), []byte(deadline), 0o644); err != nil {
		t.Fatal(err)
	}
	repo, _, _ := strings.Cut(f.artifacts["v1"], "@")
	f.commit(ctx, repo+"@sha256:"+strings.Repeat("0", 64), "", "Deploy an artifact the registry does not have")
	if err := f.api.Trigger(ctx); err != nil {
		t.Fatal(err)
	}
	var s api.Status
	var err error
	waitFor(ctx, t, "the rollout to fail", func() bool {
		s, err = f.api.Status(ctx)
		return err == nil && s.Ready.Reason == "RolloutFailed"
	})
	if !strings.Contains(s.Ready.Message, "fetch "+repo+"@sha256:000") {
		t.Fatalf("the failure does not say the artifact could not be fetched: %s", s.Ready.Message)
	}
	st.assertNoFailedRequests(t)
	if !st.load.servingOnly("v1", time.Time{}) {
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
	regHost, stopRegistry, err := examples.StartRegistry()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stopRegistry)
	artifacts, err := examples.BuildAndPush(ctx, regHost, filepath.Join(dir, "build"), "v1", "v2")
	if err != nil {
		t.Fatal(err)
	}

	// HAProxy, from the example's own configuration, on this test's socket
	// and a free port.
	frontend, err := freeAddr()
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
	hap, err := startChild("haproxy", bin, filepath.Join(dir, "haproxy.log"), "-f", cfgPath, "-db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hap.stop(5 * time.Second) })
	waitFor(ctx, t, "HAProxy's Runtime API", func() bool {
		c, err := net.Dial("unix", socket)
		if err == nil {
			c.Close()
		}
		return err == nil
	})

	owner := fmt.Sprintf("durable-example-%d", time.Now().UnixNano())
	rp, err := newRepoFrom(ctx, filepath.Join(dir, "repo"), examples.DockerHAProxy(), map[string][][2]string{
		"targets.cue": {{"/tmp/durable-haproxy/admin.sock", socket}, {`"docker-haproxy-example"`, strconv.Quote(owner)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	dockerRuntime(t, owner, artifacts)
	f := &fixture{t: t, dir: dir, artifacts: artifacts, repo: rp, api: server.NewClient("127.0.0.1:0"), router: "http://" + frontend + "/"}
	t.Cleanup(func() {
		if f.rec != nil {
			f.rec.stop(10 * time.Second)
		}
	})

	st := f.story()
	c1 := f.commit(ctx, artifacts["v1"], "", "Deploy web v1 behind HAProxy")
	f.startReconciler(ctx)
	if !st.phase(ctx, "deploy v1", c1, "v1") {
		t.Fatalf("v1 did not converge:\n%s", f.logs())
	}
	st.load = startLoad(ctx, f.router, 2, 5*time.Millisecond)
	t.Cleanup(st.load.stop)

	// v2 is canaried through HAProxy's weights with no failed request.
	c2 := f.commit(ctx, artifacts["v2"], "", "Deploy web v2 behind HAProxy")
	f.converge(ctx, st, "canary v2", c2, "v2")
	st.assertNoFailedRequests(t)

	// A bad release fails a fifth of its requests: HAProxy's 5xx counts
	// catch it at its first step, and the traffic goes back to v2.
	c3 := f.commit(ctx, artifacts["v2"], `{FAIL_RATE: "0.2"}`, "Deploy a bad web v2")
	if err := f.api.Trigger(ctx); err != nil {
		t.Fatal(err)
	}
	if !st.rolledBack(ctx, "canary of the bad release", c3, "v2") {
		t.Fatalf("the bad release was not rolled back:\n%s", f.logs())
	}
	bad := st.phases[len(st.phases)-1]
	if bad.FailedShare() >= maxBadShare {
		t.Fatalf("the bad release failed %d of %d requests: more than its canary's share", bad.FailedRequests, bad.Requests)
	}

	// git revert of both: v1 is still warm, so this is a traffic switch.
	c4, err := rp.revertLast(ctx, 2, "Roll back to v1")
	if err != nil {
		t.Fatal(err)
	}
	f.converge(ctx, st, "git revert to v1", c4, "v1")
	t.Logf("bad release caught after %.3fs, %d of %d requests failed (%.2f%%)", bad.DetectionSeconds, bad.FailedRequests, bad.Requests, 100*bad.FailedShare())
	s, err := f.api.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pl := s.Services[0].Placements[0]
	if pl.Split == nil || pl.Split.Weight(pl.Serving) != 100 || len(pl.Split.Backends) != 2 {
		t.Fatalf("HAProxy's split after the revert: %+v", pl.Split)
	}
	for _, p := range st.phases {
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
