package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"

	"github.com/durable-delivery/durable/journal"
)

// ErrLost ends a member's session: its lease expired (etcd unreachable
// for the lease's TTL, or the process paused that long), or a journal
// write found one of its keys gone. It registers again.
var ErrLost = errors.New("ownership lost")

// ErrShardCount refuses a member whose number of shards is not the
// deployment's.
var ErrShardCount = errors.New("the number of shards differs from the deployment's")

// MaxShards bounds a deployment's number of shards.
const MaxShards = 1024

// retryPause is the wait before registering again after a lost session.
const retryPause = time.Second

// resettle is how often a member reads the deployment again when no change
// was watched: a watch that broke does not leave shards unowned.
const resettle = time.Second

// Config is a member's part in a deployment.
type Config struct {
	// Client is the etcd client; the caller closes it after Run.
	Client *clientv3.Client
	// Prefix is the deployment's key prefix: members under "members/",
	// the shards' locks under "shards/N/", the number of shards at
	// "shard-count".
	Prefix string
	// Self is this member's name, as others and status show it.
	Self string
	// TTL is the lease's: a member that stops answering loses everything
	// it holds this long after its last keep-alive.
	TTL time.Duration
	// Shards is the deployment's number of shards, the same for every
	// member.
	Shards int
	Log    *slog.Logger
	// Seen, when set, is told every view read and what this member holds
	// then, for status and metrics.
	Seen func(View, Ownership)
}

// Term is what a member does while what it owns stays the same: it runs
// until ctx ends, which happens the moment the ownership changes or the
// lease ends; lost ends it at once (a fenced journal write). A term that
// fails for its own reasons ends Run.
type Term func(ctx context.Context, own Ownership, lost func()) error

// Run registers this member and runs a term for each ownership it holds,
// none while it owns no shard, until ctx ends; then it revokes its lease,
// so that the others take its shards at once.
func Run(ctx context.Context, cfg Config, t Term) error {
	if cfg.Shards < 1 || cfg.Shards > MaxShards {
		return fmt.Errorf("%d shards: give 1 to %d", cfg.Shards, MaxShards)
	}
	if cfg.TTL < time.Second {
		return fmt.Errorf("lease TTL %s: give at least 1s", cfg.TTL)
	}
	m := &member{cfg: cfg, keys: keys{prefix: cfg.Prefix}}
	for {
		err := m.session(ctx, t)
		if ctx.Err() != nil {
			return nil
		}
		if !errors.Is(err, ErrLost) {
			return err
		}
		cfg.Log.Warn("ownership lost: this reconciler stopped acting and registers again", "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(retryPause):
		}
	}
}

// member is one reconciler's part, across its sessions.
type member struct {
	cfg  Config
	keys keys
}

// holding is what a session holds: its lease, registration and locks, and
// the term running on them.
type holding struct {
	sess  *concurrency.Session
	own   Ownership
	locks map[int]*concurrency.Mutex
	term  *running
}

// session registers on a new lease and keeps the shards balanced until
// the lease ends (ErrLost), the term fails, or ctx ends.
func (m *member) session(ctx context.Context, t Term) error {
	h, err := m.register(ctx)
	if err != nil {
		return err
	}
	defer h.sess.Close() // revokes the lease: every key goes at once
	defer func() { h.term.stop() }()
	alive, lose := context.WithCancelCause(ctx)
	defer lose(nil)
	go m.watchRenewals(alive, lose, h.sess)
	// The members and the shards' locks only: the journal beside them
	// changes at every write, which must not make every member read the
	// deployment again.
	watched := clientv3.WithRequireLeader(alive)
	members := m.cfg.Client.Watch(watched, m.keys.members(), clientv3.WithPrefix())
	shards := m.cfg.Client.Watch(watched, m.keys.shards(), clientv3.WithPrefix())
	tick := time.NewTicker(resettle)
	defer tick.Stop()
	for {
		m.settle(alive, h, t)
		select {
		case <-alive.Done():
			if ctx.Err() != nil {
				return nil
			}
			return context.Cause(alive)
		case _, ok := <-members:
			if !ok {
				members = nil // the resettle tick goes on
			}
		case _, ok := <-shards:
			if !ok {
				shards = nil
			}
		case <-tick.C:
		case <-h.term.ended():
			err := h.term.err
			h.term = nil
			if err == nil {
				err = errors.New("the reconcile loop ended by itself")
			}
			return err
		}
	}
}

// watchRenewals ends ctx (lose) once the lease may be about to expire on
// etcd's side: when the session ends, or when no renewal of the lease was
// answered for two thirds of the TTL. etcd expires the lease one TTL after
// the last renewal it processed, which was before its answer arrived: a
// member cut off from etcd thus stops acting before another can hold its
// locks, as long as an answer took less than a third of the TTL to come
// back. The client renews every third of the TTL, so one late answer is
// not a loss.
func (m *member) watchRenewals(ctx context.Context, lose context.CancelCauseFunc, sess *concurrency.Session) {
	answers, err := m.cfg.Client.KeepAlive(ctx, sess.Lease())
	if err != nil {
		lose(fmt.Errorf("%w: keep the lease alive: %v", ErrLost, err))
		return
	}
	safe := m.cfg.TTL * 2 / 3
	timer := time.NewTimer(safe)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-sess.Done():
			lose(fmt.Errorf("%w: the lease expired (etcd unreachable or this process paused for %s)", ErrLost, m.cfg.TTL))
			return
		case _, ok := <-answers:
			if !ok {
				lose(fmt.Errorf("%w: the lease's keep-alive ended (the lease expired, or etcd unreachable)", ErrLost))
				return
			}
			timer.Reset(safe)
		case <-timer.C:
			err := fmt.Errorf("%w: no renewal of the lease answered for %s (two thirds of its TTL): this member stops acting before the lease can expire on etcd", ErrLost, safe)
			// Said now: what follows (the term's end, revoking the lease)
			// may wait on the etcd that does not answer.
			m.cfg.Log.Warn("stopped acting", "self", m.cfg.Self, "err", err)
			lose(err)
			return
		}
	}
}

// register grants a lease of the TTL (bounded in time, so that an
// unreachable etcd is a failure to retry), checks the number of shards,
// and registers this member on it.
func (m *member) register(ctx context.Context) (*holding, error) {
	ctx, cancel := context.WithTimeout(ctx, m.cfg.TTL)
	defer cancel()
	ttl := int64(m.cfg.TTL / time.Second)
	lease, err := m.cfg.Client.Grant(ctx, ttl)
	if err != nil {
		return nil, fmt.Errorf("%w: grant a lease: %v", ErrLost, err)
	}
	sess, err := concurrency.NewSession(m.cfg.Client, concurrency.WithLease(lease.ID), concurrency.WithTTL(int(ttl)))
	if err != nil {
		return nil, fmt.Errorf("%w: keep the lease alive: %v", ErrLost, err)
	}
	if err := agreeCount(ctx, m.cfg.Client, m.keys, m.cfg.Shards); err != nil {
		sess.Close()
		if errors.Is(err, ErrShardCount) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %v", ErrLost, err)
	}
	key := m.keys.member(fmt.Sprintf("%x", sess.Lease()))
	resp, err := m.cfg.Client.Put(ctx, key, m.cfg.Self, clientv3.WithLease(sess.Lease()))
	if err != nil {
		sess.Close()
		return nil, fmt.Errorf("%w: register as %s: %v", ErrLost, key, err)
	}
	m.cfg.Log.Info("registered as a member", "self", m.cfg.Self, "key", key, "shards", m.cfg.Shards, "ttl", m.cfg.TTL)
	own := Ownership{Prefix: m.cfg.Prefix, Count: m.cfg.Shards, Member: journal.Fence{Key: key, Revision: resp.Header.Revision},
		Shards: map[int]journal.Fence{}}
	return &holding{sess: sess, own: own, locks: map[int]*concurrency.Mutex{}}, nil
}

// settle reads the deployment, gives up and takes shards as rebalance
// says, and runs a term on what it then holds (none while it holds no
// shard). Acting stops before a shard is given up. A read that fails
// changes nothing: the lease decides.
func (m *member) settle(ctx context.Context, h *holding, t Term) {
	call, cancel := context.WithTimeout(ctx, m.cfg.TTL)
	defer cancel()
	v, err := readView(call, m.cfg.Client, m.keys)
	if err != nil {
		m.cfg.Log.Debug("read the deployment", "err", err)
		return
	}
	next := h.own
	next.Shards = maps.Clone(h.own.Shards)
	release, take := rebalance(m.cfg.Self, m.cfg.Shards, len(v.Members), h.own.Owned(), v.free(m.cfg.Shards))
	if len(release) > 0 {
		h.term.stop()
		h.term = nil
	}
	for _, i := range release {
		if err := h.locks[i].Unlock(call); err != nil {
			m.cfg.Log.Warn("give up a shard: another member takes it once this lease ends", "shard", i, "err", err)
		}
		delete(h.locks, i)
		delete(next.Shards, i)
	}
	for _, i := range take {
		if f, mu, ok := m.lock(call, h.sess, i); ok {
			h.locks[i], next.Shards[i] = mu, f
		}
	}
	if m.cfg.Seen != nil {
		m.cfg.Seen(v, next)
	}
	if h.term != nil && h.term.own.same(next) {
		return
	}
	h.term.stop()
	if next.Leads() && !h.own.Leads() {
		m.cfg.Log.Info("elected leader: this reconciler owns shard 0 and takes the revisions in", "self", m.cfg.Self, "key", next.Shards[0].Key, "revision", next.Shards[0].Revision)
	}
	h.own, h.term = next, nil
	m.cfg.Log.Info("shards owned", "self", m.cfg.Self, "shards", next.Owned(), "members", len(v.Members), "leader", next.Leads())
	if len(next.Shards) > 0 {
		h.term = start(ctx, next, t)
	}
}

// lock tries to take shard i now; ok false when another member holds it
// or etcd did not answer.
func (m *member) lock(ctx context.Context, sess *concurrency.Session, i int) (journal.Fence, *concurrency.Mutex, bool) {
	mu := concurrency.NewMutex(sess, m.keys.shard(i))
	if err := mu.TryLock(ctx); err != nil {
		if !errors.Is(err, concurrency.ErrLocked) {
			m.cfg.Log.Debug("take a shard", "shard", i, "err", err)
		}
		return journal.Fence{}, nil, false
	}
	resp, err := m.cfg.Client.Get(ctx, mu.Key())
	if err != nil || len(resp.Kvs) != 1 {
		m.cfg.Log.Debug("read a shard's lock", "shard", i, "err", err)
		_ = mu.Unlock(ctx)
		return journal.Fence{}, nil, false
	}
	return journal.Fence{Key: mu.Key(), Revision: resp.Kvs[0].CreateRevision}, mu, true
}

// running is a term in progress.
type running struct {
	own    Ownership
	cancel context.CancelCauseFunc
	done   chan struct{}
	err    error // once done is closed
}

// errStopped is the cause of a term stopped for a new ownership.
var errStopped = errors.New("the ownership changed")

// start runs t on own until ctx ends (the session's: watchRenewals ends
// it once the lease may expire), the term is stopped, or lost is called.
func start(ctx context.Context, own Ownership, t Term) *running {
	ctx, cancel := context.WithCancelCause(ctx)
	r := &running{own: own, cancel: cancel, done: make(chan struct{})}
	lost := func() {
		cancel(fmt.Errorf("%w: a journal write was fenced off (a shard of this reconciler's is another's now)", ErrLost))
	}
	go func() {
		defer close(r.done)
		err := t(ctx, own, lost)
		if cause := context.Cause(ctx); errors.Is(cause, ErrLost) {
			err = cause
		} else if errors.Is(cause, errStopped) || errors.Is(cause, context.Canceled) {
			err = nil
		}
		r.err = err
	}()
	return r
}

// stop ends the term and waits for it; nil does nothing.
func (r *running) stop() {
	if r == nil {
		return
	}
	r.cancel(errStopped)
	<-r.done
}

// ended is closed when the term ended; nil never is.
func (r *running) ended() <-chan struct{} {
	if r == nil {
		return nil
	}
	return r.done
}
