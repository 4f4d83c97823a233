package reconcile

import (
	"slices"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/schema"
)

// placement plans one service on one target of a stage as a rollout
// converges it: nothing when the desired release serves; a switch back
// when it is warm; else a new set, the strategy's steps and the switch.
// Then, as collect does, the sets kept warm (newest first, up to keepWarm)
// and those removed: warm beyond keepWarm, failed, and sets of another
// release that never served.
func (pl planner) placement(svc schema.Service, stage schema.Stage, target string) api.PlanPlacement {
	release := pl.release(svc.Name)
	pp := api.PlanPlacement{Service: svc.Name, Stage: stage.Name, Target: target, Release: release,
		Create: []string{}, Steps: []api.PlanStep{}, KeepWarm: []string{}, Remove: []string{}}
	var serving *api.SetStatus
	var warm []api.SetStatus // newest first
	inFlight := false
	for _, s := range pl.placements[planKey(svc.Name, stage.Name, target)].Sets {
		switch {
		case s.State == api.SetServing:
			serving = &s
		case s.State == api.SetWarm:
			warm = append([]api.SetStatus{s}, warm...)
		case s.State == api.SetFailed || s.State == api.SetRemoving || s.Release != release:
			pp.Remove = append(pp.Remove, s.ID)
		default:
			inFlight = true // creating, ready, canary or probe of the release: it goes on
		}
	}
	if serving != nil {
		pp.Serving = serving.Release
	}
	switched := true
	switch i := slices.IndexFunc(warm, func(s api.SetStatus) bool { return s.Release == release }); {
	case serving != nil && serving.Release == release:
		switched = false
	case i >= 0:
		pp.SwitchBack = warm[i].ID
		pp.Steps = []api.PlanStep{{Kind: api.StepSwitch, Weight: 100}}
		warm = slices.Delete(warm, i, i+1)
	default:
		if !inFlight {
			pp.Create = []string{infraSetID(svc.Name, target, release)}
		}
		pp.Steps = strategySteps(svc.Strategy, stage)
	}
	if switched && serving != nil {
		warm = append([]api.SetStatus{*serving}, warm...)
	}
	for i, s := range warm {
		if i < svc.Strategy.KeepWarm {
			pp.KeepWarm = append(pp.KeepWarm, s.ID)
		} else {
			pp.Remove = append(pp.Remove, s.ID)
		}
	}
	return pp
}

// strategySteps are the traffic steps a new set goes through on a stage.
func strategySteps(st schema.Strategy, stage schema.Stage) []api.PlanStep {
	var steps []api.PlanStep
	if stage.UpgradeDowngradeTest {
		steps = append(steps, api.PlanStep{Kind: api.StepCheck})
	}
	switch st.Kind {
	case schema.Canary:
		for _, c := range st.Steps {
			steps = append(steps, api.PlanStep{Kind: api.StepCanary, Weight: c.Weight, Bake: c.Bake.Time, Requests: c.Bake.Requests})
		}
	case schema.BlueGreen:
		if st.Preview {
			steps = append(steps, api.PlanStep{Kind: api.StepPreview})
		}
	}
	return append(steps, api.PlanStep{Kind: api.StepSwitch, Weight: 100})
}
