package reconcile

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/durable-delivery/durable/adapters"
	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/journal"
	"github.com/durable-delivery/durable/schema"
)

// trafficTimeout bounds each call to a target's traffic adapter, whatever
// adapter it is: a backstop for one without a bound of its own, set above
// the adapters' own (the router's and HAProxy's 10 s, an exec plug-in's
// timeout, 30 s by default) so as not to cut them short.
var trafficTimeout = 5 * time.Minute

// setSplit, splitOf and inFlight are the calls to target's traffic
// adapter tr, each bounded by trafficTimeout. Each outcome is noted for
// status under the target's traffic dependency, as the observation's are:
// a pass that converges every placement of a target (none is clean, so
// nothing is observed) still shows its router down, and its first call
// that answers shows it up.
func (r *Reconciler) setSplit(ctx context.Context, target schema.Target, tr adapters.Traffic, split adapters.Split) error {
	ctx, cancel := context.WithTimeout(ctx, trafficTimeout)
	defer cancel()
	err := tr.SetSplit(ctx, split)
	r.noteTraffic(ctx, target, err)
	return err
}

func (r *Reconciler) splitOf(ctx context.Context, target schema.Target, tr adapters.Traffic, service string) (adapters.Split, error) {
	ctx, cancel := context.WithTimeout(ctx, trafficTimeout)
	defer cancel()
	split, err := tr.Split(ctx, service)
	r.noteTraffic(ctx, target, err)
	return split, err
}

// readSplit is splitOf ended at once by a newer revision too: a read
// changes nothing, so cutting it is safe, and a revert never waits behind
// another placement's read of a hung traffic adapter (up to its bound).
func (r *Reconciler) readSplit(ctx context.Context, target schema.Target, tr adapters.Traffic, service string) (adapters.Split, error) {
	ctx, stop := r.untilNewer(ctx)
	defer stop()
	return r.splitOf(ctx, target, tr, service)
}

func (r *Reconciler) inFlight(ctx context.Context, target schema.Target, tr adapters.Traffic, service, set string) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, trafficTimeout)
	defer cancel()
	n, err := tr.InFlight(ctx, service, set)
	r.noteTraffic(ctx, target, err)
	return n, err
}

// noteTraffic notes a call to target's traffic adapter: up when it
// answered (that a split is unknown or a request invalid is an answer),
// down when it did not (unavailable, or no answer within the bound). Any
// other error is the adapter's answer about the request (a conflict, a
// newer owner's fence, a plug-in's refusal): it says nothing of the
// dependency, and noting it would have the dependency go down and up on
// every pass while reads answer and a write is refused.
func (r *Reconciler) noteTraffic(ctx context.Context, target schema.Target, err error) {
	switch {
	case err == nil, errors.Is(err, adapters.ErrNotFound), errors.Is(err, adapters.ErrInvalid):
		r.noteTry(ctx, trafficDependency(target), nil)
	case errors.Is(err, adapters.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		r.noteTry(ctx, trafficDependency(target), err)
	}
}

// desiredSplit is the traffic a placement should have given its journaled
// sets: a canary of the desired release takes its step's weight, the serving
// set the rest; warm sets stay routable at weight 0 so that a rollback is one
// atomic weight change. A canary of a release no longer desired gets nothing.
func desiredSplit(p placement, sets []journal.InfraSet, statuses map[string]adapters.InfraSetStatus) (adapters.Split, error) {
	split := adapters.Split{Service: p.service.Name}
	want := p.service.ReleaseID()
	canary := 0
	for _, s := range sets {
		if s.State == api.SetCanary && s.Release == want {
			canary += s.Weight
		}
	}
	for _, s := range sets {
		var weight int
		switch {
		case s.State == api.SetServing:
			weight = 100 - canary
		case s.State == api.SetCanary && s.Release == want:
			weight = s.Weight
		case s.State == api.SetWarm:
		default:
			continue
		}
		endpoints := routableEndpoints(statuses[s.ID])
		if len(endpoints) == 0 {
			if weight > 0 {
				return split, fmt.Errorf("infra-set %s serves but has no instance running", s.ID)
			}
			continue // a warm set with no instance yet is not routable
		}
		split.Backends = append(split.Backends, adapters.Backend{Set: s.ID, Release: s.Release, Weight: weight, Endpoints: endpoints})
	}
	slices.SortFunc(split.Backends, func(a, b adapters.Backend) int { return strings.Compare(a.Set, b.Set) })
	return split, nil
}

// routableEndpoints prefers healthy instances; while none is healthy (all
// restarting) every running instance is better than none.
func routableEndpoints(st adapters.InfraSetStatus) []string {
	if eps := st.Endpoints(); len(eps) > 0 {
		return eps
	}
	var out []string
	for _, in := range st.Instances {
		out = append(out, in.Endpoint)
	}
	return out
}

// syncSplit restores the placement's traffic split when what the traffic
// adapter applies differs from the journal (an instance replaced on a new
// port, a router restarted empty, a weight changed by hand).
func (ro *rollout) syncSplit(ctx context.Context) error {
	r, p, tr := ro.r, ro.p, ro.tr
	if find(ro.sets, isServing) == nil {
		return nil // nothing served yet: the first switch sets the split
	}
	// A set whose Ensure did not answer this pass (it failed, or goes on
	// in the background) has no status: the split is kept as it is rather
	// than written without it (a warm set dropped, a serving one said to
	// run nothing).
	for _, s := range ro.sets {
		if _, ok := ro.statuses[s.ID]; !ok && ro.problems[s.ID] != "" && (s.State == api.SetServing || s.State == api.SetCanary || s.State == api.SetWarm) {
			return fmt.Errorf("infra-set %s: %s; its traffic split is kept as it is until the runtime answers", s.ID, ro.problems[s.ID])
		}
	}
	want, err := desiredSplit(p, ro.sets, ro.statuses)
	if err != nil {
		return err
	}
	have, err := r.readSplit(ctx, p.target, tr, p.service.Name)
	if err != nil && !errors.Is(err, adapters.ErrNotFound) {
		return fmt.Errorf("read traffic split: %w", err)
	}
	if err == nil {
		r.observed.noteSplit(p.target.Name, have)
		r.countServed(ctx, p.target, tr, have)
	}
	if sameSplit(want, have) {
		return nil
	}
	if r.cfg.DriftReportOnly {
		msg := fmt.Sprintf("drift: the traffic split differs from the journal (%s); reported, not repaired (durable run --drift report)", strings.Join(splitDiff(have, want), "; "))
		e := p.entry("", p.service.ReleaseID())
		e.Kind, e.Message = api.EntryEvent, msg
		if _, journaled := r.verdictOnce(ctx, "drift/"+p.service.Name+"/"+p.stage+"/"+p.target.Name, e); journaled {
			r.log.Warn("traffic drift reported, not repaired", "service", p.service.Name, "target", p.target.Name, "drift", strings.Join(splitDiff(have, want), "; "))
		}
		return nil
	}
	why := fmt.Sprintf("traffic split differs from the journal (%s): restore it", strings.Join(splitDiff(have, want), "; "))
	return r.act(ctx, p.entry("", p.service.ReleaseID()), action{kind: api.ActionSetSplit, rule: policyDrift, why: why, detail: want}, func() error { return r.setSplit(ctx, p.target, tr, want) })
}

func sameSplit(a, b adapters.Split) bool { return len(splitDiff(a, b)) == 0 }

// splitDiff says, set by set, how the split a traffic adapter has differs
// from the one wanted: a set missing or not wanted, a weight, endpoints
// routed that should not be or not routed that should. Order is ignored.
func splitDiff(have, want adapters.Split) []string {
	byID := func(s adapters.Split) map[string]adapters.Backend {
		m := map[string]adapters.Backend{}
		for _, b := range s.Backends {
			m[b.Set] = b
		}
		return m
	}
	h, w := byID(have), byID(want)
	ids := slices.Sorted(maps.Keys(w))
	for id := range h {
		if _, ok := w[id]; !ok {
			ids = append(ids, id)
		}
	}
	var out []string
	for _, id := range ids {
		hb, inHave := h[id]
		wb, inWant := w[id]
		switch {
		case !inHave:
			out = append(out, fmt.Sprintf("%s is missing (want %d%%, %d endpoint(s))", id, wb.Weight, len(wb.Endpoints)))
			continue
		case !inWant:
			out = append(out, fmt.Sprintf("%s is routed (%d%%) but not wanted", id, hb.Weight))
			continue
		case hb.Weight != wb.Weight:
			out = append(out, fmt.Sprintf("%s has %d%% (want %d%%)", id, hb.Weight, wb.Weight))
		}
		if extra, missing := without(hb.Endpoints, wb.Endpoints), without(wb.Endpoints, hb.Endpoints); len(extra)+len(missing) > 0 {
			msg := id + " endpoints:"
			if len(missing) > 0 {
				msg += " missing " + strings.Join(missing, ", ")
			}
			if len(extra) > 0 {
				if len(missing) > 0 {
					msg += ";"
				}
				msg += " not wanted " + strings.Join(extra, ", ")
			}
			out = append(out, msg)
		}
	}
	return out
}

// without is a's members that are not in b, sorted.
func without(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	slices.Sort(out)
	return out
}

func isNotFound(err error) bool { return errors.Is(err, adapters.ErrNotFound) }
