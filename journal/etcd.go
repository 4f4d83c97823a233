package journal

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// DefaultEtcdPrefix is the key prefix of an etcd journal when none is given.
const DefaultEtcdPrefix = "/durable/journal/"

// DefaultEtcdRequestTimeout bounds a call of the etcd journal whose context
// has no deadline.
const DefaultEtcdRequestTimeout = 5 * time.Second

// DefaultEtcdMaxRecordBytes is the largest record (or entry) an etcd
// journal stores when EtcdConfig.MaxRecordBytes is zero: under etcd's
// default request limit (--max-request-bytes, 1.5 MiB) with room for the
// transition and counter written with it.
const DefaultEtcdMaxRecordBytes = 1 << 20

// etcdPage bounds the keys one read of a list fetches.
const etcdPage = 256

// maxWriteTries bounds the tries of a write whose transaction lost a race
// for a counter or a record to another writer.
const maxWriteTries = 1000

// ErrFenced is returned by every write of an etcd journal whose fence no
// longer holds: another reconciler owns the journal now, and the write was
// not made.
var ErrFenced = errors.New("journal write refused: this reconciler no longer owns the journal (its ownership key is gone or was taken over)")

// Fence is the ownership an etcd journal's writes are conditioned on: the
// key (the whole key, not under the journal's prefix) and its create
// revision when this reconciler took ownership, e.g. a
// concurrency.Election's Key() and Rev() after Campaign returned.
type Fence struct {
	Key      string
	Revision int64
}

// Write is what one write of the journal records: its kind and, for an
// infra-set, a rollout or an entry, the placement it is about. A
// deployment whose reconcilers divide the services among them chooses
// each write's fence from it (EtcdConfig.FenceFor).
type Write struct {
	Kind                        WriteKind
	Service, Stage, Target, Set string
}

// WriteKind is the kind of record a write puts (or, for a compaction,
// removes).
type WriteKind string

// The kinds of writes.
const (
	WriteRevision   WriteKind = "revision"
	WriteRelease    WriteKind = "release"
	WriteInfraSet   WriteKind = "infra-set"
	WriteRollout    WriteKind = "rollout"
	WriteEntry      WriteKind = "entry"
	WriteCompaction WriteKind = "compaction"
)

// EtcdConfig says where an etcd journal is kept and how it is written.
type EtcdConfig struct {
	// Client is the etcd client; the caller owns it and closes it after
	// the journal.
	Client *clientv3.Client
	// Prefix is the journal's key prefix (DefaultEtcdPrefix if empty); a
	// "/" is added when it does not end with one.
	Prefix string
	// Fence, when set, conditions every write on the ownership it names.
	Fence *Fence
	// FenceFor, when set (instead of Fence), chooses each write's fence:
	// the ownership of the shard the write belongs to. A write it gives
	// none for is refused (ErrFenced) without being tried.
	FenceFor func(Write) (Fence, bool)
	// RequestTimeout bounds each call whose context has no deadline
	// (DefaultEtcdRequestTimeout if 0).
	RequestTimeout time.Duration
	// MaxRecordBytes bounds one encoded record or entry
	// (DefaultEtcdMaxRecordBytes if 0, at most 16 MiB); raise it only
	// with etcd's --max-request-bytes.
	MaxRecordBytes int
}

// Etcd is the journal kept in etcd, for reconcilers that must survive
// their host. Each write is one etcd transaction, acknowledged by etcd
// (committed by a quorum) before the method returns. It keeps no cache of
// records: another process may write the same prefix. Reads are not
// fenced: a deposed owner reads what its successor wrote.
//
// It keeps every record under one key prefix (EtcdConfig.Prefix,
// DefaultEtcdPrefix when empty), as JSON encoded the way the bbolt
// journal encodes it:
//
//	PREFIX revisions/<commit>      storedRevision (desired state compressed)
//	PREFIX releases/<id>           Release
//	PREFIX infrasets/<id>          InfraSet
//	PREFIX rollouts/<id>           Rollout
//	PREFIX entries/<Seq>           Entry
//	PREFIX transitions/<Seq>       Transition
//	PREFIX compacted/<First>       SeqRange
//	PREFIX counters/entries        the last entry Seq assigned, decimal
//	PREFIX counters/transitions    the last transition Seq assigned, decimal
//
// Seqs in keys are 20 decimal digits, zero-padded, so that etcd's byte
// order of the keys is Seq order. Ids are used as they are (a rollout's id
// holds slashes; each kind is listed by its whole subtree).
//
// With a Fence, every write (compaction included) is conditioned on the
// ownership key still having the create revision the fence names: a
// reconciler deposed (its key deleted, or made anew by another) can write
// nothing, even if it has not noticed yet. With FenceFor, each write is
// conditioned on the fence it chooses for that write. Compaction deletes keys; etcd
// keeps their history until etcd itself is compacted.
type Etcd struct {
	kv     clientv3.KV
	prefix string
	// fenceFor is each write's fence; nil writes unfenced.
	fenceFor func(Write) (Fence, bool)
	timeout  time.Duration
	limit    int
	// entries and transitions are the Seq counters as last seen, each
	// behind its own lock: one writer of this process at a time tries
	// the next Seq, so that only another process can make it try again.
	entries, transitions counter
	// seen holds, under transitions.mu, the infra-sets and rollouts this
	// store read or wrote, as it last saw them.
	seen map[string]recordSeen
	// compacting lets one compaction of this store run at a time.
	compacting sync.Mutex
}

var _ Store = (*Etcd)(nil)

// counter is a Seq counter key as last read or written.
type counter struct {
	mu  sync.Mutex
	key string
	// last is the last Seq assigned; rev the counter key's mod revision
	// then (0: the key does not exist).
	last uint64
	rev  int64
}

// OpenEtcd opens the journal under cfg.Prefix, reading its counters (and,
// with a fence, checking that it holds: ErrFenced otherwise).
func OpenEtcd(ctx context.Context, cfg EtcdConfig) (*Etcd, error) {
	if cfg.Client == nil {
		return nil, errors.New("open the etcd journal: no client given; make one with clientv3.New and the cluster's endpoints")
	}
	if err := checkEtcdConfig(cfg); err != nil {
		return nil, fmt.Errorf("open the etcd journal: %w", err)
	}
	s := &Etcd{kv: cfg.Client.KV, prefix: cmpOr(cfg.Prefix, DefaultEtcdPrefix), fenceFor: cfg.FenceFor,
		timeout: cmpOr(cfg.RequestTimeout, DefaultEtcdRequestTimeout), limit: cmpOr(cfg.MaxRecordBytes, DefaultEtcdMaxRecordBytes),
		seen: map[string]recordSeen{}}
	if !strings.HasSuffix(s.prefix, "/") {
		s.prefix += "/"
	}
	s.entries.key, s.transitions.key = s.prefix+"counters/entries", s.prefix+"counters/transitions"
	ctx, cancel := s.bound(ctx)
	defer cancel()
	ops := []clientv3.Op{clientv3.OpGet(s.entries.key), clientv3.OpGet(s.transitions.key)}
	if f := cfg.Fence; f != nil {
		s.fenceFor = func(Write) (Fence, bool) { return *f, true }
		ops = append(ops, clientv3.OpGet(f.Key))
	}
	resp, err := s.kv.Txn(ctx).Then(ops...).Commit()
	if err != nil {
		return nil, fmt.Errorf("open the etcd journal under %s: %w", s.prefix, err)
	}
	for i, c := range []*counter{&s.entries, &s.transitions} {
		if err := c.saw(resp.Responses[i].GetResponseRange().Kvs); err != nil {
			return nil, fmt.Errorf("open the etcd journal under %s: %w", s.prefix, err)
		}
	}
	if cfg.Fence != nil && !cfg.Fence.holds(resp.Responses[2].GetResponseRange().Kvs) {
		return nil, fmt.Errorf("open the etcd journal under %s: %w", s.prefix, ErrFenced)
	}
	return s, nil
}

func checkEtcdConfig(cfg EtcdConfig) error {
	switch {
	case cfg.RequestTimeout < 0:
		return fmt.Errorf("request timeout %s is negative; use 0 for the default (%s)", cfg.RequestTimeout, DefaultEtcdRequestTimeout)
	case cfg.MaxRecordBytes < 0 || cfg.MaxRecordBytes > maxRecordBytes:
		return fmt.Errorf("largest record %d bytes is not between 0 (the default, %d) and %d", cfg.MaxRecordBytes, DefaultEtcdMaxRecordBytes, maxRecordBytes)
	case cfg.Fence != nil && cfg.FenceFor != nil:
		return errors.New("both a fence and a fence chooser given: give one")
	case cfg.Fence != nil && (cfg.Fence.Key == "" || cfg.Fence.Revision <= 0):
		return fmt.Errorf("fence %q at revision %d: a fence needs the ownership key and its create revision (above 0)", cfg.Fence.Key, cfg.Fence.Revision)
	}
	return nil
}

func cmpOr[T comparable](v, fallback T) T {
	var zero T
	if v == zero {
		return fallback
	}
	return v
}

// Prefix is the journal's key prefix, ending in "/".
func (s *Etcd) Prefix() string { return s.prefix }

// Close does nothing: the client is the caller's to close.
func (s *Etcd) Close() error { return nil }

// bound is ctx with the request timeout when it has no deadline.
func (s *Etcd) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, s.timeout)
}

// holds reports whether the ownership key, as read, is still the fence's.
func (f *Fence) holds(kvs []*mvccpb.KeyValue) bool {
	return len(kvs) == 1 && kvs[0].CreateRevision == f.Revision
}

// write commits one transaction, w: its puts if cmps hold (and w's fence,
// if any), else its reads. It returns the response, or ErrFenced when the
// fence failed or w has none.
func (s *Etcd) write(ctx context.Context, w Write, cmps []clientv3.Cmp, puts, reads []clientv3.Op) (*clientv3.TxnResponse, error) {
	var fence *Fence
	if s.fenceFor != nil {
		f, ok := s.fenceFor(w)
		if !ok {
			return nil, fmt.Errorf("%w: no ownership of this reconciler covers this write (%s)", ErrFenced, w)
		}
		fence = &f
		cmps = append(cmps, clientv3.Compare(clientv3.CreateRevision(fence.Key), "=", fence.Revision))
		reads = append(reads, clientv3.OpGet(fence.Key))
	}
	resp, err := s.kv.Txn(ctx).If(cmps...).Then(puts...).Else(reads...).Commit()
	if err != nil {
		return nil, err
	}
	if !resp.Succeeded && fence != nil && !fence.holds(resp.Responses[len(resp.Responses)-1].GetResponseRange().Kvs) {
		return nil, ErrFenced
	}
	return resp, nil
}

// String names a write in errors: its kind and placement.
func (w Write) String() string {
	out := string(w.Kind)
	for _, part := range []string{w.Service, w.Stage, w.Target, w.Set} {
		if part != "" {
			out += " " + part
		}
	}
	return out
}

// saw records the counter key as read (absent: no Seq assigned yet).
func (c *counter) saw(kvs []*mvccpb.KeyValue) error {
	if len(kvs) == 0 {
		c.last, c.rev = 0, 0
		return nil
	}
	last, err := strconv.ParseUint(string(kvs[0].Value), 10, 64)
	if err != nil {
		return fmt.Errorf("counter %s holds %.40q, not a sequence number: the journal is damaged", kvs[0].Key, kvs[0].Value)
	}
	c.last, c.rev = last, kvs[0].ModRevision
	return nil
}

// next is the condition and the put that assign Seq c.last+1 in a
// transaction, and the read that refreshes c when it fails.
func (c *counter) next() (clientv3.Cmp, clientv3.Op, clientv3.Op) {
	return clientv3.Compare(clientv3.ModRevision(c.key), "=", c.rev),
		clientv3.OpPut(c.key, strconv.FormatUint(c.last+1, 10)),
		clientv3.OpGet(c.key)
}

// seqName is a Seq as it appears in keys.
func seqName(seq uint64) string { return fmt.Sprintf("%020d", seq) }
