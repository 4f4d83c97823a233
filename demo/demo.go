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
	"github.com/durable-delivery/durable/internal/listener"
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
	// DashboardURL is the reconciler's dashboard.
	DashboardURL string `json:"dashboardURL"`
	Dir          string `json:"dir"`
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
	d := &demo{opts: opts, n: harness.NewNarrator(opts.Out), dir: opts.Dir}
	if d.dir == "" {
		if d.dir, err = os.MkdirTemp("", "durable-demo-"); err != nil {
			return sum, err
		}
	}
	d.sum.Dir = d.dir
	defer d.cleanUp()
	for _, step := range []func(context.Context) error{d.publish, d.startRouters, d.createRepo, d.startReconciler} {
		if err := step(ctx); err != nil {
			return d.sum, err
		}
	}
	d.st = &harness.Story{API: d.api, Narrator: d.n, Timeout: opts.ConvergeTimeout,
		// The phase's ctx is already cancelled when its verdict is said.
		BeforeVerdict: func() { d.follow.catchUp(context.Background()) }}
	defer func() {
		summarise(d.st, d.rollback, &d.sum)
		sum = d.sum // the summary as told, also when a phase fell short
	}()
	told, err := d.tell(ctx)
	if err != nil || !told || opts.Headless {
		return d.sum, err
	}
	d.st.Load.Stop() // the story is measured; the demo keeps serving whoever calls
	summarise(d.st, d.rollback, &d.sum)
	d.invite()
	<-ctx.Done()
	return d.sum, nil
}

// demo is one run of the story: what it started, and how far it got.
type demo struct {
	opts     Options
	n        *harness.Narrator
	dir      string
	sum      Summary
	cleanups []func()

	trustFile               string
	adminAddr, stagingAdmin string
	repo                    *harness.Repo
	commit                  string
	apiAddr                 string
	api                     *server.Client
	follow                  *follower
	st                      *harness.Story
	rollback                float64
}

// cleanUp stops what the demo started, newest first. A failed run keeps its
// directory: the logs there say why.
func (d *demo) cleanUp() {
	d.n.Say("Cleaning up: stopping the reconciler, the service's instances, the router and the registry.")
	for i := len(d.cleanups) - 1; i >= 0; i-- {
		d.cleanups[i]()
	}
	if d.opts.Dir == "" && !d.opts.Keep && d.sum.Converged {
		os.RemoveAll(d.dir)
	}
}

// publish starts a registry on 127.0.0.1 and pushes the demo service in
// three versions, signed with a key the reconciler's trust file accepts.
func (d *demo) publish(ctx context.Context) error {
	regHost, stopRegistry, err := examples.StartRegistry()
	if err != nil {
		return err
	}
	d.cleanups = append(d.cleanups, stopRegistry)
	d.n.Step("Building the demo service (examples/quickstart/app) in three versions and pushing them to the OCI registry at %s", regHost)
	d.sum.Artifacts, err = examples.BuildAndPush(ctx, regHost, filepath.Join(d.dir, "build"), "v1", "v2", "v3")
	if err != nil {
		return err
	}
	for _, v := range []string{"v1", "v2", "v3"} {
		d.n.Say("  %s → %s", v, d.sum.Artifacts[v])
	}
	d.trustFile, err = harness.SignAndTrust(ctx, filepath.Join(d.dir, "trust"), regHost, d.sum.Artifacts)
	if err != nil {
		return err
	}
	d.n.Say("  signed each with a key made for the demo (cosign's format); the reconciler's trust file %s accepts that key alone: it runs nothing else", d.trustFile)
	return nil
}

// startRouters starts the staging and prod routers. Each child picks its
// own ports and logs them: no port can be taken between being chosen and
// being bound.
func (d *demo) startRouters(ctx context.Context) error {
	var routerAddr, stagingAddr string
	for _, r := range []struct {
		name          string
		listen, admin *string
	}{{"staging", &stagingAddr, &d.stagingAdmin}, {"prod", &routerAddr, &d.adminAddr}} {
		router, listen, admin, err := harness.StartRouter(ctx, "router-"+r.name, d.opts.Executable, filepath.Join(d.dir, "router-"+r.name+".log"),
			filepath.Join(d.dir, "router-"+r.name+"-state.json"))
		if err != nil {
			return err
		}
		d.cleanups = append(d.cleanups, func() { router.Stop(5 * time.Second) })
		*r.listen, *r.admin = listen, admin
		d.n.Step("Started the %s router (the data plane, its own process) on %s, admin API on %s", r.name, listen, admin)
	}
	d.sum.RouterURL, d.sum.StagingURL = "http://"+routerAddr+"/", "http://"+stagingAddr+"/"
	return nil
}

// createRepo makes the desired-state repository, v1 committed.
func (d *demo) createRepo(ctx context.Context) error {
	repoDir := filepath.Join(d.dir, "repo")
	d.n.Step("Creating the desired-state Git repository %s from examples/quickstart, with a pipeline of two stages: staging, then prod", repoDir)
	rp, err := harness.NewRepo(ctx, repoDir)
	if err != nil {
		return err
	}
	d.repo = rp
	if err := rp.SetPipeline("staging", "prod"); err != nil {
		return err
	}
	if err := rp.SetArtifact(d.sum.Artifacts["v1"]); err != nil {
		return err
	}
	if d.commit, err = rp.Commit(ctx, "Deploy web v1"); err != nil {
		return err
	}
	d.n.Say("  committed v1: %s \"Deploy web v1\"", short(d.commit))
	return nil
}

// startReconciler runs durable run on the repository and follows its journal.
func (d *demo) startReconciler(ctx context.Context) error {
	stateDir := filepath.Join(d.dir, "state")
	d.n.Step("Starting the reconciler on the repository (journal in %s)", stateDir)
	hostFile := filepath.Join(d.dir, "host.json")
	host := harness.HostConfig{Routers: map[string]string{"staging": d.stagingAdmin, "prod": d.adminAddr}}
	if err := host.Write(hostFile); err != nil {
		return err
	}
	d.n.Say("  its host file %s names the routers the repository may drive, staging (%s) and prod (%s): a commit cannot point the reconciler anywhere else", hostFile, d.stagingAdmin, d.adminAddr)
	d.cleanups = append(d.cleanups, func() { harness.RemoveInstances(filepath.Join(stateDir, "process")) })
	reconciler, apiAddr, err := harness.StartReconciler(ctx, d.opts.Executable, filepath.Join(d.dir, "reconciler.log"),
		"--repo", d.repo.Dir, "--state", stateDir, "--listen", "127.0.0.1:0", "--trust", d.trustFile, "--host-config", hostFile)
	if err != nil {
		return err
	}
	d.cleanups = append(d.cleanups, func() { reconciler.Stop(10 * time.Second) })
	d.apiAddr = apiAddr
	d.sum.StatusURL = "http://" + apiAddr + "/v1/status"
	d.sum.DashboardURL = "http://" + apiAddr + "/"
	d.n.Say("  its API is on %s; its dashboard on %s (log in with a line of %s to approve or roll back)",
		apiAddr, d.sum.DashboardURL, filepath.Join(stateDir, "api-tokens"))
	d.api = server.NewClient(apiAddr)
	// The reconciler created its token file; the demo triggers with it, as
	// durable status reads it by default.
	tokens, err := listener.LoadTokens(filepath.Join(stateDir, "api-tokens"))
	if err != nil {
		return err
	}
	d.api.Token = tokens.ClientToken()
	d.follow = startFollowing(ctx, d.api, d.n)
	d.cleanups = append(d.cleanups, d.follow.stop)
	return nil
}

// tell runs the phases: v1, then steady load, then v2 canaried, v3 caught,
// then git revert. It reports whether every phase reached its outcome.
func (d *demo) tell(ctx context.Context) (bool, error) {
	if !d.st.Promoted(ctx, "deploy v1", d.commit, "v1") {
		return false, nil
	}
	d.n.Step("Starting a steady stream of requests through both routers, %s (staging) and %s (prod)", d.sum.StagingURL, d.sum.RouterURL)
	d.st.Load = harness.StartLoadOn(ctx, []string{d.sum.StagingURL, d.sum.RouterURL}, "", 4, 5*time.Millisecond)
	d.cleanups = append(d.cleanups, d.st.Load.Stop)

	commit, err := d.commitVersion(ctx, "v2", "", "Committed v2 (%s): in staging, then in prod, Durable makes a new infra-set and, once it is healthy, canaries it: 10%% then 50%% of the traffic, each step baked and analysed against v1, then 100%%; v1 stays warm. Prod gets v2 only once staging promoted it")
	if err != nil || !d.st.Promoted(ctx, "canary v2", commit, "v2") {
		return false, err
	}
	commit, err = d.commitVersion(ctx, "v3", "0.2", "Committed v3 (%s), which fails one request in five: its first canary step in staging should catch it and roll it back; prod never sees it")
	if err != nil || !d.st.RolledBack(ctx, "canary v3 (bad)", commit, "v2") {
		return false, err
	}
	if commit, err = d.repo.RevertLast(ctx, 2, "Roll back to v1"); err != nil {
		return false, err
	}
	d.n.Step("Reverted the v3 and v2 commits (%s): the release it declares is v1's, still warm in both stages, so this is a rollback: a traffic switch, in staging and prod at once", short(commit))
	if err := d.api.Trigger(ctx); err != nil {
		return false, err
	}
	if !d.st.Promoted(ctx, "git revert to v1", commit, "v1") {
		return false, nil
	}
	d.rollback = measureRollback(ctx, d.st, commit)
	if d.opts.Headless {
		time.Sleep(500 * time.Millisecond) // let the load see the settled state
	}
	return true, nil
}

// commitVersion commits a version of the service (with its FAIL_RATE, when
// given), says so, and asks the reconciler to fetch it at once.
func (d *demo) commitVersion(ctx context.Context, version, failRate, said string) (string, error) {
	if err := d.repo.SetArtifact(d.sum.Artifacts[version]); err != nil {
		return "", err
	}
	if failRate != "" {
		if err := d.repo.SetEnv("FAIL_RATE", failRate); err != nil {
			return "", err
		}
	}
	commit, err := d.repo.Commit(ctx, "Deploy web "+version)
	if err != nil {
		return "", err
	}
	d.n.Step(said, short(commit))
	return commit, d.api.Trigger(ctx)
}

// invite says what to try while the demo keeps running.
func (d *demo) invite() {
	d.n.Step("The story is told: %d requests, %d failed, rollback took %.3fs from the commit being seen to all traffic on v1.",
		d.sum.TotalRequests, d.sum.FailedRequests, d.sum.RollbackSecond)
	d.n.Say("Durable keeps running. Try:")
	d.n.Say("  curl %s                       # served by the router", d.sum.RouterURL)
	d.n.Say("  curl %s         # the reconciler's status", d.sum.StatusURL)
	d.n.Say("  open %s in a browser           # the dashboard, live", d.sum.DashboardURL)
	d.n.Say("  durable status --api %s", d.apiAddr)
	d.n.Say("  deploy v2 again: edit %s/release.cue to %s, git commit -am v2,", d.repo.Dir, d.sum.Artifacts["v2"])
	d.n.Say("             then curl -X POST -H \"Authorization: Bearer $(awk '/^write/{print $2}' %s)\" http://%s/v1/trigger",
		filepath.Join(d.dir, "state", "api-tokens"), d.apiAddr)
	d.n.Say("             (a write needs the token durable run created; or wait for the 30s poll)")
	d.n.Say("Press Ctrl-C to stop.")
}

func short(commit string) string {
	if len(commit) > 10 {
		return commit[:10]
	}
	return commit
}
