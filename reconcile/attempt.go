package reconcile

import (
	"bytes"
	"encoding/json"
	"maps"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/journal"
	"github.com/durable-delivery/durable/schema"
)

// A failed release is not retried "until a new revision". A revision that
// changes holds and nothing else (a hold set, or lifted) is not one: lifting the
// hold of a release only lets its rollout go on, and a rollout that then
// fails must not start again on the very next pass. So each accepted
// revision has an attempt: its own commit, or, when it changed nothing but
// holds since the revision before it, that revision's attempt. A failed
// rollout records the attempt it failed in (api.Rollout.FailedIn) and
// starts again only at another.

// attemptOf is the attempt of an accepted revision; revisions journaled
// before attempts existed are their own.
func attemptOf(rev journal.Revision) string {
	if rev.Attempt != "" {
		return rev.Attempt
	}
	return rev.Commit
}

// holdOnly reports whether revision next, with desired state ds, changed
// a hold since prev, with desired state old, and nothing else: same desired
// state otherwise, same repository policies, same approvals. A commit that
// changes nothing at all is a new attempt, as it always was: the way to
// retry a failed release without changing it.
func holdOnly(prev journal.Revision, old *schema.DesiredState, next journal.Revision, ds *schema.DesiredState) bool {
	if old == nil || prev.Commit == "" || !maps.Equal(prev.Policies, next.Policies) || !bytes.Equal(prev.Approvals, next.Approvals) {
		return false
	}
	held := func(ds *schema.DesiredState) map[string]bool {
		out := map[string]bool{}
		for name, svc := range ds.Services {
			out[name] = svc.Hold
		}
		return out
	}
	if maps.Equal(held(old), held(ds)) {
		return false // no hold changed: the states need not be compared (20 MB of JSON at 10,000 services)
	}
	a, errA := json.Marshal(withoutHolds(*old))
	b, errB := json.Marshal(withoutHolds(*ds))
	return errA == nil && errB == nil && bytes.Equal(a, b)
}

// withoutHolds is ds with every service's hold false; ds is not modified.
func withoutHolds(ds schema.DesiredState) schema.DesiredState {
	ds.Services = maps.Clone(ds.Services)
	for name, svc := range ds.Services {
		svc.Hold = false
		ds.Services[name] = svc
	}
	return ds
}

// failedHere reports whether rec is a rollout that failed in the
// placement's attempt: it is not started again.
func (p placement) failedHere(rec journal.Rollout) bool {
	failedIn := rec.FailedIn
	if failedIn == "" {
		failedIn = rec.Revision // journaled before FailedIn existed
	}
	return rec.Phase == api.RolloutFailed && failedIn == p.attempt
}
