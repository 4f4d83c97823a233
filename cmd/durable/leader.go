package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"

	"github.com/durable-delivery/durable/journal"
)

// errLeadershipLost ends a leader's term: its lease expired (etcd
// unreachable for the lease's TTL, or the process paused that long), or a
// journal write found its fence gone.
var errLeadershipLost = errors.New("leadership lost")

// errCampaign ends a standby's campaign before it could win: etcd
// unreachable, or its lease expired while it waited. It stands again.
var errCampaign = errors.New("cannot stand for election")

// retryPause is the wait before campaigning again after a failed try
// (etcd unreachable): short, since a standby is useless until it can.
const retryPause = time.Second

// term is what a leader does while it leads: it runs until ctx ends, and
// calls lost when it finds its leadership gone (a fenced journal write),
// which ends ctx at once.
type term func(ctx context.Context, fence journal.Fence, lost func()) error

// elector is a reconciler's part in the election among the reconcilers
// sharing one etcd and prefix. Invariant: a term runs only between the
// win of a campaign and the loss of its session; its context ends the
// moment the session ends, and the journal it is given writes only while
// the election key it won still exists with the revision it won it at.
type elector struct {
	client *clientv3.Client
	prefix string
	self   string
	ttl    time.Duration
	log    *slog.Logger
	role   *leadership
}

// run campaigns and runs a term each time it is elected, until ctx ends;
// then it resigns, so that a standby takes over at once.
func (e *elector) run(ctx context.Context, t term) error {
	for {
		err := e.once(ctx, t)
		if ctx.Err() != nil {
			return nil
		}
		switch {
		case errors.Is(err, errLeadershipLost):
			e.log.Warn("leadership lost: this reconciler stopped acting and stands by again", "err", err)
		case errors.Is(err, errCampaign):
			e.log.Warn("standing for election again", "err", err)
		case err != nil:
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(retryPause):
		}
	}
}

// once runs one session: a campaign, and the term when it wins. A term
// that fails for its own reasons ends durable run, as it does without an
// election.
func (e *elector) once(ctx context.Context, t term) error {
	sess, err := e.session(ctx)
	if err != nil {
		return fmt.Errorf("%w: %v", errCampaign, err)
	}
	defer sess.Close()
	el := concurrency.NewElection(sess, e.prefix)
	if err := e.campaign(ctx, sess, el); err != nil {
		return err
	}
	fence := journal.Fence{Key: el.Key(), Revision: el.Rev()}
	termCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go func() {
		select {
		case <-sess.Done():
			cancel(fmt.Errorf("%w: the lease expired (etcd unreachable or this process paused for %s)", errLeadershipLost, e.ttl))
		case <-termCtx.Done():
		}
	}()
	lost := func() {
		cancel(fmt.Errorf("%w: a journal write was fenced off (another reconciler holds the election)", errLeadershipLost))
	}
	e.role.lead(e.self)
	e.log.Info("elected leader: this reconciler acts", "self", e.self, "key", el.Key(), "revision", el.Rev())
	err = t(termCtx, fence, lost)
	e.role.standBy("")
	if ctx.Err() != nil {
		e.resign(el)
		return nil
	}
	if cause := context.Cause(termCtx); errors.Is(cause, errLeadershipLost) {
		return cause
	}
	return err
}

// session grants a lease of the TTL, bounded in time so that an
// unreachable etcd is a failure to retry, and keeps it alive.
func (e *elector) session(ctx context.Context) (*concurrency.Session, error) {
	grantCtx, cancel := context.WithTimeout(ctx, e.ttl)
	defer cancel()
	lease, err := e.client.Grant(grantCtx, int64(e.ttl/time.Second))
	if err != nil {
		return nil, fmt.Errorf("grant a lease: %w", err)
	}
	return concurrency.NewSession(e.client, concurrency.WithLease(lease.ID), concurrency.WithTTL(int(e.ttl/time.Second)))
}

// campaign waits to be elected, following who leads meanwhile; a session
// lost while waiting ends it.
func (e *elector) campaign(ctx context.Context, sess *concurrency.Session, el *concurrency.Election) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-sess.Done():
			cancel()
		case <-ctx.Done():
		}
	}()
	followed := make(chan struct{})
	go func() {
		defer close(followed)
		e.follow(ctx, el)
	}()
	// The follower ends before the term starts: a leader it saw late must
	// not turn the new term back into a standby's.
	defer func() {
		cancel()
		<-followed
	}()
	if err := el.Campaign(ctx, e.self); err != nil {
		if sessionDone(sess) {
			return fmt.Errorf("%w: the lease expired while standing by", errCampaign)
		}
		return fmt.Errorf("%w: campaign: %v", errCampaign, err)
	}
	if sessionDone(sess) {
		return fmt.Errorf("%w: the lease expired as it was elected", errCampaign)
	}
	return nil
}

// follow keeps the standby's view of who leads until ctx ends.
func (e *elector) follow(ctx context.Context, el *concurrency.Election) {
	for resp := range el.Observe(ctx) {
		if len(resp.Kvs) == 0 || string(resp.Kvs[0].Value) == e.self {
			continue
		}
		leader := string(resp.Kvs[0].Value)
		e.role.standBy(leader)
		e.log.Info("standing by: another reconciler leads", "self", e.self, "leader", leader)
	}
}

// resign gives the election up so that a standby need not wait for the
// lease to expire.
func (e *elector) resign(el *concurrency.Election) {
	ctx, cancel := context.WithTimeout(context.Background(), e.ttl)
	defer cancel()
	if err := el.Resign(ctx); err != nil {
		e.log.Warn("resign the leadership: a standby takes over once the lease expires", "err", err, "ttl", e.ttl)
		return
	}
	e.log.Info("resigned the leadership")
}

func sessionDone(s *concurrency.Session) bool {
	select {
	case <-s.Done():
		return true
	default:
		return false
	}
}
