package reconcile

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/durable-delivery/durable/adapters"
	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/reconcile/analysis"
	"github.com/durable-delivery/durable/schema"
)

// observations are what the reconciler last read of its targets' traffic:
// each placement's split and each set's counters, with when. A status read
// serves these and never calls a target itself, so that reading the status
// can neither be slowed by a hung adapter nor load the targets.
type observations struct {
	mu      sync.Mutex
	splits  map[string]observedSplit // by target and service
	metrics map[string]api.SetMetrics
	// counted is when each placement's sets were last counted for status;
	// readAt when a status was last read.
	counted map[string]time.Time
	readAt  time.Time
}

type observedSplit struct {
	split api.Split
	at    time.Time
}

// init makes the zero value usable; callers hold mu.
func (o *observations) init() {
	if o.splits == nil {
		o.splits, o.metrics, o.counted = map[string]observedSplit{}, map[string]api.SetMetrics{}, map[string]time.Time{}
	}
}

func splitKey(target, service string) string { return target + "\x00" + service }

// noteSplit records the split a target applies for a service: read from
// the adapter, or just set by it (SetSplit is atomic: once it returned, the
// split is applied).
func (o *observations) noteSplit(target string, split adapters.Split) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.init()
	o.splits[splitKey(target, split.Service)] = observedSplit{split: split, at: time.Now().UTC()}
}

// addTo fills a status's placements with the last observed split and set
// counters, and, for a rollout at a canary step, each set's counters since
// the step started: the window its analysis judges.
func (o *observations) addTo(s *api.Status) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.init()
	o.readAt = time.Now()
	for i := range s.Services {
		for j := range s.Services[i].Placements {
			ps := &s.Services[i].Placements[j]
			if seen, ok := o.splits[splitKey(ps.Target, s.Services[i].Name)]; ok {
				split := seen.split
				ps.Split, ps.ObservedAt = &split, seen.at
			}
			for k := range ps.Sets {
				m, ok := o.metrics[ps.Sets[k].ID]
				if !ok {
					continue
				}
				ps.Sets[k].Metrics = &m
				if ro := ps.Rollout; ro != nil && ro.Phase == api.RolloutCanary && ro.Step > 0 {
					w := analysis.Window(m, ro.StepBase[ps.Sets[k].ID])
					ps.Sets[k].Step = &w
				}
			}
		}
	}
}

// served is what a set served since its counter read base requests, from
// the last observation; false when it was never observed.
func (o *observations) served(set string, base uint64) (uint64, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.init()
	m, ok := o.metrics[set]
	if !ok {
		return 0, false
	}
	return analysis.Since(api.Counters{Requests: m.Requests}, api.Counters{Requests: base}).Requests, true
}

// setMetrics reads one set's counters from a health source and records them.
func (r *Reconciler) setMetrics(ctx context.Context, hs adapters.HealthSource, service, set string) (adapters.SetMetrics, error) {
	m, err := hs.SetMetrics(ctx, service, set)
	if err == nil {
		r.observed.mu.Lock()
		r.observed.init()
		r.observed.metrics[set] = m
		r.observed.mu.Unlock()
	}
	return m, err
}

// Counting a placement's sets for the status alone costs one adapter call
// per set: it is done at most every countEvery, and only while someone
// reads the status (in the last statusInterest), so that a pass nobody
// watches calls the targets no more than converging needs. Analysis and
// bakes read the counters they need when they need them.
const (
	countEvery     = time.Second
	statusInterest = 30 * time.Second
)

// countServed records the counters of every set of a split, at most every
// countEvery while the status is read, when the traffic adapter is a health
// source. Being for status alone, the reads end with a newer revision, and
// stop at the first that fails: a health source that does not answer holds
// the pass one trafficTimeout, not one per set.
func (r *Reconciler) countServed(ctx context.Context, target schema.Target, tr adapters.Traffic, split adapters.Split) {
	hs, ok := r.countsOf(target, tr)
	if !ok {
		return
	}
	key := splitKey(target.Name, split.Service)
	r.observed.mu.Lock()
	r.observed.init()
	due := time.Since(r.observed.readAt) < statusInterest && time.Since(r.observed.counted[key]) >= countEvery
	if due {
		r.observed.counted[key] = time.Now()
	}
	r.observed.mu.Unlock()
	if !due {
		return
	}
	ctx, cancel := r.untilNewer(ctx)
	defer cancel()
	for _, b := range split.Backends {
		// A set not counted yet shows no counters.
		if _, err := r.setMetrics(ctx, hs, split.Service, b.Set); err != nil && !errors.Is(err, adapters.ErrNotFound) {
			return
		}
	}
}

// healthSource is the placement's traffic adapter when it counts per set.
func (r *Reconciler) healthSource(p placement) (adapters.HealthSource, bool) {
	tr, err := r.targets.traffic(p.target)
	if err != nil {
		return nil, false
	}
	return r.countsOf(p.target, tr)
}

// counts is a target's traffic adapter as the health source the reconciler
// reads: each read bounded by trafficTimeout, and its failure named in
// status as the target's traffic adapter's.
type counts struct {
	adapters.HealthSource
	r      *Reconciler
	target schema.Target
}

// countsOf is the target's traffic adapter tr when it counts per set.
func (r *Reconciler) countsOf(target schema.Target, tr adapters.Traffic) (adapters.HealthSource, bool) {
	hs, ok := tr.(adapters.HealthSource)
	if !ok {
		return nil, false
	}
	return counts{hs, r, target}, true
}

func (c counts) SetMetrics(ctx context.Context, service, set string) (adapters.SetMetrics, error) {
	ctx, cancel := context.WithTimeout(ctx, trafficTimeout)
	defer cancel()
	m, err := c.HealthSource.SetMetrics(ctx, service, set)
	if !errors.Is(err, adapters.ErrNotFound) { // a set not counted yet
		c.r.noteTry(ctx, trafficDependency(c.target), err)
	}
	return m, err
}
