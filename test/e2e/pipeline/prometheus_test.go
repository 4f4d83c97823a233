package pipeline

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/durable-delivery/durable/test/e2e/e2etest"
)

// startPrometheus runs Debian's Prometheus on a free 127.0.0.1 port,
// scraping every second the targets listed in sdFile (file_sd), and returns
// its URL.
func startPrometheus(ctx context.Context, t *testing.T, dir, sdFile string) string {
	t.Helper()
	return e2etest.StartPrometheus(ctx, t, dir, fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: durable
    file_sd_configs:
      - files: [%q]
        refresh_interval: 1s
`, sdFile))
}

// TestPrometheusAnalysisCatchesWhatTheRouterCannotSee canaries, with a real
// Prometheus scraping every instance Durable lists for it, a release that
// answers 200 to everything but fails a fifth of its requests inside: only
// its internal errors metric shows it. The PromQL query, templated with the
// canary's set, fails the step and the release is rolled back; a healthy
// release before it is promoted. No request fails.
func TestPrometheusAnalysisCatchesWhatTheRouterCannotSee(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	f := e2etest.New(t, ctx)
	sd := filepath.Join(f.Dir, "scrape-targets.json")
	if err := os.WriteFile(sd, []byte("[]"), 0o644); err != nil {
		t.Fatal(err)
	}
	prom := startPrometheus(ctx, t, f.Dir, sd)
	f.ExtraArgs = []string{"--prometheus-targets", sd}
	query := `sum(rate(quickstart_internal_errors_total{set="{{.Set}}"}[3s]))`
	service := fmt.Sprintf(`package %s

services: web: {
	run: {env: GREETING: "hello", replicas: 2}
	health: {path: "/healthz", timeout: "1s"}
	strategy: {
		kind:     "canary"
		keepWarm: 1
		steps: [{weight: 50, bake: {time: "4s", requests: 20}}]
		analysis: {
			minRequests: 5
			prometheus: {
				address: %q
				queries: [{name: "internal-errors", query: %q, max: 0}]
			}
		}
	}
}
`, f.Repo.Pkg(), prom, query)
	if err := os.WriteFile(filepath.Join(f.Repo.Dir, "service.cue"), []byte(service), 0o644); err != nil {
		t.Fatal(err)
	}
	st, _ := f.ServeV1(ctx, "Deploy web v1")

	c2 := f.Commit(ctx, f.Artifacts["v2"], "", "Deploy web v2")
	f.Converge(ctx, st, "canary v2, judged by Prometheus too", c2, "v2")

	c3 := f.Commit(ctx, f.Artifacts["v1"], `{SILENT_FAIL_RATE: "0.2"}`, "Deploy a release that swallows its errors")
	if err := f.API.Trigger(ctx); err != nil {
		t.Fatal(err)
	}
	if !st.RolledBack(ctx, "canary of the silently failing release", c3, "v2") {
		t.Fatalf("the silently failing release was not rolled back:\n%s", f.Logs())
	}
	s, err := f.API.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ro := s.Services[0].Placements[0].Rollout
	if !strings.Contains(ro.Message, "internal-errors fail") {
		t.Fatalf("rollback reason %q does not name the Prometheus query", ro.Message)
	}
	st.AssertNoFailedRequests(t)
	t.Logf("caught by Prometheus %.3fs after the step started: %s", st.Phases[len(st.Phases)-1].DetectionSeconds, ro.Message)
}
