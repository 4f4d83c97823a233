package pipeline

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/internal/harness"
	"github.com/durable-delivery/durable/test/e2e/e2etest"
)

// TestUpstreamDegradingStopsDownstreamCanary canaries web, which depends on
// api, behind one router, while both serve traffic; api starts failing half
// of its requests in the middle of web's canary step: web's analysis sees
// its upstream fail and rolls web back, though web itself is healthy.
func TestUpstreamDegradingStopsDownstreamCanary(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	f := e2etest.New(t, ctx)
	services := fmt.Sprintf(`package %s

services: web: {
	dependsOn: ["api"]
	run: {env: GREETING: "hello", replicas: 2}
	health: {path: "/healthz", timeout: "1s"}
	strategy: {
		kind:     "canary"
		keepWarm: 1
		steps: [{weight: 50, bake: {time: "60s", requests: 20}}]
		analysis: minRequests: 10
	}
}
services: api: {
	artifact: %q
	run: {env: ALLOW_CHAOS: "1", replicas: 2}
	health: {path: "/healthz", timeout: "1s"}
}
`, f.Repo.Pkg(), f.Artifacts["v1"])
	if err := os.WriteFile(filepath.Join(f.Repo.Dir, "service.cue"), []byte(services), 0o644); err != nil {
		t.Fatal(err)
	}
	st := f.Story()
	c1 := f.Commit(ctx, f.Artifacts["v1"], "", "Deploy web and api v1")
	f.StartReconciler(ctx)
	if !st.Promoted(ctx, "deploy web and api", c1, "v1") {
		t.Fatalf("v1 did not converge:\n%s", f.Logs())
	}
	st.Load = harness.StartLoadOn(ctx, []string{f.Router}, "web", 2, 5*time.Millisecond)
	t.Cleanup(st.Load.Stop)
	apiLoad := harness.StartLoadOn(ctx, []string{f.Router}, "api", 2, 5*time.Millisecond)
	t.Cleanup(apiLoad.Stop)

	f.Commit(ctx, f.Artifacts["v2"], "", "Deploy web v2")
	if err := f.API.Trigger(ctx); err != nil {
		t.Fatal(err)
	}
	byName := func(s api.Status, name string) api.ServiceStatus {
		for _, svc := range s.Services {
			if svc.Name == name {
				return svc
			}
		}
		t.Fatalf("no service %s in status", name)
		return api.ServiceStatus{}
	}
	var apiPl api.PlacementStatus
	e2etest.WaitFor(ctx, t, "web's canary step to start", func() bool {
		s, err := f.API.Status(ctx)
		if err != nil {
			return false
		}
		web := byName(s, "web").Placements[0]
		apiPl = byName(s, "api").Placements[0]
		return web.Rollout != nil && web.Rollout.Phase == api.RolloutCanary && web.Rollout.Step == 1
	})
	time.Sleep(500 * time.Millisecond) // some healthy traffic first
	if apiPl.Split == nil || len(apiPl.Split.Backends) == 0 {
		t.Fatalf("api's split: %+v", apiPl.Split)
	}
	for _, b := range apiPl.Split.Backends {
		for _, ep := range b.Endpoints {
			resp, err := http.Post("http://"+ep+"/chaos?fail_rate=0.5", "text/plain", nil)
			if err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("degrade api at %s: %v %v", ep, resp, err)
			}
			resp.Body.Close()
		}
	}
	var web api.PlacementStatus
	e2etest.WaitFor(ctx, t, "web's canary to be rolled back", func() bool {
		s, err := f.API.Status(ctx)
		if err != nil {
			return false
		}
		web = byName(s, "web").Placements[0]
		return web.Rollout != nil && web.Rollout.Phase == api.RolloutFailed
	})
	if !strings.Contains(web.Rollout.Message, "upstream api error-rate fail") {
		t.Fatalf("web's rollback does not name its upstream: %s", web.Rollout.Message)
	}
	if web.Split == nil || web.Split.Weight(web.Serving) != 100 || e2etest.SetByID(web, web.Serving).Artifact != f.Artifacts["v1"] {
		t.Fatalf("web after the rollback: %+v", web)
	}
	st.AssertNoFailedRequests(t) // web's own requests never failed
	t.Logf("web rolled back: %s", web.Rollout.Message)
}
