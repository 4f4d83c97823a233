package core

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/durable-delivery/durable/adapters"
	"github.com/durable-delivery/durable/adapters/process"
	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/test/e2e/e2etest"
)

// TestRunRefusesToStartUnverified: durable run, the real binary, does not
// start without a trust file unless the operator says
// --insecure-skip-verify, nor with a --run-as that names no user; it says
// what to give, and leaves no journal behind.
func TestRunRefusesToStartUnverified(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	repo := t.TempDir()
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no trust file", nil, "no --trust file: durable run runs only what trusted keys signed; give --trust FILE"},
		{"unknown user", []string{"--insecure-skip-verify", "--run-as", "durable-no-such-user"}, `--run-as: user "durable-no-such-user": `},
		{"empty user", []string{"--insecure-skip-verify", "--run-as="}, "--run-as: the user is empty"},
		{"huge user", []string{"--insecure-skip-verify", "--run-as", strings.Repeat("n", 100000)}, "is longer than 32 characters"},
		{"hostile user", []string{"--insecure-skip-verify", "--run-as", "nobody:0:0"}, "a user name has only letters"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			state := filepath.Join(t.TempDir(), "state")
			args := append([]string{"run", "--repo", repo, "--state", state, "--listen", "127.0.0.1:0"}, tc.args...)
			out, err := exec.CommandContext(ctx, e2etest.Bin, args...).CombinedOutput()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 2 {
				t.Fatalf("durable run: %v, want exit 2 (usage):\n%s", err, out)
			}
			if !strings.Contains(string(out), tc.want) || len(out) > 4096 {
				t.Errorf("durable run said (%d bytes):\n%.4096s\nwant %q", len(out), out, tc.want)
			}
			if _, err := os.Stat(filepath.Join(state, "journal.db")); err == nil {
				t.Error("a refused durable run left a journal")
			}
		})
	}
}

// TestInsecureSkipVerifyRunsWithAWarning: with --insecure-skip-verify the
// reconciler runs what the repository names, unverified, and says so: in
// its status (a warning, as durable status prints it) and in the journal.
// A root reconciler without --run-as warns that instances run as root.
func TestInsecureSkipVerifyRunsWithAWarning(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	f := e2etest.New(t, ctx)
	f.Trust, f.Unverified = "", true
	f.ServeV1(ctx, "Deploy web v1, unverified")
	s, err := f.API.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []api.Reason{api.ReasonInsecureSkipVerify}
	if os.Geteuid() == 0 {
		want = append(want, api.ReasonInstancesRunAsRoot)
	}
	checkWarnings(t, s, want...)
	out, err := exec.CommandContext(ctx, e2etest.Bin, "status", "--server", strings.TrimPrefix(f.API.Base, "http://")).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Warning (InsecureSkipVerify): started with --insecure-skip-verify") {
		t.Errorf("durable status: %v, want the warning:\n%s", err, out)
	}
	entries, err := f.API.Journal(ctx, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	journaled := 0
	for _, e := range entries {
		if e.Kind == api.EntryEvent && e.Action == api.ActionWarning && e.Result == string(api.ReasonInsecureSkipVerify) {
			journaled++
		}
	}
	if journaled != 1 {
		t.Errorf("the journal has %d InsecureSkipVerify warning(s), want 1 for the one start", journaled)
	}
}

// checkWarnings fails the test unless the status's warnings are exactly
// those of the reasons given, each with a message and a time.
func checkWarnings(t *testing.T, s api.Status, reasons ...api.Reason) {
	t.Helper()
	got := map[api.Reason]bool{}
	for _, w := range s.Warnings {
		got[w.Reason] = true
		if w.Message == "" || w.Since.IsZero() {
			t.Errorf("warning %+v has no message or no time", w)
		}
	}
	for _, r := range reasons {
		if !got[r] {
			t.Errorf("status warnings %+v lack %s", s.Warnings, r)
		}
	}
	if len(s.Warnings) != len(reasons) {
		t.Errorf("status warnings %+v, want only %v", s.Warnings, reasons)
	}
}

// TestCommitOnlyTrust: a trust file that says artifacts: unverified runs
// artifacts unverified, with no warning (the operator wrote it down), and
// verifies commits as its commits section says: v1's signed commit runs,
// an unsigned one is refused.
func TestCommitOnlyTrust(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	f := e2etest.New(t, ctx)
	signCommits(ctx, t, f)
	if err := os.WriteFile(f.Trust, []byte("artifacts: unverified\ncommits:\n  mode: head\n  ssh: allowed_signers\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f.ExtraArgs = runAsNobodyIfRoot(t, f)
	c1 := f.Commit(ctx, f.Artifacts["v1"], "", "Deploy web v1 in a signed commit, its artifact unverified")
	f.StartReconciler(ctx)
	if !f.Story().Promoted(ctx, "deploy v1", c1, "v1") {
		t.Fatalf("v1 did not converge:\n%s", f.Logs())
	}
	s, err := f.API.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(s.Trust, "artifacts NOT verified ("+f.Trust+" says artifacts: unverified); commits: head") {
		t.Errorf("status trust %q does not say artifacts are not verified, commits are", s.Trust)
	}
	checkWarnings(t, s)
	entries, err := f.API.Journal(ctx, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.Contains(e.Message, "verified: signed by") {
			t.Errorf("journal #%d: %s; with artifacts: unverified no artifact is verified", e.Seq, e.Message)
		}
	}

	if _, err := f.Repo.Git(ctx, "config", "commit.gpgsign", "false"); err != nil {
		t.Fatal(err)
	}
	c := f.Commit(ctx, f.Artifacts["v2"], "", "Deploy v2 in an unsigned commit")
	s = f.Judged(ctx, t, c)
	if s.Head.Verdict != api.RevisionRejected || !strings.Contains(strings.Join(s.Head.Errors, "\n"), fmt.Sprintf("commit %s is not trusted", c[:10])) {
		t.Fatalf("unsigned commit %s: verdict %s, errors %q; want rejected as untrusted", c[:10], s.Head.Verdict, s.Head.Errors)
	}
}

// signCommits makes an SSH key with ssh-keygen, lists it in
// allowed_signers beside the fixture's trust file, and has git sign the
// fixture repository's commits with it, as a committer's git would.
func signCommits(ctx context.Context, t *testing.T, f *e2etest.Fixture) {
	t.Helper()
	keygen, err := exec.LookPath("ssh-keygen")
	if err != nil {
		t.Fatalf("ssh-keygen is needed to sign commits (hack/install-deps.sh installs openssh-client): %v", err)
	}
	dir := filepath.Dir(f.Trust)
	key := filepath.Join(dir, "committer")
	if out, err := exec.CommandContext(ctx, keygen, "-q", "-t", "ed25519", "-N", "", "-C", "", "-f", key).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v: %s", err, out)
	}
	pub, err := os.ReadFile(key + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "allowed_signers"), append([]byte("alice@example.com "), pub...), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, kv := range [][2]string{{"gpg.format", "ssh"}, {"user.signingkey", key}, {"commit.gpgsign", "true"}} {
		if _, err := f.Repo.Git(ctx, "config", kv[0], kv[1]); err != nil {
			t.Fatal(err)
		}
	}
}

// runAsNobodyIfRoot is --run-as nobody when the test runs as root (there,
// a root reconciler without it warns), with the fixture's folders opened
// for nobody to reach the state directory; no flag otherwise.
func runAsNobodyIfRoot(t *testing.T, f *e2etest.Fixture) []string {
	t.Helper()
	if os.Geteuid() != 0 {
		return nil
	}
	for _, d := range []string{f.Dir, filepath.Dir(f.Dir)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return []string{"--run-as", "nobody"}
}

// TestRunAsNobody: with --run-as nobody, a root reconciler starts instances
// whose every uid is nobody's, and they serve the traffic; no warning.
func TestRunAsNobody(t *testing.T) {
	if os.Geteuid() != 0 {
		// CI runs as root: there, a missing privilege is a failure.
		msg := fmt.Sprintf("this test runs instances as nobody: run it as root (uid is %d)", os.Geteuid())
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	f := e2etest.New(t, ctx)
	f.ExtraArgs = runAsNobodyIfRoot(t, f)
	st, _ := f.ServeV1(ctx, "Deploy web v1 as nobody")
	nobody, err := adapters.LookupRunAs("nobody")
	if err != nil {
		t.Fatal(err)
	}
	rt, err := process.New(process.Config{Root: f.ProcessRoot(), RunAs: nobody})
	if err != nil {
		t.Fatal(err)
	}
	sets, err := rt.Observe(ctx)
	if err != nil || len(sets) != 1 || len(sets[0].Instances) == 0 {
		t.Fatalf("observed %+v (%v), want v1's set", sets, err)
	}
	want := strings.TrimSpace(strings.Repeat(strconv.Itoa(int(nobody.UID))+" ", 4))
	for _, in := range sets[0].Instances {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", in.PID))
		if err != nil {
			t.Fatal(err)
		}
		uids, groups := statusLine(string(b), "Uid:"), statusLine(string(b), "Groups:")
		if uids != want || groups != "" {
			t.Errorf("instance %d (pid %d) does not run as nobody alone:\n%s", in.Index, in.PID, b)
		}
		if in.Endpoint == "" {
			t.Errorf("instance %d (pid %d) is not adopted: %s", in.Index, in.PID, in.Reason)
		}
	}
	time.Sleep(time.Second) // a second of load on nobody's instances
	st.AssertNoFailedRequests(t)
	if !st.Load.ServingOnly("v1", time.Time{}) {
		t.Error("a request was served by something other than v1")
	}
	s, err := f.API.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	checkWarnings(t, s)
}

// statusLine is the value of a line of /proc/PID/status, its fields
// separated by one space.
func statusLine(status, key string) string {
	for line := range strings.Lines(status) {
		if rest, ok := strings.CutPrefix(line, key); ok {
			return strings.Join(strings.Fields(rest), " ")
		}
	}
	return "(no " + key + " line)"
}
