package e2etest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/durable-delivery/durable/adapters"
	"github.com/durable-delivery/durable/adapters/process"
	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/journal"
)

// WaitFor polls cond until it holds or the deadline passes.
func WaitFor(ctx context.Context, t testing.TB, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// HasSetInState reports whether any placement of s has a set in state.
func HasSetInState(s api.Status, state api.SetState) bool {
	for _, svc := range s.Services {
		for _, pl := range svc.Placements {
			for _, set := range pl.Sets {
				if set.State == state {
					return true
				}
			}
		}
	}
	return false
}

// SetByID is the set of the placement with the given id, or nil.
func SetByID(p api.PlacementStatus, id string) *api.SetStatus {
	for i := range p.Sets {
		if p.Sets[i].ID == id {
			return &p.Sets[i]
		}
	}
	return nil
}

// RunningAsJournaled observes the process runtime and fails the test when
// a set runs that the journal does not have in one of the states, or when a
// set runs an instance twice. It returns what runs.
func RunningAsJournaled(ctx context.Context, t *testing.T, f *Fixture, s api.Status, states ...api.SetState) []adapters.InfraSetStatus {
	t.Helper()
	observed, err := f.RunningProblem(ctx, s, states...)
	if err != nil {
		t.Fatal(err)
	}
	return observed
}

// RunningProblem observes the process runtime and says, as an error, what
// breaks the rule RunningAsJournaled checks: a set that runs and that the
// journal does not have in one of the states, or an instance run twice.
func (f *Fixture) RunningProblem(ctx context.Context, s api.Status, states ...api.SetState) ([]adapters.InfraSetStatus, error) {
	observed, err := f.observeRuntime(ctx)
	if err != nil {
		return nil, err
	}
	return observed, runningProblem(observed, s, states)
}

// observeRuntime is what the reconciler's process runtime runs.
func (f *Fixture) observeRuntime(ctx context.Context) ([]adapters.InfraSetStatus, error) {
	rt, err := process.New(process.Config{Root: f.ProcessRoot()})
	if err != nil {
		return nil, fmt.Errorf("open the process runtime: %w", err)
	}
	observed, err := rt.Observe(ctx)
	if err != nil {
		return nil, fmt.Errorf("observe the process runtime: %w", err)
	}
	return observed, nil
}

// runningProblem is RunningProblem's rule on what was observed.
func runningProblem(observed []adapters.InfraSetStatus, s api.Status, states []api.SetState) error {
	journaled := map[string]api.SetState{}
	for _, svc := range s.Services {
		for _, pl := range svc.Placements {
			for _, set := range pl.Sets {
				journaled[set.ID] = set.State
			}
		}
	}
	for _, o := range observed {
		if !slices.Contains(states, journaled[o.ID]) {
			return fmt.Errorf("infra-set %s runs but the journal has it as %q", o.ID, journaled[o.ID])
		}
		seen := map[int]bool{}
		for _, in := range o.Instances {
			if seen[in.Index] {
				return fmt.Errorf("infra-set %s runs instance %d twice", o.ID, in.Index)
			}
			seen[in.Index] = true
		}
	}
	return nil
}

// FreeAddr returns a 127.0.0.1 address with a port free at the time of the
// call, for a child process (HAProxy, Prometheus) to listen on.
func FreeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// CheckJournal replays the journal the reconciler left, once it stopped,
// and fails the test on any breach of its invariants (journal.Check): an
// action without an intent, an intent no decision allowed, a set state or a
// rollout phase changed against its state machine.
func (f *Fixture) CheckJournal() {
	path := filepath.Join(f.Dir, "state", "journal.db")
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return // no reconciler ran: no journal to check
	}
	st, err := journal.OpenBolt(path, journal.BoltOptions{ReadOnly: true})
	if err != nil {
		f.t.Errorf("open the journal to check it: %v", err)
		return
	}
	defer st.Close()
	problems, err := journal.Check(context.Background(), st)
	if err != nil {
		f.t.Errorf("check the journal: %v", err)
	}
	for _, p := range problems {
		f.t.Errorf("journal: %s", p)
	}
}
