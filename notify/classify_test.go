package notify

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/durable-delivery/durable/api"
)

// Each rollout change means the events documented in classify.go.
func TestRolloutChangesAreEvents(t *testing.T) {
	ro := func(phase api.RolloutPhase, step int, rollback bool) api.Rollout {
		return api.Rollout{ID: "web/prod/a/r1", Service: "web", Stage: "prod", Target: "a", Release: "r1", Phase: phase, Step: step, Rollback: rollback, Message: "why"}
	}
	ptr := func(r api.Rollout) *api.Rollout { return &r }
	tests := []struct {
		name   string
		before *api.Rollout
		after  api.Rollout
		want   []Type
	}{
		{"new", nil, ro(api.RolloutCreating, 0, false), []Type{RolloutStarted}},
		{"new rollback", nil, ro(api.RolloutSwitching, 0, true), []Type{RolloutStarted}},
		{"first step", ptr(ro(api.RolloutCreating, 0, false)), ro(api.RolloutCanary, 1, false), []Type{RolloutStepPromote}},
		{"next step", ptr(ro(api.RolloutCanary, 1, false)), ro(api.RolloutCanary, 2, false), []Type{RolloutStepPromote}},
		{"analysis noted", ptr(ro(api.RolloutCanary, 2, false)), ro(api.RolloutCanary, 2, false), nil},
		{"switching", ptr(ro(api.RolloutCanary, 2, false)), ro(api.RolloutSwitching, 2, false), nil},
		{"promoted", ptr(ro(api.RolloutSwitching, 2, false)), ro(api.RolloutSucceeded, 2, false), []Type{RolloutPromoted}},
		{"promoted again", ptr(ro(api.RolloutSucceeded, 2, false)), ro(api.RolloutSucceeded, 2, false), nil},
		{"reverted to warm", ptr(ro(api.RolloutSwitching, 0, true)), ro(api.RolloutSucceeded, 0, true), []Type{RolloutRolledBack}},
		{"unhealthy", ptr(ro(api.RolloutCreating, 0, false)), ro(api.RolloutFailed, 0, false), []Type{RolloutFailed}},
		{"canary aborted", ptr(ro(api.RolloutCanary, 1, false)), ro(api.RolloutFailed, 1, false), []Type{RolloutFailed, RolloutRolledBack}},
		{"abandoned", ptr(ro(api.RolloutCreating, 0, false)), ro(api.RolloutAbandoned, 0, false), nil},
		{"new and failed at once", nil, ro(api.RolloutFailed, 0, false), []Type{RolloutStarted, RolloutFailed}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []Type
			for _, ev := range rolloutEvents(tt.before, tt.after) {
				got = append(got, ev.Type)
				if ev.Rollout != "web/prod/a/r1" || ev.Summary == "" {
					t.Errorf("event %+v", ev)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %v; want %v", got, tt.want)
			}
		})
	}
}

// Journal entries mean the events documented in classify.go, and only
// those: a drift repair is told once its outcome says the split was
// restored.
func TestEntriesAreEvents(t *testing.T) {
	tests := []struct {
		name string
		e    api.Entry
		want Type
	}{
		{"rejected", api.Entry{Kind: api.EntryRevision, Result: "rejected", Detail: json.RawMessage(`{"commit":"abc"}`)}, RevisionRejected},
		{"accepted", api.Entry{Kind: api.EntryRevision, Result: "accepted"}, ""},
		{"gate hold", api.Entry{Kind: api.EntryDecision, EntryPoint: "gate", Result: "hold", Policy: "builtin/hold", Reasons: []string{"hold: true"}}, GateHeld},
		{"stage gate", api.Entry{Kind: api.EntryDecision, EntryPoint: "gate", Result: "hold", Policy: "gate.rego + " + api.PolicyStageGate}, ApprovalNeeded},
		{"gate allow", api.Entry{Kind: api.EntryDecision, EntryPoint: "gate", Result: "allow"}, ""},
		{"invariant deny", api.Entry{Kind: api.EntryDecision, EntryPoint: "invariant", Result: "deny"}, ""},
		{"dependency down", api.Entry{Kind: api.EntryEvent, Action: api.ActionDependencyDown, Result: "prometheus http://p"}, DependencyDown},
		{"dependency up", api.Entry{Kind: api.EntryEvent, Action: api.ActionDependencyUp, Result: "prometheus http://p"}, DependencyUp},
		{"warning", api.Entry{Kind: api.EntryEvent, Action: api.ActionWarning}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := entryEvent(tt.e)
			switch {
			case tt.want == "" && ev != nil:
				t.Errorf("got %+v; want none", ev)
			case tt.want != "" && (ev == nil || ev.Type != tt.want):
				t.Errorf("got %+v; want %s", ev, tt.want)
			}
		})
	}
	if ev := entryEvent(tests[0].e); ev.Revision != "abc" {
		t.Errorf("rejected revision %q; want abc", ev.Revision)
	}
	if ev := entryEvent(tests[6].e); ev.Dependency != "prometheus http://p" || ev.Subject() != "prometheus http://p" {
		t.Errorf("dependency %+v", ev)
	}

	var d driftTracker
	seq := []api.Entry{
		{Seq: 1, Kind: api.EntryDecision, Policy: api.PolicyDrift, Result: "allow"},
		{Seq: 2, Kind: api.EntryIntent, Action: api.ActionSetSplit, Decision: 1, Message: "restore it"},
		{Seq: 3, Kind: api.EntryDecision, Policy: "builtin/canary", Result: "allow"},
		{Seq: 4, Kind: api.EntryIntent, Action: api.ActionSetSplit, Decision: 3},
		{Seq: 5, Kind: api.EntryOutcome, Action: api.ActionSetSplit, Intent: 4},
		{Seq: 6, Kind: api.EntryOutcome, Action: api.ActionSetSplit, Intent: 2, Service: "web", Stage: "prod", Target: "a"},
		{Seq: 7, Kind: api.EntryOutcome, Action: api.ActionSetSplit, Intent: 2},
	}
	var told []uint64
	for _, e := range seq {
		if ev := d.note(e); ev != nil {
			told = append(told, ev.Seq)
			if ev.Type != DriftRepaired || ev.Summary != "drift repaired: web on prod/a: restore it" {
				t.Errorf("drift event %+v", ev)
			}
		}
	}
	if !slices.Equal(told, []uint64{6}) {
		t.Errorf("drift told at %v; want at the outcome 6 only", told)
	}
	failed := driftTracker{}
	failed.note(seq[0])
	failed.note(seq[1])
	if ev := failed.note(api.Entry{Kind: api.EntryOutcome, Action: api.ActionSetSplit, Intent: 2, Error: "router down"}); ev != nil {
		t.Errorf("a failed repair is told: %+v", ev)
	}
}
