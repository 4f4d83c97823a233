package notify

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/durable-delivery/durable/api"
)

// Which journal record means which event:
//
//   - revision.rejected: a revision entry with result rejected (its Detail
//     names the commit, api.RevisionDetail).
//   - rollout.started: a rollout put for the first time.
//   - rollout.step-promoted: a rollout put in phase canary at a higher step
//     than before (the gate allowed the step and its weight was journaled).
//   - rollout.promoted: a rollout that is not a rollback reaching succeeded.
//   - rollout.rolled-back: a rollback rollout (a revert to a warm set)
//     reaching succeeded, or a canary that served traffic failing (its
//     traffic went back to the serving set); the latter is rollout.failed
//     as well.
//   - rollout.failed: a rollout reaching failed.
//   - gate.held / approval.needed: a gate decision that holds (the reconciler
//     journals one per change, not per pass); approval.needed when a
//     stage's gate is among what holds (api.PolicyStageGate).
//   - drift.repaired: the successful outcome of a set-split whose decision
//     cited api.PolicyDrift.
//   - dependency.down / dependency.up: their events (api.ActionDependencyDown,
//     api.ActionDependencyUp).

// maxDrift bounds the drift repairs followed from their decision to their
// outcome: each resolves within one action, so only a crash mid-action
// leaves one behind.
const maxDrift = 256

// driftTracker follows a drift repair from its decision through its intent
// to its outcome, the only entry that says the split was restored.
type driftTracker struct {
	decisions map[uint64]bool   // decision seqs citing the drift rule
	intents   map[uint64]string // intent seqs of those, to their message
}

func (d *driftTracker) note(e api.Entry) *Event {
	switch {
	case e.Kind == api.EntryDecision && strings.HasPrefix(e.Policy, api.PolicyDrift):
		d.decisions = remember(d.decisions, e.Seq, true)
	case e.Kind == api.EntryIntent && e.Action == api.ActionSetSplit && d.decisions[e.Decision]:
		delete(d.decisions, e.Decision)
		d.intents = remember(d.intents, e.Seq, e.Message)
	case e.Kind == api.EntryOutcome && e.Action == api.ActionSetSplit:
		why, ok := d.intents[e.Intent]
		if !ok {
			return nil
		}
		delete(d.intents, e.Intent)
		if e.Error != "" {
			return nil
		}
		ev := fromEntry(DriftRepaired, e)
		ev.Summary = fmt.Sprintf("drift repaired: %s on %s: %s", e.Service, place(e.Stage, e.Target), why)
		return ev
	}
	return nil
}

// remember adds k to m, forgetting every other key once m is full: a
// repair left behind by a crash must not grow it for ever.
func remember[V any](m map[uint64]V, k uint64, v V) map[uint64]V {
	if m == nil || len(m) >= maxDrift {
		m = map[uint64]V{}
	}
	m[k] = v
	return m
}

// entryEvent is the event an entry means, or nil.
func entryEvent(e api.Entry) *Event {
	switch {
	case e.Kind == api.EntryRevision && e.Result == string(api.RevisionRejected):
		ev := fromEntry(RevisionRejected, e)
		var d api.RevisionDetail
		if json.Unmarshal(e.Detail, &d) == nil {
			ev.Revision = d.Commit
		}
		first, _, _ := strings.Cut(e.Error, "\n")
		ev.Summary = oneLine(e.Message) + ": " + first
		return ev
	case e.Kind == api.EntryDecision && e.EntryPoint == "gate" && e.Result == "hold":
		typ := GateHeld
		if strings.Contains(e.Policy, api.PolicyStageGate) {
			typ = ApprovalNeeded
		}
		ev := fromEntry(typ, e)
		ev.Policy, ev.Reasons = e.Policy, boundedList(e.Reasons)
		what := "gate held"
		if typ == ApprovalNeeded {
			what = "approval needed"
		}
		ev.Summary = fmt.Sprintf("%s: %s release %s on %s: %s", what, e.Service, short(e.Release), place(e.Stage, e.Target), strings.Join(ev.Reasons, "; "))
		return ev
	case e.Kind == api.EntryEvent && (e.Action == api.ActionDependencyDown || e.Action == api.ActionDependencyUp):
		typ := DependencyDown
		if e.Action == api.ActionDependencyUp {
			typ = DependencyUp
		}
		ev := fromEntry(typ, e)
		ev.Dependency, ev.Summary = e.Result, oneLine(e.Message)
		if e.Error != "" {
			ev.Summary += ": " + oneLine(e.Error)
		}
		return ev
	}
	return nil
}

// fromEntry is an event of type typ about what e is about.
func fromEntry(typ Type, e api.Entry) *Event {
	return &Event{Type: typ, Time: e.Time, Seq: e.Seq, Service: e.Service, Stage: e.Stage, Target: e.Target,
		Release: e.Release, Rollout: e.Rollout, Error: bounded(e.Error)}
}

// rolloutEvents are the events a rollout's change means: none, one, or two
// (a canary aborted fails and rolls back).
func rolloutEvents(before *api.Rollout, after api.Rollout) []*Event {
	var out []*Event
	add := func(typ Type, format string, args ...any) {
		out = append(out, fromRollout(typ, after, fmt.Sprintf(format, args...)))
	}
	what := fmt.Sprintf("%s release %s on %s", after.Service, short(after.Release), place(after.Stage, after.Target))
	if before == nil {
		from := ""
		if after.FromRelease != "" {
			from = " (from " + short(after.FromRelease) + ")"
		}
		add(RolloutStarted, "rollout started: %s%s", what, from)
		if !after.Done() {
			return out
		}
		before = &api.Rollout{}
	}
	switch {
	case after.Phase == api.RolloutCanary && after.Step > before.Step:
		add(RolloutStepPromote, "step promoted: %s: %s", what, after.Message)
	case after.Phase == before.Phase:
	case after.Phase == api.RolloutSucceeded && after.Rollback:
		add(RolloutRolledBack, "rolled back: %s serves again: %s", what, after.Message)
	case after.Phase == api.RolloutSucceeded:
		add(RolloutPromoted, "promoted: %s serves all its traffic", what)
	case after.Phase == api.RolloutFailed:
		add(RolloutFailed, "rollout failed: %s: %s", what, after.Message)
		if before.Phase == api.RolloutCanary {
			add(RolloutRolledBack, "rolled back: %s: its canary's traffic is back on the serving set", what)
		}
	}
	return out
}

// fromRollout is an event of type typ about rollout r.
func fromRollout(typ Type, r api.Rollout, summary string) *Event {
	ev := &Event{Type: typ, Time: r.UpdatedAt, Summary: summary, Service: r.Service, Stage: r.Stage, Target: r.Target,
		Release: r.Release, FromRelease: r.FromRelease, Rollout: r.ID, Revision: r.Revision, Rollback: r.Rollback}
	if typ == RolloutStepPromote {
		ev.Step = r.Step
	}
	if typ == RolloutFailed {
		ev.Error = bounded(r.Message)
	}
	return ev
}

// place is "stage/target", or whichever is known.
func place(stage, target string) string {
	switch {
	case stage == "":
		return target
	case target == "":
		return stage
	}
	return stage + "/" + target
}
