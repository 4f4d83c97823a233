package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/internal/harness"
	"github.com/durable-delivery/durable/journal"
	"github.com/durable-delivery/durable/reconcile"
	"github.com/durable-delivery/durable/schema"
	"github.com/durable-delivery/durable/server"
)

// planRepo is the quickstart's desired state in a real Git repository,
// committed once, and an empty journal: nothing applied yet.
func planRepo(t *testing.T) (repo *harness.Repo, state string) {
	t.Helper()
	ctx := context.Background()
	repo, err := harness.NewRepo(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := repo.Commit(ctx, "web v1"); err != nil {
		t.Fatal(err)
	}
	state = t.TempDir()
	st, err := journal.OpenBolt(filepath.Join(state, "journal.db"), journal.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	return repo, state
}

// runPlan runs durable plan and returns its exit code and output.
func runPlan(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := executeWith(append([]string{"plan"}, args...), strings.NewReader(""), &out, &errOut)
	return code, out.String(), errOut.String()
}

// planJSON runs durable plan -o json and decodes the plan.
func planJSON(t *testing.T, want int, args ...string) api.Plan {
	t.Helper()
	code, out, errOut := runPlan(t, append(args, "-o", "json")...)
	if code != want {
		t.Fatalf("durable plan %v: exit %d, want %d\n%s%s", args, code, want, out, errOut)
	}
	var p api.Plan
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		t.Fatalf("plan -o json: %v\n%s", err, out)
	}
	return p
}

// apply journals what a reconciler does with an admitted plan: the
// revision accepted with its desired state, and each set the plan creates
// serving, the one it serves now warm.
func apply(t *testing.T, state, repo string, p api.Plan) {
	t.Helper()
	ctx := context.Background()
	ds, err := schema.LoadDir(repo)
	if err != nil {
		t.Fatal(err)
	}
	desired, _ := json.Marshal(ds)
	st, err := journal.OpenBolt(filepath.Join(state, "journal.db"), journal.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.PutRevision(ctx, journal.Revision{Commit: p.Revision.Commit, Message: p.Revision.Message, SeenAt: time.Now(),
		Verdict: api.RevisionAccepted, DesiredState: desired}); err != nil {
		t.Fatal(err)
	}
	sets, err := st.InfraSets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sets {
		if s.State == api.SetServing {
			s.State = api.SetWarm
			if err := st.PutInfraSet(ctx, s); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, stage := range p.Stages {
		for _, pp := range stage.Placements {
			for _, id := range pp.Create {
				if err := st.PutInfraSet(ctx, journal.InfraSet{ID: id, Service: pp.Service, Stage: stage.Name, Target: pp.Target,
					Release: pp.Release, State: api.SetServing, CreatedAt: time.Now(), ServedAt: time.Now()}); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}

// TestPlanAgainstAJournal plans revisions of a real Git repository against
// a journal: the first creates everything (exit 3), once applied the same
// revision changes nothing (exit 0), a new artifact creates one set with
// the canary's steps and keeps the old one warm (exit 3), an infrastructure
// change is denied by the example's admission policy (exit 1, with its
// reasons), and a revision that does not load gives positioned errors
// (exit 1).
func TestPlanAgainstAJournal(t *testing.T) {
	ctx := context.Background()
	repo, state := planRepo(t)
	from := []string{"--state", state, "--repo", repo.Dir, "--exit-code"}

	first := planJSON(t, exitChanges, from...)
	web := first.Stages[0].Placements[0]
	if !first.Changed || len(web.Create) != 1 || first.Admission.Result != "allow" || web.Steps[len(web.Steps)-1].Kind != api.StepSwitch {
		t.Fatalf("first revision: %+v", first)
	}
	apply(t, state, repo.Dir, first)
	if p := planJSON(t, exitOK, from...); p.Changed || len(p.Classes) != 0 {
		t.Fatalf("the applied revision again: %+v", p)
	}
	if code, out, _ := runPlan(t, from...); code != exitOK || !strings.Contains(out, "No change.") {
		t.Fatalf("text plan of no change: exit %d\n%s", code, out)
	}

	if err := repo.SetArtifact("127.0.0.1:5000/quickstart/web@sha256:" + strings.Repeat("1", 64)); err != nil {
		t.Fatal(err)
	}
	if _, err := repo.Commit(ctx, "web v2"); err != nil {
		t.Fatal(err)
	}
	v2 := planJSON(t, exitChanges, from...)
	pp := v2.Stages[0].Placements[0]
	var weights []int
	for _, s := range pp.Steps {
		weights = append(weights, s.Weight)
	}
	if !slices.Equal(v2.Classes, []string{schema.ClassApp}) || len(pp.Create) != 1 || pp.Create[0] == web.Create[0] ||
		!slices.Equal(pp.KeepWarm, web.Create) || !slices.Equal(weights, []int{10, 50, 100}) || v2.Revision.Message != "web v2" {
		t.Fatalf("a new artifact: %+v", v2)
	}
	if code, out, _ := runPlan(t, append(from, "-o", "table")...); code != exitChanges || !strings.Contains(out, "STAGE") || !strings.Contains(out, pp.Create[0]) {
		t.Fatalf("plan -o table: exit %d\n%s", code, out)
	}
	if code, _, _ := runPlan(t, "--state", state, "--repo", repo.Dir); code != exitOK {
		t.Fatalf("changes without --exit-code: exit %d, want 0", code)
	}
	if p := planJSON(t, exitOK, append(from, "HEAD~1")...); p.Changed {
		t.Fatalf("HEAD~1 is what runs: %+v", p)
	}

	setReplicas(t, repo.Dir, "3")
	if _, err := repo.Commit(ctx, "three replicas"); err != nil {
		t.Fatal(err)
	}
	denied := planJSON(t, exitFailed, from...)
	if denied.Admission.Result != "deny" || len(denied.Admission.Reasons) == 0 || !slices.Contains(denied.Classes, schema.ClassInfra) {
		t.Fatalf("an infrastructure change without approval: %+v", denied.Admission)
	}
	if code, out, _ := runPlan(t, from...); code != exitFailed || !strings.Contains(out, "Admission: deny") || !strings.Contains(out, denied.Admission.Reasons[0]) {
		t.Fatalf("text plan of a denied revision: exit %d\n%s", code, out)
	}

	setReplicas(t, repo.Dir, `"two"`)
	if _, err := repo.Commit(ctx, "broken"); err != nil {
		t.Fatal(err)
	}
	broken := planJSON(t, exitFailed, from...)
	if len(broken.Errors) == 0 || !regexp.MustCompile(`^service\.cue:8:\d+: `).MatchString(broken.Errors[0]) {
		t.Fatalf("a revision that does not load: %q", broken.Errors)
	}
}

// setReplicas edits the quickstart's replicas in service.cue.
func setReplicas(t *testing.T, dir, value string) {
	t.Helper()
	file := filepath.Join(dir, "service.cue")
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	text := regexp.MustCompile(`replicas: \S+`).ReplaceAllString(string(b), "replicas: "+value)
	if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestPlanRefusesBrokenInput tries plan with broken and hostile revisions
// and flags: each is refused with an exit code and a message naming it.
func TestPlanRefusesBrokenInput(t *testing.T) {
	repo, state := planRepo(t)
	from := []string{"--state", state, "--repo", repo.Dir}
	for _, tc := range []struct {
		name string
		args []string
		want int
		says string
	}{
		{"unknown revision", append(from, "no-such-branch"), exitFailed, `revision "no-such-branch"`},
		{"control character", append(from, "HEAD\n--upload-pack=x"), exitFailed, "control character"},
		{"oversized revision", append(from, strings.Repeat("a", 100000)), exitFailed, "at most 256"},
		{"shell in revision", append(from, "$(touch pwned)"), exitFailed, "revision"},
		{"two revisions", append(from, "HEAD", "HEAD"), exitUsage, "accepts at most 1 arg"},
		{"unknown format", append(from, "-o", "yaml"), exitUsage, "use text, table or json"},
		{"oversized format", append(from, "-o", strings.Repeat("x", 100000)), exitUsage, "use text, table or json"},
		{"api and state", append(from, "--api", "127.0.0.1:1"), exitUsage, "not both"},
		{"evaluation timeout too short", append(from, "--evaluation-timeout", "1ms"), exitUsage, "1s to 10m"},
		{"unknown timezone", append(from, "--timezone", "Mars/Olympus"), exitUsage, "IANA name"},
		{"timezone path", append(from, "--timezone", "../../../etc/passwd"), exitUsage, "IANA name"},
		{"not a repository", []string{"--state", state, "--repo", t.TempDir()}, exitFailed, "--repo"},
		{"no journal", []string{"--state", filepath.Join(t.TempDir(), "nope"), "--repo", repo.Dir}, exitFailed, "--state"},
		{"no reconciler", []string{"--api", "127.0.0.1:1", "--repo", repo.Dir}, exitFailed, "--state DIR"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runPlan(t, tc.args...)
			if code != tc.want || !strings.Contains(errOut, tc.says) {
				t.Errorf("exit %d, want %d; stderr must say %q:\n%s%s", code, tc.want, tc.says, errOut, out)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(repo.Dir, "pwned")); err == nil {
		t.Fatal("a revision was run by a shell")
	}
}

// journalReconciler answers the API's status from a journal, as a running
// reconciler does.
type journalReconciler struct{ st journal.Store }

func (j journalReconciler) Status(ctx context.Context) (api.Status, error) {
	return reconcile.ReadStatus(ctx, j.st)
}
func (journalReconciler) Trigger()       {}
func (journalReconciler) Branch() string { return "main" }

// TestPlanAgainstTheAPI plans against a reconciler's API (its real handler
// over HTTP): the applied revision is read from the local repository.
func TestPlanAgainstTheAPI(t *testing.T) {
	ctx := context.Background()
	repo, state := planRepo(t)
	apply(t, state, repo.Dir, planJSON(t, exitOK, "--state", state, "--repo", repo.Dir))
	st, err := journal.OpenBolt(filepath.Join(state, "journal.db"), journal.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	srv := httptest.NewServer(server.Handler(journalReconciler{st}, st, server.Webhooks{}))
	defer srv.Close()
	from := []string{"--api", srv.URL, "--repo", repo.Dir, "--exit-code"}
	if p := planJSON(t, exitOK, from...); p.Changed || p.Against == "" {
		t.Fatalf("the applied revision, through the API: %+v", p)
	}
	if err := repo.SetArtifact("127.0.0.1:5000/quickstart/web@sha256:" + strings.Repeat("2", 64)); err != nil {
		t.Fatal(err)
	}
	if _, err := repo.Commit(ctx, "web v2"); err != nil {
		t.Fatal(err)
	}
	if p := planJSON(t, exitChanges, from...); len(p.Stages[0].Placements[0].Create) != 1 {
		t.Fatalf("a new artifact, through the API: %+v", p)
	}

	// An applied revision the local repository lacks: fetch it first.
	other, err := harness.NewRepo(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Commit(ctx, "another history"); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := runPlan(t, "--api", srv.URL, "--repo", other.Dir); code != exitFailed || !strings.Contains(errOut, "the applied revision") {
		t.Fatalf("applied revision missing locally: exit %d\n%s", code, errOut)
	}
}

// A revision whose evaluation runs over --evaluation-timeout is rejected,
// saying so, and the evaluation ends with its child process.
func TestPlanBoundsTheEvaluation(t *testing.T) {
	ctx := context.Background()
	repo, state := planRepo(t)
	grid := "package quickstart\n\nimport \"list\"\n\ngrid: [for i in list.Range(0, 5000, 1) for j in list.Range(0, 5000, 1) {i * j}]\n"
	if err := os.WriteFile(filepath.Join(repo.Dir, "grid.cue"), []byte(grid), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := repo.Commit(ctx, "a grid"); err != nil {
		t.Fatal(err)
	}
	p := planJSON(t, exitFailed, "--state", state, "--repo", repo.Dir, "--evaluation-timeout", "1s")
	if len(p.Errors) != 1 || !strings.Contains(p.Errors[0], "took longer than 1s, the limit") {
		t.Fatalf("an evaluation over its limit: %q", p.Errors)
	}
}
