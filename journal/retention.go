package journal

import (
	"cmp"
	"slices"
	"time"

	"github.com/durable-delivery/durable/api"
)

// Retention: what may go from a journal, and what must stay.
//
// A record or an entry goes only when it is older than the bound (its
// SeenAt, UpdatedAt or Time before the cutoff) AND nothing still needed
// refers to it. What is needed is what the reconciler reads when it starts
// and what the status shows:
//
//   - every infra-set that is not removed (a removed one is, to the
//     reconciler, the same as none: made anew, its instances orphans);
//   - every rollout in flight; the newest rollout of each placement (the
//     status shows it); a rollout whose set is not removed; a rollout that
//     failed in the current attempt (it must not be retried);
//   - the releases those sets and rollouts name (Release, FromRelease), and
//     those the newest accepted revision declares;
//   - the newest revision (the head the status shows), the newest accepted
//     one (what a restart resumes), the current attempt's revision, and the
//     revisions the kept releases and rollouts name;
//   - the newest entry (so that Append never reuses a Seq); every intent
//     without an outcome; an intent and its outcome go together, and the
//     decision an intent or a kept rollout's verdict cites stays with them;
//     the stage-bake events of kept releases (a restart resumes a bake
//     from them);
//   - the transitions of kept records, but those of a record older than
//     the bound only the newest (Check judges each transition alone).
//
// Entries are only ever removed, never renumbered: Seqs keep their gaps,
// and the journal records the ranges it compacted, so Check still tells
// a compacted gap from a lost entry.

// snapshot is what a retention plan is made from: the fields of every
// record and entry that say its age and what it refers to.
type snapshot struct {
	revisions   []revisionRef
	releases    []releaseRef
	sets        []InfraSet
	rollouts    []Rollout
	entries     []entryRef
	transitions []transitionRef
}

type revisionRef struct {
	Commit   string              `json:"commit"`
	SeenAt   time.Time           `json:"seenAt"`
	Verdict  api.RevisionVerdict `json:"verdict"`
	Releases map[string]string   `json:"releases"`
	Attempt  string              `json:"attempt"`
}

type releaseRef struct {
	ID       string    `json:"id"`
	Revision string    `json:"revision"`
	SeenAt   time.Time `json:"seenAt"`
}

type entryRef struct {
	Seq      uint64        `json:"seq"`
	Time     time.Time     `json:"time"`
	Kind     api.EntryKind `json:"kind"`
	Action   api.Action    `json:"action"`
	Release  string        `json:"release"`
	Intent   uint64        `json:"intent"`
	Decision uint64        `json:"decision"`
}

type transitionRef struct {
	Seq  uint64    `json:"seq"`
	Time time.Time `json:"time"`
	Kind string    `json:"kind"`
	ID   string    `json:"id"`
}

// retentionPlan is what one compaction removes.
type retentionPlan struct {
	revisions, releases, sets, rollouts []string
	entries, transitions                []uint64
}

// planRetention decides what of snap may go, given the cutoff: nothing at
// or after it, and nothing needed (see above).
func planRetention(snap snapshot, cutoff time.Time) retentionPlan {
	old := func(t time.Time) bool { return t.Before(cutoff) }
	var plan retentionPlan
	keep := keptRecords(snap, cutoff)
	for _, s := range snap.sets {
		if s.State == api.SetRemoved && old(s.UpdatedAt) {
			plan.sets = append(plan.sets, s.ID)
		}
	}
	for _, ro := range snap.rollouts {
		if !keep.rollouts[ro.ID] {
			plan.rollouts = append(plan.rollouts, ro.ID)
		}
	}
	for _, rel := range snap.releases {
		if !keep.releases[rel.ID] && old(rel.SeenAt) {
			plan.releases = append(plan.releases, rel.ID)
		}
	}
	for _, rev := range snap.revisions {
		if !keep.revisions[rev.Commit] && old(rev.SeenAt) {
			plan.revisions = append(plan.revisions, rev.Commit)
		}
	}
	plan.entries = compactableEntries(snap.entries, keep, cutoff)
	plan.transitions = compactableTransitions(snap, plan, cutoff)
	return plan
}

// kept is what must stay, by id.
type kept struct {
	rollouts, releases, revisions map[string]bool
	// decisions are the entries kept rollouts' verdicts cite.
	decisions map[uint64]bool
}

// keptRecords marks the rollouts, releases and revisions that stay.
func keptRecords(snap snapshot, cutoff time.Time) kept {
	k := kept{rollouts: map[string]bool{}, releases: map[string]bool{}, revisions: map[string]bool{}, decisions: map[uint64]bool{}}
	live := map[string]bool{}
	for _, s := range snap.sets {
		if s.State != api.SetRemoved {
			live[s.ID] = true
			k.releases[s.Release] = true
		}
	}
	revs := slices.Clone(snap.revisions)
	slices.SortStableFunc(revs, func(a, b revisionRef) int {
		return cmp.Or(b.SeenAt.Compare(a.SeenAt), cmp.Compare(a.Commit, b.Commit))
	})
	attempt := ""
	if len(revs) > 0 {
		k.revisions[revs[0].Commit] = true // the head the status shows
	}
	for _, rev := range revs {
		if rev.Verdict == api.RevisionAccepted {
			attempt = cmp.Or(rev.Attempt, rev.Commit)
			k.revisions[rev.Commit], k.revisions[attempt] = true, true
			for _, id := range rev.Releases {
				k.releases[id] = true
			}
			break
		}
	}
	newest := map[[3]string]Rollout{}
	for _, ro := range snap.rollouts {
		key := [3]string{ro.Service, ro.Stage, ro.Target}
		if n, ok := newest[key]; !ok || rolloutOrder(ro, n) > 0 {
			newest[key] = ro
		}
	}
	for _, ro := range snap.rollouts {
		failedNow := ro.Phase == api.RolloutFailed && cmp.Or(ro.FailedIn, ro.Revision) == attempt
		if !ro.Done() || !ro.UpdatedAt.Before(cutoff) || live[ro.Set] || failedNow ||
			newest[[3]string{ro.Service, ro.Stage, ro.Target}].ID == ro.ID {
			k.rollouts[ro.ID] = true
			k.releases[ro.Release], k.releases[ro.FromRelease] = true, true
			k.revisions[ro.Revision], k.revisions[ro.FailedIn] = true, true
			if ro.Verdict != nil {
				k.decisions[ro.Verdict.Seq] = true
			}
		}
	}
	for _, rel := range snap.releases {
		if k.releases[rel.ID] || !rel.SeenAt.Before(cutoff) {
			k.revisions[rel.Revision] = true
		}
	}
	return k
}

// compactableEntries lists the Seqs of the entries that may go: old, not
// the newest, and not needed by what stays (intent and outcome together,
// with the decision the intent cites).
func compactableEntries(entries []entryRef, k kept, cutoff time.Time) []uint64 {
	keep := map[uint64]bool{}
	outcomeOf := map[uint64]uint64{}
	for i, e := range entries {
		if e.Kind == api.EntryOutcome {
			outcomeOf[e.Intent] = e.Seq
		}
		bake := e.Kind == api.EntryEvent && (e.Action == api.ActionBakeStarted || e.Action == api.ActionBakeDone)
		if !e.Time.Before(cutoff) || i == len(entries)-1 || k.decisions[e.Seq] || bake && k.releases[e.Release] {
			keep[e.Seq] = true
		}
	}
	for _, e := range entries {
		if e.Kind == api.EntryIntent && outcomeOf[e.Seq] == 0 {
			keep[e.Seq] = true
		}
	}
	// References point back (an outcome to its intent, an intent to its
	// decision), so one walk newest first reaches them: an outcome kept
	// keeps its intent before the walk gets to it, an intent its decision
	// and its outcome (whose only reference is that intent).
	for i := len(entries) - 1; i >= 0; i-- {
		e := entries[i]
		if !keep[e.Seq] {
			continue
		}
		switch e.Kind {
		case api.EntryOutcome:
			keep[e.Intent] = true
		case api.EntryIntent:
			keep[e.Decision] = true
			if o := outcomeOf[e.Seq]; o != 0 {
				keep[o] = true
			}
		}
	}
	var out []uint64
	for _, e := range entries {
		if !keep[e.Seq] {
			out = append(out, e.Seq)
		}
	}
	return out
}

// compactableTransitions lists the transitions of records the plan removes
// or that no longer exist, and, of the others, those older than the
// cutoff but the newest of each record.
func compactableTransitions(snap snapshot, plan retentionPlan, cutoff time.Time) []uint64 {
	exists := map[[2]string]bool{}
	for _, s := range snap.sets {
		exists[[2]string{kindInfraSet, s.ID}] = true
	}
	for _, ro := range snap.rollouts {
		exists[[2]string{kindRollout, ro.ID}] = true
	}
	gone := map[[2]string]bool{}
	for _, id := range plan.sets {
		gone[[2]string{kindInfraSet, id}] = true
	}
	for _, id := range plan.rollouts {
		gone[[2]string{kindRollout, id}] = true
	}
	ts := snap.transitions
	newest := map[[2]string]uint64{}
	for _, t := range ts {
		key := [2]string{t.Kind, t.ID}
		newest[key] = max(newest[key], t.Seq)
	}
	var out []uint64
	for _, t := range ts {
		key := [2]string{t.Kind, t.ID}
		if gone[key] || !exists[key] || (t.Time.Before(cutoff) && newest[key] != t.Seq) {
			out = append(out, t.Seq)
		}
	}
	return out
}
