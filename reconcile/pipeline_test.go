package reconcile

import (
	"strings"
	"testing"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/journal"
	"github.com/durable-delivery/durable/schema"
)

func pipelineState(artifact string) *schema.DesiredState {
	return &schema.DesiredState{
		Services: map[string]schema.Service{"web": {Name: "web", Artifact: "r/web@sha256:" + strings.Repeat(artifact, 64)}},
		Pipeline: schema.Pipeline{Stages: []schema.Stage{
			{Name: "staging", Targets: []string{"s1"}},
			{Name: "prod", Targets: []string{"p1", "p2"}},
		}},
	}
}

func TestWantOfIsFIFO(t *testing.T) {
	r1 := pipelineState("a").Services["web"].ReleaseID()
	r2 := pipelineState("b").Services["web"].ReleaseID()
	ds := pipelineState("b") // r2 is desired
	set := func(stage, target, release string, state api.SetState) journal.InfraSet {
		return journal.InfraSet{ID: stage + target + release[:4], Service: "web", Stage: stage, Target: target, Release: release, State: state}
	}
	rollout := func(stage, target, release string, phase api.RolloutPhase) journal.Rollout {
		return journal.Rollout{Service: "web", Stage: stage, Target: target, Release: release, Phase: phase}
	}
	for _, tc := range []struct {
		name   string
		v      journalView
		stage  int
		target string
		want   string
	}{
		{name: "first stage wants the desired release", stage: 0, target: "s1", want: r2},
		{name: "a later stage waits while the stage before has not promoted it",
			v:     journalView{sets: []journal.InfraSet{set("staging", "s1", r1, api.SetServing), set("prod", "p1", r1, api.SetServing)}},
			stage: 1, target: "p1", want: r1},
		{name: "nothing anywhere yet: nothing to do", stage: 1, target: "p1", want: ""},
		{name: "promoted by the stage before: the next stage wants it",
			v:     journalView{sets: []journal.InfraSet{set("staging", "s1", r2, api.SetServing), set("prod", "p1", r1, api.SetServing)}},
			stage: 1, target: "p1", want: r2},
		{name: "a stage finishes the release in flight before the next",
			v: journalView{sets: []journal.InfraSet{set("staging", "s1", r2, api.SetServing), set("prod", "p1", r1, api.SetCanary)},
				rollouts: []journal.Rollout{rollout("prod", "p1", r1, api.RolloutCanary)}},
			stage: 1, target: "p1", want: r1},
		{name: "a rollback pre-empts what is in flight",
			v: journalView{sets: []journal.InfraSet{set("prod", "p1", r2, api.SetWarm), set("prod", "p1", r1, api.SetCanary)},
				rollouts: []journal.Rollout{rollout("prod", "p1", r1, api.RolloutCanary)}},
			stage: 1, target: "p1", want: r2},
		{name: "a failed release in the stage before never reaches the next",
			v: journalView{sets: []journal.InfraSet{set("staging", "s1", r1, api.SetServing), set("staging", "s1", r2, api.SetFailed), set("prod", "p1", r1, api.SetServing)},
				rollouts: []journal.Rollout{rollout("staging", "s1", r2, api.RolloutFailed)}},
			stage: 1, target: "p2", want: r1},
	} {
		if got := wantOf(ds, tc.v, "web", tc.stage, tc.target); got != tc.want {
			t.Errorf("%s: got %.8s, want %.8s", tc.name, got, tc.want)
		}
	}
	// Every target of the stage before must serve the release.
	three := &schema.DesiredState{Services: ds.Services, Pipeline: schema.Pipeline{Stages: []schema.Stage{
		{Name: "prod", Targets: []string{"p1", "p2"}}, {Name: "dr", Targets: []string{"d1"}}}}}
	half := journalView{sets: []journal.InfraSet{set("prod", "p1", r2, api.SetServing), set("prod", "p2", r1, api.SetServing)}}
	if got := wantOf(three, half, "web", 1, "d1"); got != "" {
		t.Errorf("half-promoted stage: got %.8s, want nothing", got)
	}
}

func TestStageViewsShowTheQueue(t *testing.T) {
	r1 := pipelineState("a").Services["web"].ReleaseID()
	r2 := pipelineState("b").Services["web"].ReleaseID()
	r3 := pipelineState("c").Services["web"].ReleaseID()
	ds := pipelineState("c") // r3 is desired
	v := journalView{
		sets: []journal.InfraSet{
			{Service: "web", Stage: "staging", Target: "s1", Release: r2, State: api.SetServing},
			{Service: "web", Stage: "prod", Target: "p1", Release: r1, State: api.SetServing},
			{Service: "web", Stage: "prod", Target: "p2", Release: r1, State: api.SetServing},
		},
		rollouts: []journal.Rollout{{Service: "web", Stage: "staging", Target: "s1", Release: r3, Phase: api.RolloutCanary}},
	}
	views := stageViews(ds, "web", v)
	staging, prod := views[0], views[1]
	if staging.Serving["s1"] != r2 || staging.InFlight["s1"] != r3 || len(staging.Queue) != 0 {
		t.Fatalf("staging %+v", staging)
	}
	if prod.Serving["p1"] != r1 || len(prod.InFlight) != 0 || len(prod.Queue) != 2 || prod.Queue[0] == prod.Queue[1] {
		t.Fatalf("prod %+v: want r2 and r3 queued", prod)
	}
	v.rollouts[0].Phase = api.RolloutFailed
	if views := stageViews(ds, "web", v); len(views[0].Queue) != 0 || len(views[1].Queue) != 1 || views[1].Queue[0] != r2 {
		t.Fatalf("after r3 failed in staging: %+v", views)
	}
}
