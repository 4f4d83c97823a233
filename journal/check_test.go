package journal

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/durable-delivery/durable/api"
)

func TestCheckReportsEachBreach(t *testing.T) {
	cases := []struct {
		name    string
		entries []Entry
		sets    []api.SetState
		phases  []api.RolloutPhase
		want    string
	}{
		{name: "an outcome without an intent", entries: []Entry{
			{Kind: api.EntryOutcome, Action: api.ActionRemoveSet, Set: "s1", Intent: 7}}, want: "an action without an intent"},
		{name: "an intent no decision allowed", entries: []Entry{
			{Kind: api.EntryIntent, Action: api.ActionCreateSet, Set: "s1"}}, want: "no earlier decision"},
		{name: "an intent citing a later entry", entries: []Entry{
			{Kind: api.EntryIntent, Action: api.ActionCreateSet, Set: "s1", Decision: 2},
			{Kind: api.EntryDecision, Result: "allow"}}, want: "no earlier decision"},
		{name: "an outcome of another action", entries: append(legalActions()[:3],
			Entry{Kind: api.EntryOutcome, Action: api.ActionRemoveSet, Set: "s1", Intent: 3}), want: "which is create-set s1"},
		{name: "two outcomes for one intent", entries: append(legalActions(),
			Entry{Kind: api.EntryOutcome, Action: api.ActionCreateSet, Set: "s1", Intent: 3}), want: "already has outcome"},
		{name: "an intent citing an earlier entry that is no decision", entries: []Entry{
			{Kind: api.EntryRevision, Result: "accepted"},
			{Kind: api.EntryIntent, Action: api.ActionCreateSet, Set: "s1", Decision: 1}}, want: "no earlier decision"},
		{name: "an intent of something that is not a target action", entries: []Entry{
			{Kind: api.EntryDecision, Result: "allow"},
			{Kind: api.EntryIntent, Action: api.ActionBakeStarted, Decision: 1}}, want: "not an action on a target"},
		{name: "a removed set serving again", sets: []api.SetState{api.SetCreating, api.SetRemoving, api.SetRemoved, api.SetServing},
			want: `infra-set s1 went from "removed" to "serving"`},
		{name: "a set serving before it was ready", sets: []api.SetState{api.SetCreating, api.SetServing}, want: `from "creating" to "serving"`},
		{name: "a set born warm", sets: []api.SetState{api.SetWarm}, want: `from "" to "warm"`},
		{name: "a finished rollout taking a canary step", phases: []api.RolloutPhase{api.RolloutCreating, api.RolloutFailed, api.RolloutCanary},
			want: `rollout r1 went from "failed" to "canary"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := openTemp(t)
			appendAll(t, st, tc.entries...)
			for _, s := range tc.sets {
				putSet(t, st, "s1", s)
			}
			for _, p := range tc.phases {
				putRollout(t, st, "r1", p)
			}
			problems, err := Check(context.Background(), st)
			if err != nil || len(problems) != 1 || !strings.Contains(problems[0], tc.want) {
				t.Fatalf("check: %q, %v; want one problem saying %q", problems, err, tc.want)
			}
		})
	}
}

// legalActions are a revision, and a decision, an intent and an outcome of
// one action.
func legalActions() []Entry {
	return []Entry{
		{Kind: api.EntryRevision, Result: "accepted"},
		{Kind: api.EntryDecision, Result: "allow", Set: "s1"},
		{Kind: api.EntryIntent, Action: api.ActionCreateSet, Set: "s1", Decision: 2},
		{Kind: api.EntryOutcome, Action: api.ActionCreateSet, Set: "s1", Intent: 3},
		{Kind: api.EntryIntent, Action: api.ActionRemoveSet, Set: "s1", Decision: 2}, // killed mid-action: no outcome yet
	}
}

func openTemp(t *testing.T) *Bolt {
	t.Helper()
	st, err := OpenBolt(filepath.Join(t.TempDir(), "journal.db"), BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func appendAll(t *testing.T, st Store, entries ...Entry) {
	t.Helper()
	for _, e := range entries {
		if _, err := st.Append(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
}

func putSet(t *testing.T, st Store, id string, state api.SetState) {
	t.Helper()
	if err := st.PutInfraSet(context.Background(), InfraSet{ID: id, State: state}); err != nil {
		t.Fatal(err)
	}
}

func putRollout(t *testing.T, st Store, id string, phase api.RolloutPhase) {
	t.Helper()
	if err := st.PutRollout(context.Background(), Rollout{ID: id, Phase: phase}); err != nil {
		t.Fatal(err)
	}
}
