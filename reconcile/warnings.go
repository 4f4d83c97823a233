package reconcile

import (
	"context"
	"time"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/journal"
)

// startWarnings journals, once per start, each guarantee the operator
// started the reconciler without (Config.Warnings), and dates it for the
// status: an audit of the journal shows every stretch of time nothing was
// verified, or instances ran as root.
func (r *Reconciler) startWarnings(ctx context.Context) {
	now := time.Now()
	for i, w := range r.cfg.Warnings {
		r.log.Warn(w.Message, "reason", w.Reason)
		r.journal(ctx, journal.Entry{Kind: api.EntryEvent, Action: api.ActionWarning, Result: string(w.Reason), Message: w.Message})
		r.mu.Lock()
		r.cfg.Warnings[i].Since = now
		r.mu.Unlock()
	}
}

// warnings are the start's warnings, for the status.
func (r *Reconciler) warnings() []api.Warning {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]api.Warning(nil), r.cfg.Warnings...)
}
