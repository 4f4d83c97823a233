package reconcile

import (
	"context"
	"slices"
	"sort"
	"testing"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/journal"
	"github.com/durable-delivery/durable/policy"
)

// TestPlanAgreesWithTheReconciler plans each revision against the journal
// as it stands, then lets the reconciler apply it: the sets it creates,
// switches back to and removes are the ones the plan named, for a first
// release, a new release, a rollback to a warm set, and a release that
// pushes the oldest warm set out (keepWarm 1).
func TestPlanAgreesWithTheReconciler(t *testing.T) {
	ctx := context.Background()
	f := newFleetHarness(t)
	engine, err := policy.Compile(ctx, policy.Options{}, policy.Source{Name: "repository"})
	if err != nil {
		t.Fatal(err)
	}
	for i, digits := range []string{"ab", "cb", "ab", "db", "db"} {
		commit := string(rune('1'+i)) + "-commit"
		running, err := ReadRunning(ctx, f.st)
		if err != nil {
			t.Fatal(err)
		}
		before := setStates(ctx, t, f.st)
		f.revision(commit, digits)
		p := Plan(ctx, PlanRequest{Revision: LoadedRevision{Desired: f.r.desired, Engine: engine},
			Commit: policy.Commit{ID: commit}, Running: running})
		f.settle(ctx)
		after := setStates(ctx, t, f.st)

		var created, removed, switchedBack []string
		for id, state := range after {
			was, existed := before[id]
			switch {
			case !existed:
				created = append(created, id)
			case state == api.SetRemoved && was != api.SetRemoved:
				removed = append(removed, id)
			case state == api.SetServing && was == api.SetWarm:
				switchedBack = append(switchedBack, id)
			}
		}
		var planCreate, planRemove, planBack []string
		for _, pp := range p.Stages[0].Placements {
			planCreate = append(planCreate, pp.Create...)
			planRemove = append(planRemove, pp.Remove...)
			if pp.SwitchBack != "" {
				planBack = append(planBack, pp.SwitchBack)
			}
		}
		for _, c := range []struct {
			what       string
			plan, done []string
		}{{"created", planCreate, created}, {"removed", planRemove, removed}, {"switched back to", planBack, switchedBack}} {
			sort.Strings(c.plan)
			sort.Strings(c.done)
			if !slices.Equal(c.plan, c.done) {
				t.Errorf("revision %d (%s): the plan named %v %s, the reconciler %v", i+1, digits, c.plan, c.what, c.done)
			}
		}
		if wantChange := i != 4; p.Changed != wantChange {
			t.Errorf("revision %d (%s): plan changed %v, want %v", i+1, digits, p.Changed, wantChange)
		}
		if p.Admission.Result != policy.Allow {
			t.Errorf("revision %d: admission %+v", i+1, p.Admission)
		}
		if i == 2 && (!p.Rollback || len(p.Services) != 1 || !p.Services[0].Rollback) {
			t.Errorf("back to a warm release: the plan must call it a rollback: %+v", p)
		}
	}
}

// setStates is every infra-set of the journal by id.
func setStates(ctx context.Context, t *testing.T, st journal.Store) map[string]api.SetState {
	t.Helper()
	sets, err := st.InfraSets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]api.SetState{}
	for _, s := range sets {
		out[s.ID] = s.State
	}
	return out
}
