package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/internal/etcdtest"
	"github.com/durable-delivery/durable/journal"
)

const testPrefix = "/cluster-test/"

type testLog struct{ t testing.TB }

func (w testLog) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// fleetWatch records the terms of several members: which member runs a
// term on which shards, and any two terms that overlapped on a shard.
type fleetWatch struct {
	mu      sync.Mutex
	owner   map[int]string // shard → member whose term runs on it
	overlap []string
	terms   map[string][]Ownership
	client  *clientv3.Client
	ended   chan error
}

func newFleetWatch(c *clientv3.Client) *fleetWatch {
	return &fleetWatch{owner: map[int]string{}, terms: map[string][]Ownership{}, client: c, ended: make(chan error, 64)}
}

// term journals an event of each shard it owns every 10ms, on a journal
// whose writes are fenced as a reconciler's are, until its context ends.
func (f *fleetWatch) term(self string) Term {
	return func(ctx context.Context, own Ownership, lost func()) error {
		f.mu.Lock()
		for _, s := range own.Owned() {
			if other, ok := f.owner[s]; ok {
				f.overlap = append(f.overlap, fmt.Sprintf("shard %d: %s's term started while %s's ran", s, self, other))
			}
			f.owner[s] = self
		}
		f.terms[self] = append(f.terms[self], own)
		f.mu.Unlock()
		defer func() {
			f.mu.Lock()
			for _, s := range own.Owned() {
				if f.owner[s] == self {
					delete(f.owner, s)
				}
			}
			f.mu.Unlock()
		}()
		st, err := journal.OpenEtcd(ctx, journal.EtcdConfig{Client: f.client, Prefix: testPrefix + "journal/", FenceFor: own.FenceFor})
		if err != nil {
			return err
		}
		for ctx.Err() == nil {
			for _, s := range own.Owned() {
				_, err := st.Append(ctx, journal.Entry{Kind: api.EntryEvent, Service: serviceOf(s, own.Count), Stage: "s", Message: self})
				if errors.Is(err, journal.ErrFenced) {
					f.ended <- err
					lost()
				}
			}
			select {
			case <-ctx.Done():
			case <-time.After(10 * time.Millisecond):
			}
		}
		return nil
	}
}

// serviceOf is a service name of shard s.
func serviceOf(s, count int) string {
	for i := 0; ; i++ {
		if name := fmt.Sprintf("svc-%d", i); ShardOf(name, count) == s {
			return name
		}
	}
}

// held is each member's shards as their running terms hold them.
func (f *fleetWatch) held() map[string][]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string][]int{}
	for s, m := range f.owner {
		out[m] = append(out[m], s)
	}
	for _, shards := range out {
		slices.Sort(shards)
	}
	return out
}

func (f *fleetWatch) noOverlap(t *testing.T) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.overlap) > 0 {
		t.Fatalf("terms overlapped:\n%s", strings.Join(f.overlap, "\n"))
	}
}

// startMember runs a member until the test ends; stop ends it and
// returns what Run returned.
func startMember(t *testing.T, c *clientv3.Client, self string, shards int, term Term) (stop func() error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	cfg := Config{Client: c, Prefix: testPrefix, Self: self, TTL: 2 * time.Second, Shards: shards,
		Log: slog.New(slog.NewTextHandler(testLog{t}, nil)).With("self", self)}
	go func() { done <- Run(ctx, cfg, term) }()
	stop = sync.OnceValue(func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(30 * time.Second):
			t.Fatalf("%s did not stop within 30s", self)
			return nil
		}
	})
	t.Cleanup(func() { _ = stop() })
	return stop
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 30s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// balanced reports whether every shard is held, by the members named,
// each within the fair share.
func balanced(held map[string][]int, members []string, shards int) bool {
	total := 0
	for m, s := range held {
		if !slices.Contains(members, m) || len(s) > fairShare(shards, len(members)) {
			return false
		}
		total += len(s)
	}
	return total == shards
}

// TestShardsDividedTakenOverAndRebalanced: three members divide 8 shards
// (3, 3, 2); one stops and the other two take its shards (4, 4); it comes
// back and takes a share again. No two terms ever ran on one shard at once,
// and the leader (shard 0) stayed with its member throughout.
func TestShardsDividedTakenOverAndRebalanced(t *testing.T) {
	c := etcdtest.Start(t).Client(t)
	f := newFleetWatch(c)
	const shards = 8
	startMember(t, c, "a", shards, f.term("a"))
	waitFor(t, "a to own every shard", func() bool { return balanced(f.held(), []string{"a"}, shards) })
	startMember(t, c, "b", shards, f.term("b"))
	stopC := startMember(t, c, "c", shards, f.term("c"))
	waitFor(t, "three members to divide the shards", func() bool { return balanced(f.held(), []string{"a", "b", "c"}, shards) })
	t.Logf("held by three: %v", f.held())
	if err := stopC(); err != nil {
		t.Fatalf("c's Run: %v", err)
	}
	waitFor(t, "a and b to take c's shards", func() bool { return balanced(f.held(), []string{"a", "b"}, shards) })
	t.Logf("held by two: %v", f.held())
	startMember(t, c, "c2", shards, f.term("c2"))
	waitFor(t, "c2 to take a share", func() bool { return balanced(f.held(), []string{"a", "b", "c2"}, shards) })
	f.noOverlap(t)
	if !slices.Contains(f.held()["a"], 0) {
		t.Fatalf("shard 0 (the leader's) moved from a, which never left: %v", f.held())
	}
	select {
	case err := <-f.ended:
		t.Fatalf("a write was refused though every shard changed hands gracefully: %v", err)
	default:
	}
}

// TestLostLeaseEndsTheTermAndTheMemberComesBack revokes a member's lease
// behind its back (as its expiry would): its term ends at once — its next
// write is refused, if it gets to one — and it registers again and owns
// the shards anew, on newer keys.
func TestLostLeaseEndsTheTermAndTheMemberComesBack(t *testing.T) {
	c := etcdtest.Start(t).Client(t)
	f := newFleetWatch(c)
	startMember(t, c, "a", 2, f.term("a"))
	waitFor(t, "a to own both shards", func() bool { return balanced(f.held(), []string{"a"}, 2) })
	f.mu.Lock()
	first := f.terms["a"][len(f.terms["a"])-1]
	f.mu.Unlock()
	resp, err := c.Get(context.Background(), first.Member.Key)
	if err != nil || len(resp.Kvs) != 1 {
		t.Fatalf("a's registration: %v %v", resp, err)
	}
	if _, err := c.Revoke(context.Background(), clientv3.LeaseID(resp.Kvs[0].Lease)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a to own both shards again, anew", func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		last := f.terms["a"][len(f.terms["a"])-1]
		return last.Member != first.Member && len(last.Shards) == 2 && last.Shards[0].Revision > first.Shards[0].Revision
	})
	f.noOverlap(t)
}

// TestFencedWriteEndsTheSession deletes a member's shard lock behind its
// back (as another's win after its lease expired would): its next write
// of that shard is refused, which ends the term at once, and it registers
// again.
func TestFencedWriteEndsTheSession(t *testing.T) {
	c := etcdtest.Start(t).Client(t)
	f := newFleetWatch(c)
	startMember(t, c, "a", 1, f.term("a"))
	waitFor(t, "a to own the shard", func() bool { return balanced(f.held(), []string{"a"}, 1) })
	f.mu.Lock()
	first := f.terms["a"][0]
	f.mu.Unlock()
	if _, err := c.Delete(context.Background(), first.Shards[0].Key); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-f.ended:
		if !errors.Is(err, journal.ErrFenced) {
			t.Fatalf("the deposed term's write: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no write refused within 30s")
	}
	waitFor(t, "a to own the shard again", func() bool {
		f.mu.Lock()
		terms := len(f.terms["a"])
		f.mu.Unlock()
		return terms > 1 && len(f.held()["a"]) == 1
	})
}

// TestShardCountMustAgree: a member with another number of shards than the
// deployment's does not start, and says how to fix it.
func TestShardCountMustAgree(t *testing.T) {
	c := etcdtest.Start(t).Client(t)
	f := newFleetWatch(c)
	startMember(t, c, "a", 4, f.term("a"))
	waitFor(t, "a to own the shards", func() bool { return balanced(f.held(), []string{"a"}, 4) })
	cfg := Config{Client: c, Prefix: testPrefix, Self: "b", TTL: 2 * time.Second, Shards: 5, Log: slog.New(slog.NewTextHandler(testLog{t}, nil))}
	err := Run(context.Background(), cfg, f.term("b"))
	if !errors.Is(err, ErrShardCount) || !strings.Contains(err.Error(), "same --shards") {
		t.Fatalf("a member with 5 shards where the deployment has 4: %v", err)
	}
	for _, bad := range []Config{{Shards: 0, TTL: time.Second}, {Shards: MaxShards + 1, TTL: time.Second}, {Shards: 1, TTL: time.Millisecond}} {
		bad.Client, bad.Prefix, bad.Log = c, testPrefix, cfg.Log
		if err := Run(context.Background(), bad, f.term("x")); err == nil {
			t.Errorf("Run with %d shards and TTL %s: no error", bad.Shards, bad.TTL)
		}
	}
}

// TestCutOffFromEtcdTheTermEnds pauses etcd (SIGSTOP) under a member: no
// renewal of its lease is answered, and its term ends, though no write of
// its was refused (etcd answered none); the time it took is logged, the
// member's bound being two thirds of the TTL after its last answered
// renewal. etcd back, it owns the shard again.
func TestCutOffFromEtcdTheTermEnds(t *testing.T) {
	srv := etcdtest.Start(t)
	c := srv.Client(t)
	ended := make(chan time.Time, 8)
	started := make(chan Ownership, 8)
	startMember(t, c, "a", 1, func(ctx context.Context, own Ownership, _ func()) error {
		started <- own
		<-ctx.Done()
		ended <- time.Now()
		return nil
	})
	first := receiveWithin(t, "a's term", started)
	srv.Pause(t)
	paused := time.Now()
	stopped := receiveWithin(t, "the term's end while etcd is paused", ended)
	t.Logf("the term ended %s after etcd stopped answering (TTL 2s, bound 1.33s after the last answered renewal)", stopped.Sub(paused).Round(time.Millisecond))
	srv.Resume(t)
	again := receiveWithin(t, "a's next term", started)
	if again.Member == first.Member {
		t.Fatalf("the next term is on the same registration %v: the member did not register again", again.Member)
	}
}

func receiveWithin[T any](t *testing.T, what string, c <-chan T) T {
	t.Helper()
	select {
	case v := <-c:
		return v
	case <-time.After(30 * time.Second):
		t.Fatalf("%s: nothing within 30s", what)
		panic("unreachable")
	}
}
