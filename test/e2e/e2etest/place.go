package e2etest

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/journal"
)

// Place is where in a rollout the reconciler is: what a kill lands in, or
// is aimed at.
type Place string

// The places of a rollout, from a set's creation to convergence.
const (
	InCreation    Place = "set creation"
	InUpDownCheck Place = "upgrade-downgrade check"
	InGateHold    Place = "gate hold"
	InCanary      Place = "canary step"
	InSwitch      Place = "switch"
	InWarmRevert  Place = "warm revert"
	InStageBake   Place = "stage bake"
	Converged     Place = "after convergence"
)

// placeOfRollout says where an unfinished rollout is. A warm revert, an
// upgrade-downgrade check and a gate's hold come first: each is a part of
// a phase (switching, creating) with a risk of its own.
func placeOfRollout(ro api.Rollout) Place {
	switch {
	case ro.Rollback:
		return InWarmRevert
	case ro.Check == "downgrade" || ro.Check == "upgrade":
		return InUpDownCheck
	case ro.Verdict != nil && ro.Verdict.Result == "hold":
		return InGateHold
	case ro.Phase == api.RolloutCreating:
		return InCreation
	case ro.Phase == api.RolloutCanary:
		return InCanary
	case ro.Phase == api.RolloutSwitching:
		return InSwitch
	}
	return Place(ro.Phase)
}

// PlaceOf says where the status shows the reconciler: in the first
// unfinished rollout of a placement, else in a stage's bake, else
// converged.
func PlaceOf(s api.Status) Place {
	for _, svc := range s.Services {
		for _, pl := range svc.Placements {
			if ro := pl.Rollout; ro != nil && !ro.Done() {
				return placeOfRollout(*ro)
			}
		}
	}
	for _, svc := range s.Services {
		for _, sv := range svc.Stages {
			if b := sv.Bake; b != nil && b.Release != "" && !b.StartedAt.IsZero() && !b.Done {
				return InStageBake
			}
		}
	}
	return Converged
}

// KillPoint reads the journal a killed reconciler left and says where the
// kill landed (as PlaceOf, from the journal's rollouts and bake events),
// with the journal's own check at that moment (journal.Check: every action
// decided and intended, every state change legal): its problems, or an
// error when it could not be read.
func (f *Fixture) KillPoint(ctx context.Context) (Place, []string, error) {
	st, err := journal.OpenBolt(filepath.Join(f.Dir, "state", "journal.db"), journal.BoltOptions{ReadOnly: true})
	if err != nil {
		return "", nil, fmt.Errorf("open the killed reconciler's journal: %w", err)
	}
	defer st.Close()
	problems, err := journal.Check(ctx, st)
	if err != nil {
		return "", nil, fmt.Errorf("check the killed reconciler's journal: %w", err)
	}
	rollouts, err := st.Rollouts(ctx)
	if err != nil {
		return "", problems, fmt.Errorf("read the rollouts: %w", err)
	}
	for _, ro := range rollouts {
		if !ro.Done() {
			return placeOfRollout(ro), problems, nil
		}
	}
	baking, err := bakeOpen(ctx, st)
	if err != nil || !baking {
		return Converged, problems, err
	}
	return InStageBake, problems, nil
}

// bakeOpen reports whether the journal's newest stage bake has started and
// not ended.
func bakeOpen(ctx context.Context, st *journal.Bolt) (bool, error) {
	var after uint64
	open := false
	for {
		page, err := st.Entries(ctx, after, 1000)
		if err != nil {
			return false, fmt.Errorf("read the journal's entries: %w", err)
		}
		if len(page) == 0 {
			return open, nil
		}
		for _, e := range page {
			switch {
			case e.Kind != api.EntryEvent:
			case e.Action == api.ActionBakeStarted:
				open = true
			case e.Action == api.ActionBakeDone:
				open = false
			}
		}
		after = page[len(page)-1].Seq
	}
}
