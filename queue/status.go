package queue

import (
	"cmp"
	"slices"

	"github.com/durable-delivery/durable/api"
)

// Status reads the queue as a reconciler's status shows it (api.Status's
// Queue); a store that cannot be read is said in its Error.
func (s *Store) Status() api.QueueStatus {
	ps, err := s.List()
	if err != nil {
		return api.QueueStatus{Proposals: []api.QueueProposal{}, Error: err.Error()}
	}
	return StatusOf(ps)
}

// StatusOf is ps, in queue order, as a status shows them: every live
// proposal with its position, and the newest api.RecentEnded that ended.
func StatusOf(ps []Proposal) api.QueueStatus {
	ps = slices.Clone(ps)
	slices.SortFunc(ps, func(a, b Proposal) int { return cmp.Compare(a.Seq, b.Seq) })
	ended := len(ps) - Live(ps)
	out := api.QueueStatus{Proposals: []api.QueueProposal{}}
	for _, p := range ps {
		v := api.QueueProposal{Seq: p.Seq, Branch: p.Branch, Head: p.Head, State: api.ProposalState(p.State), Added: p.Added, Since: p.Since,
			Reason: string(p.Reason), Reasons: p.Reasons, Candidate: p.Candidate, Method: p.Method}
		if p.State.Terminal() {
			if ended--; ended >= api.RecentEnded {
				continue
			}
		} else {
			out.Waiting++
			v.Position = out.Waiting
		}
		out.Proposals = append(out.Proposals, v)
	}
	return out
}
