package reconcile

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/journal"
	"github.com/durable-delivery/durable/schema"
)

// failures are what failed on the reconciler's last try, for status: each
// dependency it calls outside a placement's converge (the targets'
// observation, Prometheus) by name, and each placement's converge, whose
// error names the adapter. A success clears it; Since is kept while the
// failure lasts.
type failures struct {
	mu         sync.Mutex
	deps       map[string]api.Failure
	placements map[string]api.Failure
}

// note records the outcome of a try of dependency: err, or a success. It
// reports whether the dependency went down (it was not failing) or came
// back up (it was).
func (f *failures) note(dependency string, err error) (down, up bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, was := f.deps[dependency]
	f.deps = noteIn(f.deps, dependency, dependency, err)
	return !was && err != nil, was && err == nil
}

// noteTry records a try of dependency in ctx, but not one a newer revision
// cut short, which says nothing of the dependency.
func (r *Reconciler) noteTry(ctx context.Context, dependency string, err error) {
	if err != nil && errors.Is(context.Cause(ctx), errNewerRevision) {
		return
	}
	r.noteDependency(ctx, dependency, err)
}

// noteDependency records a try of dependency and journals a change of its
// state once, not on every pass: when it goes down and when it comes back
// up. The entry is written even when ctx ended (a try that timed out is
// how a hung dependency goes down).
func (r *Reconciler) noteDependency(ctx context.Context, dependency string, err error) {
	down, up := r.failing.note(dependency, err)
	ctx = context.WithoutCancel(ctx)
	switch {
	case down:
		r.log.Warn("dependency down", "dependency", dependency, "err", err)
		r.journal(ctx, journal.Entry{Kind: api.EntryEvent, Action: api.ActionDependencyDown, Result: dependency,
			Message: "dependency " + dependency + " is down: status lists it as failing until it answers again", Error: err.Error()})
	case up:
		r.log.Info("dependency up", "dependency", dependency)
		r.journal(ctx, journal.Entry{Kind: api.EntryEvent, Action: api.ActionDependencyUp, Result: dependency,
			Message: "dependency " + dependency + " answers again"})
	}
}

// notePlacement records the outcome of converging the placement with key.
func (f *failures) notePlacement(key string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.placements = noteIn(f.placements, key, "", err)
}

// noteIn records err, or a success, under key in m, keeping since when the
// failure has lasted.
func noteIn(m map[string]api.Failure, key, dependency string, err error) map[string]api.Failure {
	if err == nil {
		delete(m, key)
		return m
	}
	if m == nil {
		m = map[string]api.Failure{}
	}
	since := time.Now().UTC()
	if old, ok := m[key]; ok {
		since = old.Since
	}
	m[key] = api.Failure{Dependency: dependency, Error: err.Error(), Since: since}
	return m
}

// addTo fills a status's failing dependencies and placements' errors.
func (f *failures) addTo(s *api.Status) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s.Failing = slices.SortedFunc(maps.Values(f.deps), func(a, b api.Failure) int { return cmp.Compare(a.Dependency, b.Dependency) })
	for i := range s.Services {
		for j := range s.Services[i].Placements {
			ps := &s.Services[i].Placements[j]
			if fl, ok := f.placements[placementKey(s.Services[i].Name, ps.Stage, ps.Target)]; ok {
				ps.Error = &fl
			}
		}
	}
}

// retainTargets forgets the failures of target adapters the desired state
// no longer names.
func (f *failures) retainTargets(ds *schema.DesiredState) {
	keep := map[string]bool{}
	for _, t := range ds.Targets {
		keep[runtimeDependency(t)], keep[trafficDependency(t)] = true, true
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for dep := range f.deps {
		if strings.HasPrefix(dep, "target ") && !keep[dep] {
			delete(f.deps, dep)
		}
	}
}

// runtimeDependency and trafficDependency name a target's adapters.
func runtimeDependency(t schema.Target) string {
	return fmt.Sprintf("target %s runtime %s", t.Name, t.Runtime.Kind)
}

func trafficDependency(t schema.Target) string {
	return fmt.Sprintf("target %s traffic %s", t.Name, t.Traffic.Kind)
}
