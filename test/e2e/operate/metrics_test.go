package operate

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	promapi "github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/internal/harness"
	"github.com/durable-delivery/durable/test/e2e/e2etest"
)

// TestPrometheusScrapesARollout runs a real Prometheus scraping the
// reconciler (with a read token, as --token-for-reads asks) and the router's
// metrics listener, with the example alert rules loaded, through a rollout
// of v2, a revert to v1 (a rollback) and a rejected revision; then asks it
// in PromQL what happened, and which alerts fire.
func TestPrometheusScrapesARollout(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	f, routerMetrics := newFixture(t, ctx)
	readToken := filepath.Join(f.Dir, "prometheus-token")
	addReadToken(t, f.TokenFile, readToken)
	f.ExtraArgs = []string{"--token-for-reads"}
	st, c1 := f.ServeV1(ctx, "Deploy web v1")
	prom := startPrometheus(ctx, t, f.Dir, f.API.Base[len("http://"):], routerMetrics, readToken)
	// An alert on an increase needs Prometheus to have seen the counters
	// before it: they are there at zero from v1's rollout on.
	waitQuery(ctx, t, prom, "the counters seen at zero", `durable_rollbacks_total{service="web",reason="revert"} == 0 and on() durable_revisions_total{result="rejected"} == 0`)

	c2 := f.Commit(ctx, f.Artifacts["v2"], "", "Deploy web v2")
	f.Converge(ctx, st, "deploy v2", c2, "v2")
	s, err := f.API.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	v2Release, v2Set := serving(t, s)
	c3, err := f.Repo.Revert(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f.Converge(ctx, st, "revert to v1, warm", c3, "v1")
	if err := os.WriteFile(filepath.Join(f.Repo.Dir, "typo.cue"), []byte("package quickstart\n\nservices: web: run: replica: 3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c4, err := f.Repo.Commit(ctx, "Typo in a field name")
	if err != nil {
		t.Fatal(err)
	}
	if s := f.Judged(ctx, t, c4); s.Head.Verdict != api.RevisionRejected {
		t.Fatalf("the typo was not rejected: %+v", s.Head)
	}
	s, err = f.API.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	v1Release, v1Set := serving(t, s)
	stage := s.Services[0].Placements[0].Stage
	t.Logf("v1 %s (set %s) and v2 %s (set %s) in stage %s; revisions %s %s %s %s", v1Release, v1Set, v2Release, v2Set, stage, c1, c2, c3, c4)

	for _, q := range []struct{ what, expr string }{
		{"both jobs scraped", `count(up == 1) == 2`},
		{"v1 and v2 and the revert succeeded", fmt.Sprintf(`durable_rollouts_total{service="web",stage=%q,outcome="succeeded"} >= 3`, stage)},
		{"the rollouts' durations", fmt.Sprintf(`durable_rollout_duration_seconds_count{stage=%q,outcome="succeeded"} >= 3`, stage)},
		{"the revert counted as a rollback", fmt.Sprintf(`durable_rollbacks_total{service="web",stage=%q,reason="revert"} == 1`, stage)},
		{"the rejected revision counted", `durable_revisions_total{result="rejected"} == 1`},
		{"accepted revisions counted", `durable_revisions_total{result="accepted"} >= 3`},
		{"the stage serves v1 again", fmt.Sprintf(`durable_stage_release_info{service="web",stage=%q,release=%q} == 1`, stage, v1Release)},
		{"v1's set has all the traffic", fmt.Sprintf(`durable_traffic_weight_ratio{service="web",set=%q} == 1`, v1Set)},
		{"the router served v2's set", fmt.Sprintf(`sum(durable_router_requests_total{service="web",set=%q,code="200"}) > 0`, v2Set)},
		{"the router's latency of v1's set", fmt.Sprintf(`durable_router_request_duration_seconds_count{service="web",set=%q} > 0`, v1Set)},
		{"the router's requests in flight", fmt.Sprintf(`durable_router_requests_in_flight{service="web",set=%q} >= 0`, v1Set)},
		{"policy decisions journaled", `sum(durable_policy_decisions_total) > 0`},
		{"fetches timed", `durable_source_fetch_duration_seconds_count > 0`},
		{"the journal's size", `durable_journal_size_bytes > 0`},
		{"the rollback alert fires", `ALERTS{alertname="DurableRollback",alertstate="firing",service="web",reason="revert"}`},
		{"the rejected revision alert fires", `ALERTS{alertname="DurableRevisionRejected",alertstate="firing"}`},
	} {
		waitQuery(ctx, t, prom, q.what, q.expr)
	}
	t.Logf("reconciler's scrapes took at most %v s", query(ctx, t, prom, `max_over_time(scrape_duration_seconds{job="durable"}[10m])`))
	// Nothing is stuck: no rollout is in flight.
	if v := query(ctx, t, prom, `durable_rollout_started_timestamp_seconds`); len(v) != 0 {
		t.Errorf("a rollout in flight after all converged: %v", v)
	}
	st.AssertNoFailedRequests(t)
}

// newFixture is e2etest.New with the router's metrics listener on a free
// loopback port, which it returns.
func newFixture(t *testing.T, ctx context.Context) (*e2etest.Fixture, string) {
	t.Helper()
	dir := t.TempDir()
	regHost, artifacts := e2etest.StartRegistry(t, ctx, dir)
	trust, err := harness.SignAndTrust(ctx, filepath.Join(dir, "trust"), regHost, artifacts)
	if err != nil {
		t.Fatal(err)
	}
	metricsAddr, err := e2etest.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	router, routerAddr, adminAddr, err := harness.StartRouterFlags(ctx, "router", e2etest.Bin, filepath.Join(dir, "router.log"),
		"--metrics-listen", metricsAddr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { router.Stop(5 * time.Second) })
	repo, err := harness.NewRepo(ctx, filepath.Join(dir, "repo"))
	if err != nil {
		t.Fatal(err)
	}
	f := e2etest.On(t, dir, artifacts, repo, "http://"+routerAddr+"/")
	f.RouterAdmin, f.Registry, f.Trust = adminAddr, regHost, trust
	f.Host.Routers[harness.ExampleRouter] = adminAddr
	return f, metricsAddr
}

// addReadToken adds a read token to the reconciler's token file and writes
// it alone to file, for Prometheus' credentials_file.
func addReadToken(t *testing.T, tokenFile, file string) {
	t.Helper()
	token, err := harness.WriteTokenFile(file, "read")
	if err != nil {
		t.Fatal(err)
	}
	line, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := os.OpenFile(tokenFile, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer tokens.Close()
	if _, err := tokens.Write(line); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
}

// serving returns the release and the infra-set serving web's placement.
func serving(t *testing.T, s api.Status) (release, set string) {
	t.Helper()
	p := s.Services[0].Placements[0]
	for _, set := range p.Sets {
		if set.State == api.SetServing {
			return set.Release, set.ID
		}
	}
	t.Fatalf("no set serves: %+v", p.Sets)
	return "", ""
}

// startPrometheus runs Debian's Prometheus on a free loopback port,
// scraping every second the reconciler (with the token in tokenFile) and
// the router's metrics listener, with the example alert rules evaluated
// every second, and returns its query API.
func startPrometheus(ctx context.Context, t *testing.T, dir, reconciler, router, tokenFile string) promv1.API {
	t.Helper()
	rules, err := filepath.Abs("../../../examples/alerts/durable.rules.yml")
	if err != nil {
		t.Fatal(err)
	}
	url := e2etest.StartPrometheus(ctx, t, dir, fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files: [%q]
scrape_configs:
  - job_name: durable
    authorization:
      credentials_file: %q
    static_configs: [{targets: [%q]}]
  - job_name: durable-router
    static_configs: [{targets: [%q]}]
`, rules, tokenFile, reconciler, router))
	client, err := promapi.NewClient(promapi.Config{Address: url})
	if err != nil {
		t.Fatal(err)
	}
	return promv1.NewAPI(client)
}

// query evaluates expr now.
func query(ctx context.Context, t *testing.T, prom promv1.API, expr string) model.Vector {
	t.Helper()
	qctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	v, _, _, err := prom.Query(qctx, expr, time.Now())
	if err != nil {
		t.Fatalf("query %s: %v", expr, err)
	}
	vec, ok := v.(model.Vector)
	if !ok {
		t.Fatalf("query %s: a %s, not a vector", expr, v.Type())
	}
	return vec
}

// waitQuery waits until expr has a result (the scrape and the rules run
// every second).
func waitQuery(ctx context.Context, t *testing.T, prom promv1.API, what, expr string) {
	t.Helper()
	e2etest.WaitFor(ctx, t, what+" ("+expr+")", func() bool { return len(query(ctx, t, prom, expr)) > 0 })
}
