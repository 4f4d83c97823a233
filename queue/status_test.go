package queue

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/durable-delivery/durable/api"
)

var allStates = []State{Queued, Validating, Landing, Landed, Ejected, Removed}

// Every state of a proposal is one the status's wire type names, so that
// a client switching on api.ProposalState never meets another.
func TestEveryStateHasItsWireState(t *testing.T) {
	wire := []api.ProposalState{api.ProposalQueued, api.ProposalValidating, api.ProposalLanding, api.ProposalLanded, api.ProposalEjected, api.ProposalRemoved}
	for _, s := range allStates {
		if !slices.Contains(wire, api.ProposalState(s)) {
			t.Errorf("state %q has no api.ProposalState", s)
		}
	}
}

// StatusOf agrees with the queue as a person reads it, on generated
// queues of every shape: the records in any order, from none to more
// ended than a status shows. The expectation is computed another way:
// the live proposals by sequence, numbered; the newest ended ones kept.
func TestStatusOfShowsTheLiveInOrderAndTheNewestEnded(t *testing.T) {
	rng := rand.New(rand.NewPCG(22, 1))
	at := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	for n := range 300 {
		var ps []Proposal
		for i := range rng.IntN(3 * api.RecentEnded) {
			p := Proposal{Seq: uint64(i*3 + 1 + rng.IntN(3)), Branch: "queue/b" + strings.Repeat("x", i%4), Head: "c0ffee",
				Added: at.Add(time.Duration(i) * time.Second), State: allStates[rng.IntN(len(allStates))]}
			if p.State == Ejected {
				p.Reason, p.Reasons = ReasonAdmission, []string{"denied: web needs two replicas"}
			}
			ps = append(ps, p)
		}
		rng.Shuffle(len(ps), func(i, j int) { ps[i], ps[j] = ps[j], ps[i] })
		got := StatusOf(ps)
		if want := expectedStatus(ps); !reflect.DeepEqual(got, want) {
			t.Fatalf("case %d, %d proposals:\n got %+v\nwant %+v", n, len(ps), got, want)
		}
	}
}

func expectedStatus(ps []Proposal) api.QueueStatus {
	bySeq := map[uint64]Proposal{}
	var seqs, ended []uint64
	for _, p := range ps {
		bySeq[p.Seq] = p
		seqs = append(seqs, p.Seq)
		if p.State.Terminal() {
			ended = append(ended, p.Seq)
		}
	}
	slices.Sort(seqs)
	slices.Sort(ended)
	shown := ended[max(0, len(ended)-api.RecentEnded):]
	want := api.QueueStatus{Proposals: []api.QueueProposal{}}
	for _, seq := range seqs {
		p := bySeq[seq]
		pos := 0
		if !p.State.Terminal() {
			want.Waiting++
			pos = want.Waiting
		} else if !slices.Contains(shown, seq) {
			continue
		}
		want.Proposals = append(want.Proposals, api.QueueProposal{Seq: seq, Branch: p.Branch, Head: p.Head, State: api.ProposalState(p.State),
			Position: pos, Added: p.Added, Since: p.Since, Reason: string(p.Reason), Reasons: p.Reasons, Candidate: p.Candidate, Method: p.Method})
	}
	return want
}

// A state file that is not a queue's shows in the status's Error, which
// names the file, instead of failing the reconciler's whole status.
func TestStatusOfABrokenStateSaysWhy(t *testing.T) {
	dir := t.TempDir()
	st, err := OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Add("queue/web", "c0ffee", time.Now()); err != nil {
		t.Fatal(err)
	}
	if s := st.Status(); s.Error != "" || s.Waiting != 1 || len(s.Proposals) != 1 || s.Proposals[0].Position != 1 {
		t.Fatalf("status of one queued proposal: %+v", s)
	}
	file := filepath.Join(dir, StateFile)
	if err := os.WriteFile(file, []byte(strings.Repeat("not bbolt ", 1000)), 0o600); err != nil {
		t.Fatal(err)
	}
	s := st.Status()
	if !strings.Contains(s.Error, file) || !strings.Contains(s.Error, "not a queue's state file") || len(s.Proposals) != 0 {
		t.Fatalf("status of a broken state file: %+v", s)
	}
}

// BenchmarkStoreStatus is what GET /v1/status adds under durable run
// --queue: one read of the state file, with 50 proposals kept.
func BenchmarkStoreStatus(b *testing.B) {
	st, err := OpenStore(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	for i := range 50 {
		if _, err := st.Add("queue/b"+strings.Repeat("x", i), "c0ffee", time.Now()); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for b.Loop() {
		if s := st.Status(); s.Error != "" || s.Waiting != 50 {
			b.Fatalf("%+v", s)
		}
	}
}
