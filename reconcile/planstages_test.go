package reconcile

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/policy"
	"github.com/durable-delivery/durable/schema"
)

// TestPlanStagesAndStrategies plans a two-stage pipeline (a bake on the
// first, a gate and an upgrade-downgrade test on the second) for a canary,
// a blue/green with a preview and no warm set, an unchanged service with
// secrets the plan cannot resolve, and a service the revision drops.
func TestPlanStagesAndStrategies(t *testing.T) {
	ctx := context.Background()
	svc := func(name, digit string, st schema.Strategy) schema.Service {
		st.ProgressDeadline = schema.Duration{Duration: time.Minute}
		return schema.Service{Name: name, Artifact: "r/" + name + "@sha256:" + strings.Repeat(digit, 64), Run: schema.Run{Port: 80, Replicas: 1}, Strategy: st}
	}
	canary := schema.Strategy{Kind: schema.Canary, KeepWarm: 1, Steps: []schema.CanaryStep{
		{Weight: 10, Bake: schema.Bake{Time: schema.Duration{Duration: time.Minute}, Requests: 100}}, {Weight: 50}}}
	blueGreen := schema.Strategy{Kind: schema.BlueGreen, Preview: true}
	secret := svc("sec", "7", blueGreen)
	secret.Run.SecretEnv = map[string]schema.SecretRef{"TOKEN": {Env: "TOKEN"}}
	pipeline := schema.Pipeline{Stages: []schema.Stage{
		{Name: "dev", Targets: []string{"a"}, Bake: &schema.StageBake{Time: schema.Duration{Duration: 10 * time.Minute}}},
		{Name: "prod", Targets: []string{"b"}, UpgradeDowngradeTest: true, Gate: &schema.StageGate{Approvals: 1}},
	}}
	runningSecret := secret
	runningSecret.SecretsDigest = "digest-of-the-values"
	old := &schema.DesiredState{Pipeline: pipeline, Services: map[string]schema.Service{
		"web": svc("web", "1", canary), "api": svc("api", "1", blueGreen), "sec": runningSecret, "gone": svc("gone", "1", blueGreen)}}
	ds := &schema.DesiredState{Pipeline: pipeline, Services: map[string]schema.Service{
		"web": svc("web", "2", canary), "api": svc("api", "2", blueGreen), "sec": secret}}

	status := api.Status{Applied: &api.RevisionStatus{Commit: "c1"}}
	for _, name := range []string{"web", "api", "sec", "gone"} {
		s := old.Services[name]
		ss := api.ServiceStatus{Name: name, Release: s.ReleaseID()}
		for _, at := range [][2]string{{"dev", "a"}, {"prod", "b"}} {
			pl := api.PlacementStatus{Stage: at[0], Target: at[1], Sets: []api.SetStatus{
				{ID: name + "-serving-" + at[1], Release: s.ReleaseID(), State: api.SetServing}}}
			if name == "web" {
				pl.Sets = append([]api.SetStatus{{ID: "web-older-" + at[1], Release: "older", State: api.SetWarm}}, pl.Sets...)
			}
			ss.Placements = append(ss.Placements, pl)
		}
		status.Services = append(status.Services, ss)
	}
	engine, err := policy.Compile(ctx, policy.Options{}, policy.Source{Name: "repository"})
	if err != nil {
		t.Fatal(err)
	}
	p := Plan(ctx, PlanRequest{Revision: LoadedRevision{Desired: ds, Engine: engine}, Commit: policy.Commit{ID: "c2", Message: "two\n\nbody"},
		Running: Running{Status: status, Desired: old}})

	if p.Against != "c1" || p.Revision.Message != "two" || !p.Changed || p.Admission.Result != policy.Allow {
		t.Fatalf("plan: %+v", p)
	}
	if len(p.Stages) != 2 || len(p.Stages[0].Waits) != 0 || len(p.Stages[1].Waits) != 2 ||
		!strings.Contains(p.Stages[1].Waits[0], "stage dev") || !strings.Contains(p.Stages[1].Waits[0], "10m0s") || !strings.Contains(p.Stages[1].Waits[1], "1 approval") {
		t.Fatalf("stages: %+v", p.Stages)
	}
	at := func(stage int, service string) api.PlanPlacement {
		i := slices.IndexFunc(p.Stages[stage].Placements, func(pp api.PlanPlacement) bool { return pp.Service == service })
		return p.Stages[stage].Placements[i]
	}
	kinds := func(pp api.PlanPlacement) (out []string) {
		for _, s := range pp.Steps {
			out = append(out, fmt.Sprintf("%s:%d", s.Kind, s.Weight))
		}
		return out
	}
	web := at(0, "web")
	if want := []string{"canary:10", "canary:50", "switch:100"}; !slices.Equal(kinds(web), want) || web.Steps[0].Requests != 100 {
		t.Errorf("web's steps in dev: %v, want %v", kinds(web), want)
	}
	if newSet := infraSetID("web", "a", ds.Services["web"].ReleaseID()); !slices.Equal(web.Create, []string{newSet}) ||
		!slices.Equal(web.KeepWarm, []string{"web-serving-a"}) || !slices.Equal(web.Remove, []string{"web-older-a"}) {
		t.Errorf("web in dev: %+v", web)
	}
	if prod := at(1, "web"); prod.Steps[0].Kind != api.StepCheck {
		t.Errorf("web in prod must start with the upgrade-downgrade test: %+v", prod.Steps)
	}
	if apiDev := at(0, "api"); !slices.Equal(kinds(apiDev), []string{"preview:0", "switch:100"}) || !slices.Equal(apiDev.Remove, []string{"api-serving-a"}) || len(apiDev.KeepWarm) != 0 {
		t.Errorf("api (blue/green, preview, keepWarm 0) in dev: %+v", apiDev)
	}
	if sec := at(0, "sec"); sec.Changed() || sec.Release != runningSecret.ReleaseID() {
		t.Errorf("an unchanged service with secrets must change nothing: %+v", sec)
	}
	if len(p.Removed) != 2 || p.Removed[0].Service != "gone" || !slices.Equal(p.Removed[0].Remove, []string{"gone-serving-a"}) {
		t.Errorf("the dropped service: %+v", p.Removed)
	}
	if i := slices.IndexFunc(p.Services, func(s api.PlanServiceChange) bool { return s.Name == "gone" }); i < 0 || p.Services[i].Change != schema.Removed {
		t.Errorf("service changes: %+v", p.Services)
	}
}
