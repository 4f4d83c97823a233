package reconcile

import (
	"context"
	"fmt"

	"github.com/durable-delivery/durable/journal"
	"github.com/durable-delivery/durable/secrets/redact"
)

// redactedStore is the journal as the reconciler writes it: every record
// has the resolved secrets' values (and their encodings) redacted before it
// is kept, whatever field an adapter's error reached — the one way into
// the journal, and so into the API that reads it.
type redactedStore struct {
	journal.Store
	r *redact.Redactor
}

// clean redacts v, or refuses to keep a record that could not be redacted.
func clean[T any](s redactedStore, what string, v T) (T, error) {
	out, ok := redact.Value(s.r, v)
	if !ok {
		return v, fmt.Errorf("journal %s: it could not be checked for secret values, and is not kept", what)
	}
	return out, nil
}

func (s redactedStore) PutRevision(ctx context.Context, r journal.Revision) error {
	r, err := clean(s, "revision", r)
	if err != nil {
		return err
	}
	return s.Store.PutRevision(ctx, r)
}

func (s redactedStore) PutRelease(ctx context.Context, r journal.Release) error {
	r, err := clean(s, "release", r)
	if err != nil {
		return err
	}
	return s.Store.PutRelease(ctx, r)
}

func (s redactedStore) PutInfraSet(ctx context.Context, set journal.InfraSet) error {
	set, err := clean(s, "infra-set", set)
	if err != nil {
		return err
	}
	return s.Store.PutInfraSet(ctx, set)
}

func (s redactedStore) PutRollout(ctx context.Context, r journal.Rollout) error {
	r, err := clean(s, "rollout", r)
	if err != nil {
		return err
	}
	return s.Store.PutRollout(ctx, r)
}

func (s redactedStore) Append(ctx context.Context, e journal.Entry) (journal.Entry, error) {
	e, err := clean(s, "entry", e)
	if err != nil {
		return e, err
	}
	return s.Store.Append(ctx, e)
}
