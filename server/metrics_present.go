package server

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/durable-delivery/durable/api"
)

// statusTimeout bounds the status read of one scrape.
const statusTimeout = 10 * time.Second

// presentCollector reads, at each scrape, what is true now from the
// reconciler's status: gauges of the present are derived from the one
// record status shows rather than kept beside it, so a series goes away
// with the stage, set or rollout it describes and a restarted reconciler
// reports them at once.
type presentCollector struct {
	src     MetricsSources
	metrics *Metrics

	stageRelease    *prometheus.Desc
	weight          *prometheus.Desc
	rolloutStarted  *prometheus.Desc
	rolloutProgress *prometheus.Desc
	journalSize     *prometheus.Desc
}

func newPresentCollector(src MetricsSources, m *Metrics) *presentCollector {
	placement := []string{"service", "stage", "target"}
	return &presentCollector{src: src, metrics: m,
		stageRelease: prometheus.NewDesc("durable_stage_release_info",
			"The release a stage serves on a target (value 1).", append(placement, "release"), nil),
		weight: prometheus.NewDesc("durable_traffic_weight_ratio",
			"The share of a service's traffic an infra-set receives on a target (0 to 1), as the traffic adapter last reported it.",
			append(placement, "set"), nil),
		rolloutStarted: prometheus.NewDesc("durable_rollout_started_timestamp_seconds",
			"When the rollout in flight on a placement started (Unix time).", append(placement, "release"), nil),
		rolloutProgress: prometheus.NewDesc("durable_rollout_progress_timestamp_seconds",
			"When the rollout in flight on a placement last moved forward: its start, its last canary step, its last check (Unix time).",
			append(placement, "release"), nil),
		journalSize: prometheus.NewDesc("durable_journal_size_bytes", "Size of the journal's file.", nil, nil),
	}
}

func (c *presentCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.stageRelease, c.weight, c.rolloutStarted, c.rolloutProgress, c.journalSize} {
		ch <- d
	}
}

func (c *presentCollector) Collect(ch chan<- prometheus.Metric) {
	if c.src.JournalSize != nil {
		if n, err := c.src.JournalSize(); err != nil {
			ch <- prometheus.NewInvalidMetric(c.journalSize, err)
		} else {
			ch <- valid(prometheus.NewConstMetric(c.journalSize, prometheus.GaugeValue, float64(n)))
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), statusTimeout)
	defer cancel()
	st, err := c.src.Status.Status(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.stageRelease, err)
		return
	}
	for _, svc := range st.Services {
		for _, stage := range svc.Stages {
			// From the next scrape on, the stage's counters are
			// there at zero before its first rollout ends.
			c.metrics.prime(svc.Name, stage.Name)
			for target, release := range stage.Serving {
				if release == "" {
					continue
				}
				ch <- valid(prometheus.NewConstMetric(c.stageRelease, prometheus.GaugeValue, 1, svc.Name, stage.Name, target, release))
			}
		}
		for _, p := range svc.Placements {
			c.placement(ch, svc.Name, p)
		}
	}
}

// placement sends the traffic weights and the rollout in flight of one
// placement.
func (c *presentCollector) placement(ch chan<- prometheus.Metric, service string, p api.PlacementStatus) {
	if p.Split != nil {
		seen := map[string]bool{}
		for _, b := range p.Split.Backends {
			if seen[b.Set] {
				continue // a broken adapter's answer must not fail the scrape
			}
			seen[b.Set] = true
			ch <- valid(prometheus.NewConstMetric(c.weight, prometheus.GaugeValue, float64(b.Weight)/100, service, p.Stage, p.Target, b.Set))
		}
	}
	ro := p.Rollout
	if ro == nil || ro.Done() {
		return
	}
	progress := ro.StartedAt
	for _, t := range []time.Time{ro.StepStartedAt, ro.CheckStartedAt} {
		if t.After(progress) {
			progress = t
		}
	}
	ch <- valid(prometheus.NewConstMetric(c.rolloutStarted, prometheus.GaugeValue, unixSeconds(ro.StartedAt), service, p.Stage, p.Target, ro.Release))
	ch <- valid(prometheus.NewConstMetric(c.rolloutProgress, prometheus.GaugeValue, unixSeconds(progress), service, p.Stage, p.Target, ro.Release))
}

func unixSeconds(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

// valid is m, or when a label value cannot be exposed (not UTF-8) an
// invalid metric: the scrape serves the other series and says why.
func valid(m prometheus.Metric, err error) prometheus.Metric {
	if err != nil {
		return prometheus.NewInvalidMetric(prometheus.NewInvalidDesc(err), err)
	}
	return m
}
