package reconcile

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/durable-delivery/durable/adapters"
)

// errStillEnsuring is a runtime call that outlived the wait a pass gives
// it: it goes on in the background (see pendingEnsures).
var errStillEnsuring = errors.New("the runtime is still at it")

// ensureWait is how long a pass waits for a runtime's Ensure before leaving
// it to finish in the background; a newer revision ends the wait at once.
const ensureWait = 2 * time.Second

// pendingEnsures are the runtime calls that outlived their pass: a pull
// from a slow or hung registry goes on in the background, bounded by the
// service's progress deadline, while the loop converges everything else,
// so a revert to a warm set never waits behind it. The set is not healthy
// meanwhile (its rollout waits, then fails at its progress deadline); the
// pass that finds the call finished takes its result. At most one call per
// infra-set is in flight. Calls end with Run (their context is Run's).
type pendingEnsures struct {
	mu   sync.Mutex
	byID map[string]*pendingEnsure
	wg   sync.WaitGroup
}

type pendingEnsure struct {
	started time.Time
	done    chan struct{}
	status  adapters.InfraSetStatus
	err     error
}

// ensure calls rt.Ensure for spec, or takes the result of the call still
// in flight for the set. It waits for the call up to ensureWait, or until
// news is closed (a newer revision), then returns errStillEnsuring. base
// is the context background calls run in; deadline bounds each call.
func (pe *pendingEnsures) ensure(base context.Context, news <-chan struct{}, rt adapters.Runtime, spec adapters.InfraSetSpec, deadline time.Duration) (adapters.InfraSetStatus, error) {
	pe.mu.Lock()
	call, inFlight := pe.byID[spec.ID]
	if !inFlight {
		call = &pendingEnsure{started: time.Now(), done: make(chan struct{})}
		if pe.byID == nil {
			pe.byID = map[string]*pendingEnsure{}
		}
		pe.byID[spec.ID] = call
		pe.wg.Add(1)
		go func() {
			defer pe.wg.Done()
			ctx, cancel := context.WithTimeout(base, deadline)
			defer cancel()
			call.status, call.err = rt.Ensure(ctx, spec)
			close(call.done)
		}()
	}
	pe.mu.Unlock()
	if inFlight {
		select { // asked already: a pass does not wait twice
		case <-call.done:
			return pe.take(spec.ID, call)
		default:
			return stillEnsuring(spec, call)
		}
	}
	timer := time.NewTimer(ensureWait)
	defer timer.Stop()
	select {
	case <-call.done:
		return pe.take(spec.ID, call)
	case <-timer.C:
	case <-news:
	}
	select { // a call that ended as the wait did is taken, not left for the next pass
	case <-call.done:
		return pe.take(spec.ID, call)
	default:
		return stillEnsuring(spec, call)
	}
}

// take returns a finished call's result and forgets the call.
func (pe *pendingEnsures) take(id string, call *pendingEnsure) (adapters.InfraSetStatus, error) {
	pe.mu.Lock()
	delete(pe.byID, id)
	pe.mu.Unlock()
	return call.status, call.err
}

func stillEnsuring(spec adapters.InfraSetSpec, call *pendingEnsure) (adapters.InfraSetStatus, error) {
	return adapters.InfraSetStatus{ID: spec.ID, Service: spec.Service, Release: spec.Release},
		fmt.Errorf("ensure %s: running for %s: %w", spec.ID, time.Since(call.started).Round(time.Second), errStillEnsuring)
}

// wait waits for the calls in flight, which end with their context.
func (pe *pendingEnsures) wait() { pe.wg.Wait() }
