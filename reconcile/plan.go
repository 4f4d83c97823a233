package reconcile

import (
	"context"
	"fmt"
	"reflect"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/journal"
	"github.com/durable-delivery/durable/policy"
	"github.com/durable-delivery/durable/schema"
)

// Running is what runs now, as durable plan compares a revision with it:
// the reconciler's status (its sets per placement) and the applied
// desired state with its approvals (nil before the first revision).
type Running struct {
	Status    api.Status
	Desired   *schema.DesiredState
	Approvals []policy.Approval
}

// ReadRunning reads what runs from a journal; it only reads.
func ReadRunning(ctx context.Context, st journal.Store) (Running, error) {
	status, err := ReadStatus(ctx, st)
	if err != nil {
		return Running{}, err
	}
	revs, err := appliedRevisions(ctx, st)
	if err != nil {
		return Running{}, err
	}
	desired, approvals, err := applied(&api.Status{}, revs)
	if err != nil {
		return Running{}, err
	}
	return Running{Status: status, Desired: desired, Approvals: approvals}, nil
}

// PlanRequest is a loaded revision (loaded by RevisionLoader, as durable
// run loads it) to plan against what runs.
type PlanRequest struct {
	Revision LoadedRevision
	Commit   policy.Commit
	Running  Running
	Now      policy.Now
}

// Plan says what a revision would do against what runs: the change and its
// classes as schema.Diff gives them, the admission verdict as Admit gives
// it, and per stage, target and service the sets the rollout creates,
// switches back to, keeps warm and removes, and its traffic steps. It only
// computes: it neither journals nor calls a target.
//
// Secrets resolve on the reconciler's host: a service whose secret
// references did not change is planned with the digest the applied one
// has, that is, as if the values did not change either.
func Plan(ctx context.Context, req PlanRequest) api.Plan {
	old := req.Running.Desired
	ds := withRunningSecrets(old, req.Revision.Desired)
	change, d := Admit(ctx, req.Revision.Engine, AdmissionQuestion{Old: old, New: ds, Commit: req.Commit,
		Approvals: req.Revision.Approvals, Warm: warmIn(req.Running.Status), Now: req.Now})
	p := api.Plan{Revision: api.PlanRevision{Commit: req.Commit.ID, Message: firstLine(req.Commit.Message)},
		Classes: change.Classes, Rollback: change.Rollback,
		Admission: api.PlanAdmission{Result: d.Result, Policy: d.Policy, Reasons: d.Reasons}}
	if a := req.Running.Status.Applied; a != nil {
		p.Against = a.Commit
	}
	if p.Classes == nil {
		p.Classes = []string{}
	}
	pl := newPlanner(old, ds, req.Running.Status)
	p.Services = pl.serviceChanges(change)
	p.Stages = pl.stages()
	p.Removed = pl.removed()
	p.Changed = len(p.Classes) > 0 || len(p.Removed) > 0
	for _, st := range p.Stages {
		for _, pp := range st.Placements {
			p.Changed = p.Changed || pp.Changed()
		}
	}
	return p
}

// withRunningSecrets is ds with each service whose secret references are
// the applied service's given the applied secrets digest.
func withRunningSecrets(old, ds *schema.DesiredState) *schema.DesiredState {
	if old == nil {
		return ds
	}
	out := *ds
	out.Services = make(map[string]schema.Service, len(ds.Services))
	for name, svc := range ds.Services {
		if was, ok := old.Services[name]; ok && len(svc.Run.SecretEnv) > 0 && reflect.DeepEqual(was.Run.SecretEnv, svc.Run.SecretEnv) {
			svc.SecretsDigest = was.SecretsDigest
		}
		out.Services[name] = svc
	}
	return &out
}

// warmIn are the releases with a warm set in a status.
func warmIn(st api.Status) map[string]bool {
	warm := map[string]bool{}
	for _, svc := range st.Services {
		for _, pl := range svc.Placements {
			for _, s := range pl.Sets {
				if s.State == api.SetWarm {
					warm[s.Release] = true
				}
			}
		}
	}
	return warm
}

// planner holds what one plan compares: the applied and the planned
// desired states, and the status's placements by service/stage/target.
type planner struct {
	old, ds    *schema.DesiredState
	placements map[string]api.PlacementStatus
	// running are the status's placements with their services, in its
	// order.
	running  []runningPlacement
	releases map[string]string
}

func newPlanner(old, ds *schema.DesiredState, st api.Status) planner {
	pl := planner{old: old, ds: ds, placements: map[string]api.PlacementStatus{}, releases: map[string]string{}}
	for _, svc := range st.Services {
		pl.releases[svc.Name] = svc.Release
		for _, ps := range svc.Placements {
			pl.placements[planKey(svc.Name, ps.Stage, ps.Target)] = ps
			pl.running = append(pl.running, runningPlacement{svc.Name, ps})
		}
	}
	return pl
}

// runningPlacement is one placement of a status, with its service.
type runningPlacement struct {
	service string
	api.PlacementStatus
}

func planKey(service, stage, target string) string {
	return service + "\x00" + stage + "\x00" + target
}

// release is the release the revision desires of a service: the running
// reconciler's id when the content did not change (its id has the secrets
// digest the plan cannot compute), else the revision's.
func (pl planner) release(name string) string {
	id := pl.ds.Services[name].ReleaseID()
	if pl.old == nil {
		return id
	}
	if was, ok := pl.old.Services[name]; ok && was.ReleaseID() == id && pl.releases[name] != "" {
		return pl.releases[name]
	}
	return id
}

// serviceChanges lists the change's services by name.
func (pl planner) serviceChanges(c schema.Change) []api.PlanServiceChange {
	out := []api.PlanServiceChange{}
	for _, name := range sortedKeys(c.Services) {
		sc := c.Services[name]
		to := sc.To
		if _, ok := pl.ds.Services[name]; ok {
			to = pl.release(name)
		}
		out = append(out, api.PlanServiceChange{Name: name, Change: sc.Change, Classes: sc.Classes, Fields: sc.Fields,
			From: pl.releases[name], To: to, Rollback: sc.Rollback})
	}
	return out
}

// stages plans each stage of the revision's pipeline.
func (pl planner) stages() []api.PlanStage {
	out := []api.PlanStage{}
	for i, stage := range pl.ds.Pipeline.Stages {
		ps := api.PlanStage{Name: stage.Name, Waits: pl.waits(i), Placements: []api.PlanPlacement{}}
		for _, target := range stage.Targets {
			for _, name := range sortedKeys(pl.ds.Services) {
				ps.Placements = append(ps.Placements, pl.placement(pl.ds.Services[name], stage, target))
			}
		}
		out = append(out, ps)
	}
	return out
}

// waits are what stage i waits for before a release enters it.
func (pl planner) waits(i int) []string {
	var out []string
	stages := pl.ds.Pipeline.Stages
	if i > 0 {
		prev := stages[i-1]
		w := fmt.Sprintf("stage %s serves the release on every target", prev.Name)
		if b := prev.Bake; b != nil {
			w += fmt.Sprintf(" and it bakes there %s and %d requests", b.Time, b.Requests)
		}
		out = append(out, w)
	}
	if g := stages[i].Gate; g != nil && g.Approvals > 0 {
		signed := ""
		if g.Signed {
			signed = " in signed commits"
		}
		out = append(out, fmt.Sprintf("gate: %d approval(s)%s (durable approve)", g.Approvals, signed))
	}
	return out
}

// removed plans the placements the status has and the revision does not:
// every set of theirs goes.
func (pl planner) removed() []api.PlanPlacement {
	kept := map[string]bool{}
	for _, stage := range pl.ds.Pipeline.Stages {
		for _, target := range stage.Targets {
			for name := range pl.ds.Services {
				kept[planKey(name, stage.Name, target)] = true
			}
		}
	}
	var out []api.PlanPlacement
	for _, ps := range pl.running {
		if kept[planKey(ps.service, ps.Stage, ps.Target)] {
			continue
		}
		pp := api.PlanPlacement{Service: ps.service, Stage: ps.Stage, Target: ps.Target, Create: []string{}, Steps: []api.PlanStep{}, KeepWarm: []string{}, Remove: []string{}}
		for _, s := range ps.Sets {
			pp.Remove = append(pp.Remove, s.ID)
			if s.State == api.SetServing {
				pp.Serving = s.Release
			}
		}
		if len(pp.Remove) > 0 {
			out = append(out, pp)
		}
	}
	return out
}
