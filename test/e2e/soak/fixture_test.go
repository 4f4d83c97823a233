//go:build soak

package soak

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/durable-delivery/durable/internal/harness"
	"github.com/durable-delivery/durable/test/e2e/e2etest"
)

// twoStages lays out staging then prod, each target behind its own router,
// with no rules while v1 is deployed.
const twoStages = `[{name: "staging", targets: ["staging"]}, {name: "prod", targets: ["prod"]}]`

// soakStages are the rules every release after v1 goes through: in staging
// the upgrade-downgrade test, then a bake of 3s and 60 requests; before
// prod, a gate of one approval.
const soakStages = `[{name: "staging", targets: ["staging"], upgradeDowngradeTest: true, bake: {time: "3s", requests: 60}},
	{name: "prod", targets: ["prod"], gate: {approvals: 1}}]`

// soakService is the web service as the soak rolls it: a canary of two
// short steps, one set kept warm with one instance (warmMode minimal, so
// that a revert starts the others again and lasts long enough to be hit).
const soakService = `package %s

services: web: {
	run: {env: GREETING: "hello", replicas: 2}
	health: {path: "/healthz", timeout: "1s"}
	strategy: {
		kind:     "canary"
		keepWarm: 1
		warmMode: "minimal"
		steps: [{weight: 20, bake: {time: "500ms", requests: 10}}, {weight: 50, bake: {time: "500ms", requests: 10}}]
		// The soak is about kill points, not latency: on a loaded machine
		// a new set's first requests can be slow enough to fail the
		// default latency check.
		analysis: {maxErrorRate: 0.01, minRequests: 5, maxLatencyIncrease: 1000}
	}
}
`

// startFixture starts a registry, two routers, the repository and the
// reconciler, deploys v1 to staging then prod under a steady load, and
// writes the soak's stage rules for the next commit.
func startFixture(ctx context.Context, t *testing.T) (*e2etest.Fixture, *harness.Load) {
	t.Helper()
	f := e2etest.New(t, ctx)
	urls := f.BehindRouters(ctx, t, twoStages, [2]string{"staging", "a"}, [2]string{"prod", "b"})
	service := fmt.Sprintf(soakService, f.Repo.Pkg())
	if err := os.WriteFile(filepath.Join(f.Repo.Dir, "service.cue"), []byte(service), 0o644); err != nil {
		t.Fatal(err)
	}
	st, _ := f.ServeV1(ctx, "Deploy web v1 to staging, then prod", urls...)
	f.SetStages(t, soakStages)
	return f, st.Load
}

// release is what a commit deploys: a version of the quickstart service
// and its environment (a CUE struct), which together make the release.
type release struct {
	Version string
	Env     string
}

// commit commits rel with message and asks the reconciler to fetch it.
func commit(ctx context.Context, f *e2etest.Fixture, rel release, message string) error {
	f.Commit(ctx, f.Artifacts[rel.Version], rel.Env, message)
	if err := f.API.Trigger(ctx); err != nil {
		return fmt.Errorf("trigger a fetch: %w", err)
	}
	return nil
}

// restart starts the reconciler again after a pause of up to 300ms, and
// returns when it started.
func (s *soaker) restart(ctx context.Context) time.Time {
	time.Sleep(time.Duration(s.rng.Int64N(int64(300 * time.Millisecond))))
	at := time.Now()
	s.f.StartReconciler(ctx)
	return at
}
