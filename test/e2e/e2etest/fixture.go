// Package e2etest is the fixture of the end-to-end tests (test/e2e/...): a
// registry, a router, a desired-state repository and a reconciler, each real
// and each its own process, built on internal/harness as the demo is, and
// the waits and checks the tests share.
//
// It is imported by tests only; it never reaches into the reconciler's
// internals, and reads what runs from the API, the routers and the runtime,
// as an operator would.
package e2etest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/examples"
	"github.com/durable-delivery/durable/internal/harness"
	"github.com/durable-delivery/durable/server"
)

// Fixture is a registry, a router, a desired-state repository and a
// reconciler, each real, for tests that need to act between the demo's
// steps.
type Fixture struct {
	t         testing.TB
	Dir       string
	Artifacts map[string]string
	Repo      *harness.Repo
	API       *server.Client
	apiAddr   string
	// TokenFile is the reconciler's --token-file; API presents its write
	// token.
	TokenFile string
	Router    string
	// RouterAdmin is the router's admin address, which targets.cue names.
	RouterAdmin string
	// Registry is the OCI registry's host:port; Trust the reconciler's
	// trust file, when the artifacts are signed.
	Registry string
	Trust    string
	// Unverified, without a Trust, starts the reconciler with
	// --insecure-skip-verify: for the tests that mean to run unsigned
	// artifacts. Without either, StartReconciler fails the test.
	Unverified bool
	// Host is what the reconciler's host file names (--host-config): the
	// fixture's router as harness.ExampleRouter, the routers BehindRouters
	// starts, and what a test adds before it starts the reconciler.
	Host harness.HostConfig
	// ExtraArgs are more flags for durable run.
	ExtraArgs []string
	rec       *harness.Child
}

// New starts a registry with v1 and v2 of the quickstart service, signed
// and trusted, a router, and the quickstart repository pointing at it; the
// test starts the reconciler. All of it stops at the end of the test.
func New(t testing.TB, ctx context.Context) *Fixture {
	t.Helper()
	dir := t.TempDir()
	regHost, artifacts := StartRegistry(t, ctx, dir)
	trust, err := harness.SignAndTrust(ctx, filepath.Join(dir, "trust"), regHost, artifacts)
	if err != nil {
		t.Fatal(err)
	}
	return NewWith(t, ctx, dir, Artifacts{Registry: regHost, Refs: artifacts, Trust: trust})
}

// Artifacts are what a fixture runs: the registry's host:port, the
// artifacts by version, and the trust file that accepts them.
type Artifacts struct {
	Registry string
	Refs     map[string]string
	Trust    string
}

// NewWith is New on artifacts the test made itself, in dir: a router and
// the quickstart repository pointing at it.
func NewWith(t testing.TB, ctx context.Context, dir string, a Artifacts) *Fixture {
	t.Helper()
	router, routerAddr, adminAddr, err := harness.StartRouter(ctx, "router", Bin, filepath.Join(dir, "router.log"), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { router.Stop(5 * time.Second) })
	repo, err := harness.NewRepo(ctx, filepath.Join(dir, "repo"))
	if err != nil {
		t.Fatal(err)
	}
	f := On(t, dir, a.Refs, repo, "http://"+routerAddr+"/")
	f.RouterAdmin, f.Registry, f.Trust = adminAddr, a.Registry, a.Trust
	f.Host.Routers[harness.ExampleRouter] = adminAddr
	return f
}

// StartRegistry starts an OCI registry on 127.0.0.1 for the rest of the
// test, builds v1 and v2 of the quickstart service in dir and pushes them,
// and returns the registry's host:port and the artifacts by version.
func StartRegistry(t testing.TB, ctx context.Context, dir string) (string, map[string]string) {
	t.Helper()
	return StartRegistryOn(t, ctx, dir, "127.0.0.1:0")
}

// StartRegistryOn is StartRegistry on the given address (a fleet's bridge,
// which hosts in network namespaces reach).
func StartRegistryOn(t testing.TB, ctx context.Context, dir, address string) (string, map[string]string) {
	t.Helper()
	regHost, stopRegistry, err := examples.StartRegistryOn(address)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stopRegistry)
	artifacts, err := examples.BuildAndPush(ctx, regHost, filepath.Join(dir, "build"), "v1", "v2")
	if err != nil {
		t.Fatal(err)
	}
	return regHost, artifacts
}

// On is a fixture for a repository and a traffic endpoint (router) that the
// test set up itself, in dir. At the end of the test, the reconciler stops,
// the instances of its process runtime are removed, and its journal is
// replayed against the journal's invariants (CheckJournal).
func On(t testing.TB, dir string, artifacts map[string]string, repo *harness.Repo, router string) *Fixture {
	// The reconciler picks its API port when it starts: the client learns
	// it then (stories hold this same client).
	f := &Fixture{t: t, Dir: dir, Artifacts: artifacts, Repo: repo, API: server.NewClient("127.0.0.1:0"), Router: router,
		Host:      harness.HostConfig{Routers: map[string]string{}, Plugins: map[string][]string{}},
		TokenFile: filepath.Join(dir, "api-tokens")}
	token, err := harness.WriteTokenFile(f.TokenFile, "write")
	if err != nil {
		t.Fatal(err)
	}
	f.API.Token = token
	t.Cleanup(func() {
		if f.rec != nil {
			f.rec.Stop(10 * time.Second)
		}
		harness.RemoveInstances(f.ProcessRoot())
		f.CheckJournal()
	})
	return f
}

// ProcessRoot is the root of the reconciler's process runtime.
func (f *Fixture) ProcessRoot() string { return filepath.Join(f.Dir, "state", "process") }

// StartReconciler runs `durable run` on the fixture's repository. The first
// start lets it pick its API port; a restart asks for the same one.
func (f *Fixture) StartReconciler(ctx context.Context) {
	f.t.Helper()
	listen := f.apiAddr
	if listen == "" {
		listen = "127.0.0.1:0"
	}
	args := []string{"--repo", f.Repo.Dir, "--state", filepath.Join(f.Dir, "state"), "--listen", listen, "--token-file", f.TokenFile}
	switch {
	case f.Trust != "":
		args = append(args, "--trust", f.Trust)
	case f.Unverified:
		args = append(args, "--insecure-skip-verify")
	default:
		f.t.Fatal("the fixture has no trust file: sign the artifacts (harness.SignAndTrust) and set Trust, or set Unverified to run them unverified")
	}
	hostFile := filepath.Join(f.Dir, "host.json")
	if err := f.Host.Write(hostFile); err != nil {
		f.t.Fatal(err)
	}
	args = append(args, "--host-config", hostFile)
	args = append(args, f.ExtraArgs...)
	rec, addr, err := harness.StartReconciler(ctx, Bin, filepath.Join(f.Dir, "reconciler.log"), args...)
	if err != nil {
		f.t.Fatal(err)
	}
	f.rec, f.apiAddr = rec, addr
	f.API.Base = "http://" + f.apiAddr
}

// Kill ends the reconciler with SIGKILL: no chance to clean up.
func (f *Fixture) Kill() {
	f.rec.Kill()
	f.rec = nil
}

// Commit commits artifact, with the service's environment set to env (a
// CUE struct) unless env is "", and returns the commit.
func (f *Fixture) Commit(ctx context.Context, artifact, env, message string) string {
	f.t.Helper()
	if err := f.Repo.SetArtifact(artifact); err != nil {
		f.t.Fatal(err)
	}
	if env != "" {
		extra := fmt.Sprintf("package %s\n\nservices: web: run: env: %s\n", f.Repo.Pkg(), env)
		if err := os.WriteFile(filepath.Join(f.Repo.Dir, "env.cue"), []byte(extra), 0o644); err != nil {
			f.t.Fatal(err)
		}
	}
	c, err := f.Repo.Commit(ctx, message)
	if err != nil {
		f.t.Fatal(err)
	}
	return c
}

// Story is a story on the fixture's reconciler, told in the test's log.
func (f *Fixture) Story() *Story {
	return &Story{&harness.Story{API: f.API, Narrator: harness.NewNarrator(testWriter{f.t}), Timeout: 2 * time.Minute}}
}

// Logs is the reconciler's log so far.
func (f *Fixture) Logs() string {
	b, _ := os.ReadFile(filepath.Join(f.Dir, "reconciler.log"))
	return string(b)
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

// Judged asks the reconciler to fetch at once and waits until it judged
// commit, its head; it returns the status then.
func (f *Fixture) Judged(ctx context.Context, t *testing.T, commit string) api.Status {
	t.Helper()
	if err := f.API.Trigger(ctx); err != nil {
		t.Fatal(err)
	}
	var s api.Status
	WaitFor(ctx, t, "revision "+commit[:10]+" to be judged", func() bool {
		var err error
		s, err = f.API.Status(ctx)
		return err == nil && s.Head != nil && s.Head.Commit == commit
	})
	return s
}

// Approve commits alice's approval of release for stage with durable
// approve (more flags in extra), and returns the approval's commit.
func (f *Fixture) Approve(ctx context.Context, t *testing.T, release, stage string, extra ...string) string {
	t.Helper()
	args := append([]string{"approve", release, "--stage", stage, "--by", "alice@example.com", "--repo", f.Repo.Dir}, extra...)
	if out, err := exec.CommandContext(ctx, Bin, args...).CombinedOutput(); err != nil {
		t.Fatalf("durable approve: %v: %s", err, out)
	}
	commit, err := f.Repo.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return commit
}

// ServingV1UnderLoad starts a fixture, deploys v1 and sends it a steady load
// for the rest of the test; it returns the v1 commit.
func ServingV1UnderLoad(t *testing.T, ctx context.Context) (*Fixture, *Story, string) {
	t.Helper()
	f := New(t, ctx)
	st, c1 := f.ServeV1(ctx, "Deploy web v1")
	return f, st, c1
}

// ServeV1 commits v1, starts the reconciler, waits until v1 serves, and
// starts a steady load through the router (or spread over urls): the start
// of most stories.
func (f *Fixture) ServeV1(ctx context.Context, message string, urls ...string) (*Story, string) {
	f.t.Helper()
	st := f.Story()
	c1 := f.Commit(ctx, f.Artifacts["v1"], "", message)
	f.StartReconciler(ctx)
	if !st.Promoted(ctx, "deploy v1", c1, "v1") {
		f.t.Fatalf("v1 did not converge:\n%s", f.Logs())
	}
	if len(urls) == 0 {
		urls = []string{f.Router}
	}
	st.Load = harness.StartLoadOn(ctx, urls, "", 2*len(urls), 5*time.Millisecond)
	f.t.Cleanup(st.Load.Stop)
	return st, c1
}

// Converge asks the reconciler to fetch at once and waits until commit
// serves version, failing the test with the reconciler's log if not.
func (f *Fixture) Converge(ctx context.Context, st *Story, name, commit, version string) {
	f.t.Helper()
	if err := f.API.Trigger(ctx); err != nil {
		f.t.Fatal(err)
	}
	if !st.Promoted(ctx, name, commit, version) {
		f.t.Fatalf("%s did not converge:\n%s", name, f.Logs())
	}
}

// WritePolicy adds a Rego file to the fixture's repository.
func (f *Fixture) WritePolicy(name, text string) {
	f.t.Helper()
	if err := os.WriteFile(filepath.Join(f.Repo.Dir, "policy", name), []byte(text), 0o644); err != nil {
		f.t.Fatal(err)
	}
}
