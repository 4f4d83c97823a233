package demo

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestRevertCommitAfterAutomaticRollback runs the reconciler with
// --revert-on-failure: once a bad release is rolled back, it pushes a
// commit that puts v2's tree back, and the repository's head says what runs.
func TestRevertCommitAfterAutomaticRollback(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	f := newFixture(t, ctx)
	// The reconciler pushes to this working repository's checked-out branch.
	if _, err := f.repo.git(ctx, "config", "receive.denyCurrentBranch", "updateInstead"); err != nil {
		t.Fatal(err)
	}
	f.extraArgs = []string{"--revert-on-failure"}
	st, _ := f.serveV1(ctx, "Deploy web v1")
	c2 := f.commit(ctx, f.artifacts["v2"], "", "Deploy web v2")
	f.converge(ctx, st, "canary v2", c2, "v2")
	bad := f.commit(ctx, f.artifacts["v1"], `{FAIL_RATE: "0.2"}`, "Deploy a bad release")
	if err := f.api.Trigger(ctx); err != nil {
		t.Fatal(err)
	}
	var head string
	waitFor(ctx, t, "the revert commit to land in the repository", func() bool {
		h, err := f.repo.head(ctx)
		head = h
		return err == nil && h != bad
	})
	msg, err := f.repo.git(ctx, "log", "-1", "--format=%B")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(msg, "Revert to "+c2[:10]) || !strings.Contains(msg, "Durable-Reverts: "+bad) {
		t.Fatalf("head commit message:\n%s", msg)
	}
	if diff, err := f.repo.git(ctx, "diff", c2, head); err != nil || diff != "" {
		t.Fatalf("the revert's tree differs from v2's: %q, %v", diff, err)
	}
	if !st.phase(ctx, "the revert commit applied", head, "v2") {
		t.Fatalf("the revert commit did not converge:\n%s", f.logs())
	}
}
