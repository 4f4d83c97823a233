package dashboard

import (
	"context"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/internal/harness"
	"github.com/durable-delivery/durable/test/e2e/e2etest"
)

// TestRollbackCommandSwitchesToTheWarmSet: after v2 replaced v1, `durable
// rollback web` (no --to: the one warm release) commits web's fields as v1
// declared them, says the warm sets take the traffic, and they do, with no
// new set; a rollback to the release it already wants is refused with the
// reason and commits nothing; without a token it is refused.
func TestRollbackCommandSwitchesToTheWarmSet(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	f := e2etest.New(t, ctx)
	if _, err := f.Repo.Git(ctx, "config", "receive.denyCurrentBranch", "updateInstead"); err != nil {
		t.Fatal(err)
	}
	st, _ := f.ServeV1(ctx, "Deploy web v1")
	v1 := mustStatus(ctx, t, f).Services[0].Release
	c2 := f.Commit(ctx, f.Artifacts["v2"], "", "Deploy web v2")
	f.Converge(ctx, st, "v2 replaces v1", c2, "v2")

	rollback := func(args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, e2etest.Bin, append([]string{"rollback", "web", "--api", f.API.Base}, args...)...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := rollback("--token-file", "/dev/null"); err == nil || !strings.Contains(out, "401") && !strings.Contains(strings.ToLower(out), "token") {
		t.Fatalf("a rollback without a token: %v\n%s", err, out)
	}
	out, err := rollback("--token-file", f.TokenFile, "-o", "json")
	if err != nil {
		t.Fatalf("durable rollback web: %v\n%s", err, out)
	}
	var res api.RollbackResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("durable rollback -o json: %v\n%s", err, out)
	}
	if res.Release != v1 || len(res.Commit) != 40 || len(res.Warm) == 0 || !strings.Contains(res.Message, "switches their traffic") {
		t.Fatalf("durable rollback web: %+v; want v1 %s, a commit, and the warm sets named", res, v1[:12])
	}
	e2etest.WaitFor(ctx, t, "the rollback to converge", func() bool {
		s, err := f.API.Status(ctx)
		return err == nil && harness.ServesCommit(s, res.Commit)
	})
	assertRolledBackByCommit(ctx, t, f, res.Commit, v1)
	if out, err := rollback("--token-file", f.TokenFile, "--to", v1[:12]); err == nil || !strings.Contains(out, "already wants release") {
		t.Fatalf("a rollback to the release it runs: %v\n%s", err, out)
	}
	if head, err := f.Repo.Head(ctx); err != nil || head != res.Commit {
		t.Fatalf("the refused rollback moved the branch to %s (%v)", head, err)
	}
	st.AssertNoFailedRequests(t)
}

func mustStatus(ctx context.Context, t *testing.T, f *e2etest.Fixture) api.Status {
	t.Helper()
	s, err := f.API.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
