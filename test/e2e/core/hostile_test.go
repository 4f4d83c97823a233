package core

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/test/e2e/e2etest"
)

// TestHostileRevisionIsStopped commits a revision whose evaluation would
// take minutes and gigabytes: the reconciler's child evaluation is stopped
// at --evaluation-timeout, the revision is rejected saying so, v1 keeps
// serving without a failed request, and the next good revision deploys.
func TestHostileRevisionIsStopped(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	f := e2etest.New(t, ctx)
	f.ExtraArgs = append(f.ExtraArgs, "--evaluation-timeout", "2s")
	st, c1 := f.ServeV1(ctx, "Deploy web v1")

	grid := filepath.Join(f.Repo.Dir, "grid.cue")
	text := "package " + f.Repo.Pkg() + "\n\nimport \"list\"\n\n_grid: [for i in list.Range(0, 5000, 1) for j in list.Range(0, 5000, 1) {i * j}]\nservices: web: run: env: CELLS: \"\\(len(_grid))\"\n"
	if err := os.WriteFile(grid, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	c2, err := f.Repo.Commit(ctx, "A comprehension too large to evaluate")
	if err != nil {
		t.Fatal(err)
	}
	s := f.Judged(ctx, t, c2)
	if s.Head.Verdict != api.RevisionRejected || len(s.Head.Errors) == 0 || !strings.Contains(s.Head.Errors[0], "took longer than 2s, the limit") {
		t.Fatalf("hostile revision not stopped at the limit: %+v", s.Head)
	}
	if s.Applied == nil || s.Applied.Commit != c1 {
		t.Fatalf("applied revision changed: %+v", s.Applied)
	}
	if err := os.Remove(grid); err != nil {
		t.Fatal(err)
	}
	c3 := f.Commit(ctx, f.Artifacts["v2"], "", "Remove the grid, deploy v2")
	f.Converge(ctx, st, "deploy v2 after the hostile revision", c3, "v2")
	st.AssertNoFailedRequests(t)
}
