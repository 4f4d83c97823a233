package reconcile

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/durable-delivery/durable/adapters"
	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/journal"
)

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
	want, err := desiredSplit(p, ro.sets, ro.statuses)
	if err != nil {
		return err
	}
	have, err := tr.Split(ctx, p.service.Name)
	if err != nil && !errors.Is(err, adapters.ErrNotFound) {
		return fmt.Errorf("read traffic split: %w", err)
	}
	if err == nil {
		r.observed.noteSplit(p.target.Name, have)
		r.countServed(ctx, p.target.Name, tr, have)
	}
	if sameSplit(want, have) {
		return nil
	}
	if r.cfg.DriftReportOnly {
		msg := fmt.Sprintf("drift: the traffic split differs from the journal (have %s, want %s); reported, not repaired (durable run --drift report)", describeSplit(have), describeSplit(want))
		e := p.entry("", p.service.ReleaseID())
		e.Kind, e.Message = api.EntryEvent, msg
		if _, journaled := r.verdictOnce(ctx, "drift/"+p.service.Name+"/"+p.stage+"/"+p.target.Name, e); journaled {
			r.log.Warn("traffic drift reported, not repaired", "service", p.service.Name, "target", p.target.Name, "have", describeSplit(have), "want", describeSplit(want))
		}
		return nil
	}
	why := fmt.Sprintf("traffic split differs from the journal (have %s, want %s): restore it", describeSplit(have), describeSplit(want))
	return r.act(ctx, p.entry("", p.service.ReleaseID()), action{kind: api.ActionSetSplit, rule: policyDrift, why: why, detail: want}, func() error { return tr.SetSplit(ctx, want) })
}

func sameSplit(a, b adapters.Split) bool {
	if len(a.Backends) != len(b.Backends) {
		return false
	}
	key := func(x adapters.Backend) string { return x.Set }
	as, bs := slices.Clone(a.Backends), slices.Clone(b.Backends)
	slices.SortFunc(as, func(x, y adapters.Backend) int { return strings.Compare(key(x), key(y)) })
	slices.SortFunc(bs, func(x, y adapters.Backend) int { return strings.Compare(key(x), key(y)) })
	for i := range as {
		if as[i].Set != bs[i].Set || as[i].Weight != bs[i].Weight || !sameMembers(as[i].Endpoints, bs[i].Endpoints) {
			return false
		}
	}
	return true
}

func sameMembers(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func describeSplit(s adapters.Split) string {
	if len(s.Backends) == 0 {
		return "none"
	}
	out := ""
	for i, b := range s.Backends {
		if i > 0 {
			out += ", "
		}
		out += fmt.Sprintf("%s=%d%%", b.Set, b.Weight)
	}
	return out
}

func isNotFound(err error) bool { return errors.Is(err, adapters.ErrNotFound) }
