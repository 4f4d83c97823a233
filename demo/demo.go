// Package demo tells Durable's core story on this machine alone: a desired
// state committed to Git is rolled out make-before-break under steady load,
// and `git revert` switches the traffic back to the still-warm previous
// infra-set at once, with no failed request.
//
// It drives the real pieces as a user would, through internal/harness (the
// durable binary's router and reconciler as their own processes, a real Git
// repository, a real OCI registry), and never reaches into the reconciler's
// internals.
package demo

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/durable-delivery/durable/examples"
	"github.com/durable-delivery/durable/internal/harness"
	"github.com/durable-delivery/durable/server"
)

// Options configure a demo run.
type Options struct {
	// Executable is the durable binary to run the router and the
	// reconciler with.
	Executable string
	// Dir is the working directory; a temporary one when empty, removed at
	// the end unless Keep.
	Dir  string
	Keep bool
	// Headless runs the story and returns; otherwise the demo keeps
	// running until ctx is done.
	Headless bool
	// Out receives the narrative.
	Out io.Writer
	// ConvergeTimeout bounds each phase.
	ConvergeTimeout time.Duration
}

// Summary is the demo's result.
type Summary struct {
	// Converged is true when every phase converged with the right version
	// served and no request failed.
	Converged      bool            `json:"converged"`
	FailedRequests int             `json:"failedRequests"`
	TotalRequests  int             `json:"totalRequests"`
	LastError      string          `json:"lastError,omitempty"`
	RollbackSecond float64         `json:"rollbackSeconds"`
	Phases         []harness.Phase `json:"phases"`
	// RouterURL is prod's router; StagingURL staging's.
	RouterURL  string `json:"routerURL"`
	StagingURL string `json:"stagingURL"`
	StatusURL  string `json:"statusURL"`
	Dir        string `json:"dir"`
	// Artifacts maps each version to its pinned reference.
	Artifacts map[string]string `json:"artifacts"`
}

// storyPhases is how many phases the story has.
const storyPhases = 4

// Run tells the story. It returns the summary (also on failure, as far as it
// got) and an error when something prevented the story from being told.
func Run(ctx context.Context, opts Options) (sum Summary, err error) {
	if opts.Out == nil {
		opts.Out = io.Discard
	}
	if opts.ConvergeTimeout <= 0 {
		opts.ConvergeTimeout = 2 * time.Minute
	}
	n := harness.NewNarrator(opts.Out)
	dir := opts.Dir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "durable-demo-"); err != nil {
			return sum, err
		}
	}
	sum.Dir = dir
	var cleanups []func()
	defer func() {
		n.Say("Cleaning up: stopping the reconciler, the service's instances, the router and the registry.")
		for i := len(cleanups) - 1; i >= 0; i-- {
			cleanups[i]()
		}
		// A failed run keeps its directory: the logs there say why.
		if opts.Dir == "" && !opts.Keep && sum.Converged {
			os.RemoveAll(dir)
		}
	}()

	// 1. A registry on 127.0.0.1 and the demo service in three versions.
	regHost, stopRegistry, err := examples.StartRegistry()
	if err != nil {
		return sum, err
	}
	cleanups = append(cleanups, stopRegistry)
	n.Step("Building the demo service (examples/quickstart/app) in three versions and pushing them to the OCI registry at %s", regHost)
	sum.Artifacts, err = examples.BuildAndPush(ctx, regHost, filepath.Join(dir, "build"), "v1", "v2", "v3")
	if err != nil {
		return sum, err
	}
	for _, v := range []string{"v1", "v2", "v3"} {
		n.Say("  %s → %s", v, sum.Artifacts[v])
	}
	trustFile, err := harness.SignAndTrust(ctx, filepath.Join(dir, "trust"), regHost, sum.Artifacts)
	if err != nil {
		return sum, err
	}
	n.Say("  signed each with a key made for the demo (cosign's format); the reconciler's trust file %s accepts that key alone: it runs nothing else", trustFile)

	// 2. Two routers (staging, prod), the repository and the reconciler.
	// Each child picks its own ports and logs them: no port can be taken
	// between being chosen and being bound.
	var routerAddr, adminAddr, stagingAddr, stagingAdmin string
	for _, r := range []struct {
		name          string
		listen, admin *string
	}{{"staging", &stagingAddr, &stagingAdmin}, {"prod", &routerAddr, &adminAddr}} {
		router, listen, admin, err := harness.StartRouter(ctx, "router-"+r.name, opts.Executable, filepath.Join(dir, "router-"+r.name+".log"),
			filepath.Join(dir, "router-"+r.name+"-state.json"))
		if err != nil {
			return sum, err
		}
		cleanups = append(cleanups, func() { router.Stop(5 * time.Second) })
		*r.listen, *r.admin = listen, admin
		n.Step("Started the %s router (the data plane, its own process) on %s, admin API on %s", r.name, listen, admin)
	}
	sum.RouterURL, sum.StagingURL = "http://"+routerAddr+"/", "http://"+stagingAddr+"/"

	repoDir := filepath.Join(dir, "repo")
	n.Step("Creating the desired-state Git repository %s from examples/quickstart, with a pipeline of two stages: staging, then prod", repoDir)
	rp, err := harness.NewRepo(ctx, repoDir, adminAddr)
	if err != nil {
		return sum, err
	}
	if err := rp.SetPipeline(stagingAdmin, adminAddr); err != nil {
		return sum, err
	}
	if err := rp.SetArtifact(sum.Artifacts["v1"]); err != nil {
		return sum, err
	}
	commit, err := rp.Commit(ctx, "Deploy web v1")
	if err != nil {
		return sum, err
	}
	n.Say("  committed v1: %s \"Deploy web v1\"", short(commit))

	stateDir := filepath.Join(dir, "state")
	n.Step("Starting the reconciler on the repository (journal in %s)", stateDir)
	cleanups = append(cleanups, func() { harness.RemoveInstances(filepath.Join(stateDir, "process")) })
	reconciler, apiAddr, err := harness.StartReconciler(ctx, opts.Executable, filepath.Join(dir, "reconciler.log"),
		"--repo", repoDir, "--state", stateDir, "--listen", "127.0.0.1:0", "--trust", trustFile)
	if err != nil {
		return sum, err
	}
	cleanups = append(cleanups, func() { reconciler.Stop(10 * time.Second) })
	sum.StatusURL = "http://" + apiAddr + "/v1/status"
	n.Say("  its API is on %s", apiAddr)
	api := server.NewClient(apiAddr)
	follow := startFollowing(ctx, api, n)
	cleanups = append(cleanups, follow.stop)

	st := &harness.Story{API: api, Narrator: n, Timeout: opts.ConvergeTimeout,
		// The phase's ctx is already cancelled when its verdict is said.
		BeforeVerdict: func() { follow.catchUp(context.Background()) }}
	var rollback float64
	defer func() { summarise(st, rollback, &sum) }()

	// 3. v1, then steady load, then v2 canaried, v3 caught, then git revert.
	if !st.Promoted(ctx, "deploy v1", commit, "v1") {
		return sum, nil
	}
	n.Step("Starting a steady stream of requests through both routers, %s (staging) and %s (prod)", sum.StagingURL, sum.RouterURL)
	st.Load = harness.StartLoadOn(ctx, []string{sum.StagingURL, sum.RouterURL}, "", 4, 5*time.Millisecond)
	cleanups = append(cleanups, st.Load.Stop)

	if err := rp.SetArtifact(sum.Artifacts["v2"]); err != nil {
		return sum, err
	}
	if commit, err = rp.Commit(ctx, "Deploy web v2"); err != nil {
		return sum, err
	}
	n.Step("Committed v2 (%s): in staging, then in prod, Durable makes a new infra-set and, once it is healthy, canaries it: 10%% then 50%% of the traffic, each step baked and analysed against v1, then 100%%; v1 stays warm. Prod gets v2 only once staging promoted it", short(commit))
	if err := api.Trigger(ctx); err != nil {
		return sum, err
	}
	if !st.Promoted(ctx, "canary v2", commit, "v2") {
		return sum, nil
	}

	if err := rp.SetArtifact(sum.Artifacts["v3"]); err != nil {
		return sum, err
	}
	if err := rp.SetEnv("FAIL_RATE", "0.2"); err != nil {
		return sum, err
	}
	if commit, err = rp.Commit(ctx, "Deploy web v3"); err != nil {
		return sum, err
	}
	n.Step("Committed v3 (%s), which fails one request in five: its first canary step in staging should catch it and roll it back; prod never sees it", short(commit))
	if err := api.Trigger(ctx); err != nil {
		return sum, err
	}
	if !st.RolledBack(ctx, "canary v3 (bad)", commit, "v2") {
		return sum, nil
	}

	if commit, err = rp.RevertLast(ctx, 2, "Roll back to v1"); err != nil {
		return sum, err
	}
	n.Step("Reverted the v3 and v2 commits (%s): the release it declares is v1's, still warm in both stages, so this is a rollback: a traffic switch, in staging and prod at once", short(commit))
	if err := api.Trigger(ctx); err != nil {
		return sum, err
	}
	if !st.Promoted(ctx, "git revert to v1", commit, "v1") {
		return sum, nil
	}
	rollback = measureRollback(ctx, st, commit)

	if opts.Headless {
		time.Sleep(500 * time.Millisecond) // let the load see the settled state
		return sum, nil
	}
	st.Load.Stop() // the story is measured; the demo keeps serving whoever calls
	summarise(st, rollback, &sum)
	n.Step("The story is told: %d requests, %d failed, rollback took %.3fs from the commit being seen to all traffic on v1.",
		sum.TotalRequests, sum.FailedRequests, sum.RollbackSecond)
	n.Say("Durable keeps running. Try:")
	n.Say("  curl %s                       # served by the router", sum.RouterURL)
	n.Say("  curl %s         # the reconciler's status", sum.StatusURL)
	n.Say("  durable status --server %s", apiAddr)
	n.Say("  deploy v2 again: edit %s/release.cue to %s, git commit -am v2,", repoDir, sum.Artifacts["v2"])
	n.Say("             then curl -X POST http://%s/v1/trigger (or wait for the 30s poll)", apiAddr)
	n.Say("Press Ctrl-C to stop.")
	<-ctx.Done()
	return sum, nil
}

func short(commit string) string {
	if len(commit) > 10 {
		return commit[:10]
	}
	return commit
}
