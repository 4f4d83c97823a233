package core

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/test/e2e/e2etest"
)

// TestCommitterCannotBindTheHost: a committer without host access tries to
// make the reconciler run a command of theirs (an exec adapter's command),
// a plug-in the operator never declared, and to send traffic to a router
// admin of their choosing. Each revision is refused before anything of it
// runs, saying why and how to fix it, and v1 keeps serving with no failed
// request: what a target binds on the host comes from the operator's host
// file only.
func TestCommitterCannotBindTheHost(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	f := e2etest.New(t, ctx)
	trueBin, err := exec.LookPath("true")
	if err != nil {
		t.Fatal(err)
	}
	f.Host.Plugins["lb"] = []string{trueBin}
	st, c1 := f.ServeV1(ctx, "Deploy web v1")

	// The repository's admission policy is the committers' to change: the
	// attacker removes the rule that asks an SRE's signature for a change
	// of targets. What stops them must be the host's, not the repository's.
	for _, file := range []string{"admission.rego", "admission_test.rego"} {
		if err := os.Remove(filepath.Join(f.Repo.Dir, "policy", file)); err != nil {
			t.Fatal(err)
		}
	}
	marker := filepath.Join(f.Dir, "committer-was-here")
	hostFile := filepath.Join(f.Dir, "host.json")
	for _, tc := range []struct {
		name, traffic string
		want          []string // in the revision's errors
	}{
		{name: "an exec command", traffic: `{kind: "exec", command: ["/bin/sh", "-c", "touch ` + marker + `; exit 1"]}`,
			want: []string{`targets.cue:6:`, `targets.local.traffic.command: ["/bin/sh", "-c", "touch `, `is a command: since this version the operator names exec plug-ins in --host-config; write plugin: "NAME"`}},
		{name: "a plug-in the host file does not declare", traffic: `{kind: "exec", plugin: "sh"}`,
			want: []string{`targets.local.traffic.plugin: exec plug-in "sh" is not in the host file ` + hostFile + ` (it names lb); name one of those, or add plugins: {sh: {command: [`}},
		{name: "a router admin address", traffic: `{kind: "router", admin: "127.0.0.1:9"}`,
			want: []string{`targets.local.traffic.admin: "127.0.0.1:9" is an address: since this version the operator names router admin addresses in --host-config; write admin: "NAME" and add routers: {NAME: {admin: "127.0.0.1:9"}} to the host file`}},
		{name: "a router the host file does not declare", traffic: `{kind: "router", admin: "west"}`,
			want: []string{`targets.local.traffic.admin: router admin address "west" is not in the host file ` + hostFile + ` (it names edge)`}},
	} {
		text := "package " + f.Repo.Pkg() + "\n\ntargets: local: {\n\tzone: \"local\"\n\truntime: kind: \"process\"\n\ttraffic: " + tc.traffic +
			"\n}\n\npipeline: stages: [{name: \"local\", targets: [\"local\"]}]\n"
		if err := os.WriteFile(filepath.Join(f.Repo.Dir, "targets.cue"), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		c, err := f.Repo.Commit(ctx, "Bind "+tc.name)
		if err != nil {
			t.Fatal(err)
		}
		s := f.Judged(ctx, t, c)
		if s.Head.Verdict != api.RevisionRejected || s.Ready.Reason != api.ReasonRevisionRejected {
			t.Fatalf("%s: revision not refused: head %+v\n%s", tc.name, s.Head, f.Logs())
		}
		errs := strings.Join(s.Head.Errors, "\n")
		for _, w := range tc.want {
			if !strings.Contains(errs, w) {
				t.Errorf("%s: errors\n%s\nwant them to contain\n%s", tc.name, errs, w)
			}
		}
		if s.Applied == nil || s.Applied.Commit != c1 {
			t.Fatalf("%s: applied revision changed: %+v", tc.name, s.Applied)
		}
		if _, err := os.Stat(marker); err == nil {
			t.Fatalf("%s: the committer's command ran on the reconciler's host", tc.name)
		}
	}
	time.Sleep(time.Second) // v1 keeps serving the load
	st.AssertNoFailedRequests(t)
}
