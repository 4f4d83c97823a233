package core

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/durable-delivery/durable/test/e2e/e2etest"
)

// TestRevertCommitAfterAutomaticRollback runs the reconciler with
// --revert-on-failure: once a bad release is rolled back, it pushes a
// commit that puts v2's tree back, and the repository's head says what runs.
func TestRevertCommitAfterAutomaticRollback(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	f := e2etest.New(t, ctx)
	// The reconciler pushes to this working repository's checked-out branch.
	if _, err := f.Repo.Git(ctx, "config", "receive.denyCurrentBranch", "updateInstead"); err != nil {
		t.Fatal(err)
	}
	f.ExtraArgs = []string{"--revert-on-failure"}
	st, _ := f.ServeV1(ctx, "Deploy web v1")
	c2 := f.Commit(ctx, f.Artifacts["v2"], "", "Deploy web v2")
	f.Converge(ctx, st, "canary v2", c2, "v2")
	bad := f.Commit(ctx, f.Artifacts["v1"], `{FAIL_RATE: "0.2"}`, "Deploy a bad release")
	if err := f.API.Trigger(ctx); err != nil {
		t.Fatal(err)
	}
	var head string
	e2etest.WaitFor(ctx, t, "the revert commit to land in the repository", func() bool {
		h, err := f.Repo.Head(ctx)
		head = h
		return err == nil && h != bad
	})
	msg, err := f.Repo.Git(ctx, "log", "-1", "--format=%B")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(msg, "Revert to "+c2[:10]) || !strings.Contains(msg, "Durable-Reverts: "+bad) {
		t.Fatalf("head commit message:\n%s", msg)
	}
	if diff, err := f.Repo.Git(ctx, "diff", c2, head); err != nil || diff != "" {
		t.Fatalf("the revert's tree differs from v2's: %q, %v", diff, err)
	}
	if !st.Promoted(ctx, "the revert commit applied", head, "v2") {
		t.Fatalf("the revert commit did not converge:\n%s", f.Logs())
	}
}
