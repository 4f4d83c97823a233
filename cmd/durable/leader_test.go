package main

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/internal/etcdtest"
	"github.com/durable-delivery/durable/journal"
)

const testElection = "/durable-test/leader"

func testElector(t testing.TB, c *clientv3.Client, self string) *elector {
	t.Helper()
	role, err := newLeadership(self, "main", prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(testLog{t}, nil)).With("self", self)
	return &elector{client: c, prefix: testElection, self: self, ttl: minLeaseTTL, log: log, role: role}
}

type testLog struct{ t testing.TB }

func (w testLog) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// writingTerm is a term that journals an event every 10ms until its
// context ends, as the reconcile loop journals its actions: each term's
// fence goes to started, and, once it ended, how many of its writes were
// refused to ended.
type writingTerm struct {
	client  *clientv3.Client
	started chan journal.Fence
	ended   chan int
}

func newWritingTerm(c *clientv3.Client) *writingTerm {
	return &writingTerm{client: c, started: make(chan journal.Fence, 8), ended: make(chan int, 8)}
}

func (w *writingTerm) run(ctx context.Context, fence journal.Fence, lost func()) error {
	st, err := journal.OpenEtcd(ctx, journal.EtcdConfig{Client: w.client, Prefix: "/durable-test/journal/", Fence: &fence})
	if err != nil {
		return err
	}
	w.started <- fence
	store := fenceWatch{st, lost}
	refused := 0
	for ctx.Err() == nil {
		if _, err := store.Append(ctx, journal.Entry{Kind: api.EntryEvent, Message: fence.Key}); errors.Is(err, journal.ErrFenced) {
			refused++
		}
		select {
		case <-ctx.Done():
		case <-time.After(10 * time.Millisecond):
		}
	}
	w.ended <- refused
	return nil
}

func receive[T any](t testing.TB, what string, c <-chan T) T {
	t.Helper()
	select {
	case v := <-c:
		return v
	case <-time.After(30 * time.Second):
		t.Fatalf("%s: nothing within 30s", what)
		panic("unreachable")
	}
}

// startElector runs e until the test ends; stop ends it and returns
// what its run returned.
func startElector(t testing.TB, e *elector, w *writingTerm) (stop func() error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.run(ctx, w.run) }()
	stop = sync.OnceValue(func() error {
		cancel()
		return receive(t, "the elector's end", done)
	})
	t.Cleanup(func() { _ = stop() })
	return stop
}

// TestHAFencedWriteEndsTheTerm takes the election key from a leader behind
// its back (as a successor's win after its lease expired would): its next
// journal write is refused, and that one refusal ends its loop, instead of
// the loop retrying the write pass after pass; it then stands for election
// again and wins a new term, fenced on a newer revision.
func TestHAFencedWriteEndsTheTerm(t *testing.T) {
	srv := etcdtest.Start(t)
	c := srv.Client(t)
	w := newWritingTerm(c)
	startElector(t, testElector(t, c, "a"), w)
	first := receive(t, "first term", w.started)
	if _, err := c.Delete(context.Background(), first.Key); err != nil {
		t.Fatal(err)
	}
	if refused := receive(t, "the deposed term's end", w.ended); refused != 1 {
		t.Fatalf("the deposed term had %d writes refused before it stopped; want exactly 1", refused)
	}
	second := receive(t, "second term", w.started)
	if second.Revision <= first.Revision {
		t.Fatalf("the new term is fenced on revision %d, not above the deposed one's %d", second.Revision, first.Revision)
	}
}

// TestHAOneLeaderAndResignOnExit starts two electors on one etcd: one
// leads, the other stands by and says who leads; the leader's clean exit
// resigns, and the standby's term starts.
func TestHAOneLeaderAndResignOnExit(t *testing.T) {
	srv := etcdtest.Start(t)
	c := srv.Client(t)
	wa, wb := newWritingTerm(c), newWritingTerm(c)
	a, b := testElector(t, c, "a"), testElector(t, c, "b")
	stopA := startElector(t, a, wa)
	receive(t, "a's term", wa.started)
	startElector(t, b, wb)
	waitFor(t, "b to see a lead", func() bool {
		s, _ := b.role.Status(context.Background())
		return s.Leadership.Leader == "a"
	})
	s, err := b.role.Status(context.Background())
	if err != nil || s.Ready.Reason != api.ReasonStandby || s.Leadership.Role != api.RoleStandby {
		t.Fatalf("the standby's status: %+v, %v", s, err)
	}
	select {
	case f := <-wb.started:
		t.Fatalf("b started a term (%v) while a leads", f)
	default:
	}
	began := time.Now()
	if err := stopA(); err != nil {
		t.Fatal(err)
	}
	receive(t, "b's term", wb.started)
	t.Logf("b took over %s after a was asked to stop (a resigned; lease TTL %s)", time.Since(began).Round(time.Millisecond), minLeaseTTL)
	if s, _ := a.role.Status(context.Background()); s.Leadership.Role != api.RoleStandby {
		t.Fatalf("a, stopped, still says it is %s", s.Leadership.Role)
	}
}

// TestHALostLeaseEndsTheTerm pauses etcd past the leader's lease: its
// session ends, and so does its term, though no write of its was refused
// (etcd answered none).
func TestHALostLeaseEndsTheTerm(t *testing.T) {
	srv := etcdtest.Start(t)
	c := srv.Client(t)
	w := newWritingTerm(c)
	e := testElector(t, c, "a")
	startElector(t, e, w)
	receive(t, "first term", w.started)
	srv.Pause(t)
	began := time.Now()
	receive(t, "the term's end", w.ended)
	t.Logf("the term ended %s after etcd stopped answering (lease TTL %s)", time.Since(began).Round(time.Millisecond), minLeaseTTL)
	if s, _ := e.role.Status(context.Background()); s.Leadership.Role != api.RoleStandby {
		t.Fatalf("with its lease lost, the reconciler says it is %s", s.Leadership.Role)
	}
}

// TestEtcdHealthInStatusAndMetrics: while etcd does not answer (paused),
// status lists it as failing and durable_etcd_up is 0; answering again,
// both clear.
func TestEtcdHealthInStatusAndMetrics(t *testing.T) {
	srv := etcdtest.Start(t)
	c := srv.Client(t)
	e := testElector(t, c, "a")
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go watchEtcd(ctx, c, e.role)
	failing := func() bool {
		s, _ := e.role.Status(context.Background())
		for _, f := range s.Failing {
			if f.Dependency == etcdDependency {
				return true
			}
		}
		return false
	}
	waitFor(t, "etcd up", func() bool { return testutil.ToFloat64(e.role.health.up) == 1 && !failing() })
	srv.Pause(t)
	waitFor(t, "etcd failing in status", func() bool { return failing() && testutil.ToFloat64(e.role.health.up) == 0 })
	srv.Resume(t)
	waitFor(t, "etcd up again", func() bool { return testutil.ToFloat64(e.role.health.up) == 1 && !failing() })
}
