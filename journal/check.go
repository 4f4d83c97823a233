package journal

import (
	"context"
	"fmt"
	"slices"

	"github.com/durable-delivery/durable/api"
)

// Check replays a journal and reports every breach of its invariants, one
// line each: an entry out of sequence (a gap is allowed only where the
// retention recorded a compacted range); an action on a target that no earlier
// decision allowed or that is not a target action; an outcome that answers no
// earlier intent of the same action and set, or answers one twice; and an
// infra-set state or a rollout phase that changed in a way its state machine
// does not allow. An intent without an outcome is not a breach: it is what a
// reconciler killed mid-action leaves, and what its next pass completes.
func Check(ctx context.Context, st Store) ([]string, error) {
	entries, err := st.Entries(ctx, 0, 0)
	if err != nil {
		return nil, err
	}
	transitions, err := st.Transitions(ctx)
	if err != nil {
		return nil, err
	}
	compacted, err := st.Compacted(ctx)
	if err != nil {
		return nil, err
	}
	problems := checkEntries(entries, compacted)
	for _, t := range transitions {
		if !t.legal() {
			problems = append(problems, fmt.Sprintf("transition #%d: %s %s went from %q to %q, which its state machine does not allow", t.Seq, t.Kind, t.ID, t.From, t.To))
		}
	}
	return problems, nil
}

func checkEntries(entries []Entry, compacted []SeqRange) []string {
	var problems []string
	bySeq := make(map[uint64]Entry, len(entries))
	answered := map[uint64]uint64{}
	next := uint64(1)
	for _, e := range entries {
		for len(compacted) > 0 && compacted[0].First <= next {
			if compacted[0].First == next {
				next = compacted[0].Last + 1
			} else {
				problems = append(problems, fmt.Sprintf("compacted range #%d–#%d overlaps entries kept before it: the journal's record of its compactions is damaged", compacted[0].First, compacted[0].Last))
			}
			compacted = compacted[1:]
		}
		if e.Seq != next {
			problems = append(problems, fmt.Sprintf("entry #%d comes where #%d was expected: the journal's sequence has a gap or a repeat that no compaction explains", e.Seq, next))
		}
		next = e.Seq + 1
		bySeq[e.Seq] = e
		switch e.Kind {
		case api.EntryIntent:
			problems = append(problems, checkIntent(e, bySeq)...)
		case api.EntryOutcome:
			if p := checkOutcome(e, bySeq, answered); p != "" {
				problems = append(problems, p)
			}
		}
	}
	return problems
}

func checkIntent(e Entry, bySeq map[uint64]Entry) []string {
	var problems []string
	if !slices.Contains(api.TargetActions, e.Action) {
		problems = append(problems, fmt.Sprintf("intent #%d: action %q is not an action on a target", e.Seq, e.Action))
	}
	if d, ok := bySeq[e.Decision]; !ok || d.Kind != api.EntryDecision || e.Decision >= e.Seq {
		problems = append(problems, fmt.Sprintf("intent #%d (%s %s): cites decision #%d, which is no earlier decision", e.Seq, e.Action, e.Set, e.Decision))
	}
	return problems
}

func checkOutcome(e Entry, bySeq map[uint64]Entry, answered map[uint64]uint64) string {
	in, ok := bySeq[e.Intent]
	switch {
	case !ok || in.Kind != api.EntryIntent || e.Intent >= e.Seq:
		return fmt.Sprintf("outcome #%d (%s %s): answers #%d, which is no earlier intent: an action without an intent", e.Seq, e.Action, e.Set, e.Intent)
	case in.Action != e.Action || in.Set != e.Set:
		return fmt.Sprintf("outcome #%d (%s %s): answers intent #%d, which is %s %s", e.Seq, e.Action, e.Set, e.Intent, in.Action, in.Set)
	case answered[e.Intent] != 0:
		return fmt.Sprintf("outcome #%d: intent #%d already has outcome #%d", e.Seq, e.Intent, answered[e.Intent])
	}
	answered[e.Intent] = e.Seq
	return ""
}
