package reconcile

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"text/template"
	"time"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/durable-delivery/durable/journal"
	"github.com/durable-delivery/durable/policy"
	"github.com/durable-delivery/durable/reconcile/analysis"
	"github.com/durable-delivery/durable/schema"
)

// promTimeout bounds one Prometheus query. A Prometheus that does not
// answer within it makes the query's signal inconclusive, and the queries
// after it are not asked: one analysis waits at most this long for a hung
// Prometheus. A variable so that tests can shorten it.
var promTimeout = 5 * time.Second

// errPromUnreachable marks a query Prometheus did not answer.
var errPromUnreachable = errors.New("prometheus unreachable or not answering")

// promLabels are what a query template may use: the labels Durable gives
// each instance's scrape target (see writeScrapeTargets).
type promLabels struct {
	Service, Set, Release, Stage, Target string
}

// promSignals runs each query of the analysis for the canary and for the
// baseline. A query fails the step when the canary's value is above its
// max; a canary without data (not scraped yet, Prometheus down) is
// inconclusive, never a pass. failed is the first error Prometheus gave
// (unreachable, or a query it refused), for status; nil when it answered.
func promSignals(ctx context.Context, pa *schema.PrometheusAnalysis, p placement, canary, baseline journal.InfraSet) (signals []policy.Signal, verdict string, failed error) {
	client, err := api.NewClient(api.Config{Address: pa.Address})
	if err != nil {
		return []policy.Signal{{Name: "prometheus", Verdict: analysis.Inconclusive}}, analysis.Inconclusive, err
	}
	prom := promv1.NewAPI(client)
	verdict = analysis.Pass
	var unreachable error
	for _, q := range pa.Queries {
		sig := policy.Signal{Name: q.Name, Threshold: q.Max, Verdict: analysis.Pass}
		// Once Prometheus did not answer, the rest are inconclusive unasked.
		c, cok, cerr := 0.0, false, unreachable
		if unreachable == nil {
			c, cok, cerr = promValue(ctx, prom, q.Query, labelsOf(p, canary))
		}
		if errors.Is(cerr, errPromUnreachable) {
			unreachable = cerr
		} else {
			sig.Baseline, _, _ = promValue(ctx, prom, q.Query, labelsOf(p, baseline))
		}
		sig.Canary = c
		if failed == nil {
			failed = cerr
		}
		switch {
		case cerr != nil || !cok:
			sig.Verdict = analysis.Inconclusive
		case c > q.Max:
			sig.Verdict = analysis.Fail
		}
		if sig.Verdict == analysis.Fail || (sig.Verdict == analysis.Inconclusive && verdict == analysis.Pass) {
			verdict = sig.Verdict
		}
		signals = append(signals, sig)
	}
	return signals, verdict, failed
}

func labelsOf(p placement, s journal.InfraSet) promLabels {
	return promLabels{Service: p.service.Name, Set: s.ID, Release: s.Release, Stage: p.stage, Target: p.target.Name}
}

// promValue renders a query for one set and runs it; ok is false when it
// gave no sample or NaN: a ratio of nothing (0/0 before any traffic) is no
// data, and NaN compares false with any max, so it would pass.
func promValue(ctx context.Context, prom promv1.API, text string, labels promLabels) (float64, bool, error) {
	tmpl, err := template.New("query").Option("missingkey=error").Parse(text)
	if err != nil {
		return 0, false, err
	}
	var b strings.Builder
	if err := tmpl.Execute(&b, labels); err != nil {
		return 0, false, err
	}
	ctx, cancel := context.WithTimeout(ctx, promTimeout)
	defer cancel()
	v, _, _, err := prom.Query(ctx, b.String(), time.Now())
	var answered *promv1.Error // Prometheus answered with an error of the query
	if err != nil && !errors.As(err, &answered) {
		return 0, false, fmt.Errorf("query %q: %w: %w", b.String(), errPromUnreachable, err)
	}
	if err != nil {
		return 0, false, fmt.Errorf("query %q: %w", b.String(), err)
	}
	var x float64
	switch r := v.(type) {
	case model.Vector:
		if len(r) == 0 {
			return 0, false, nil
		}
		x = float64(r[0].Value)
	case *model.Scalar:
		x = float64(r.Value)
	default:
		return 0, false, fmt.Errorf("query %q gives a %s, not one number", b.String(), v.Type())
	}
	if math.IsNaN(x) {
		return 0, false, nil
	}
	return x, true, nil
}
