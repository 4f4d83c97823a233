package main

import (
	"context"
	"io"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/cluster"
	"github.com/durable-delivery/durable/internal/etcdtest"
)

type testLog struct{ t testing.TB }

func (w testLog) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// testMember runs a member of a deployment on c with its leadership, each
// term's start reported on started, until the test ends; stop ends it.
func testMember(t testing.TB, c *clientv3.Client, self string, ttl time.Duration, started chan<- cluster.Ownership) (role *leadership, stop func()) {
	t.Helper()
	role, err := newLeadership(self, "main", prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if _, ok := t.(*testing.T); ok {
		log = slog.New(slog.NewTextHandler(testLog{t}, nil)).With("self", self)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	cfg := cluster.Config{Client: c, Prefix: "/durable-test/", Self: self, TTL: ttl, Shards: 1, Log: log, Seen: role.saw}
	go func() {
		done <- cluster.Run(ctx, cfg, func(ctx context.Context, own cluster.Ownership, _ func()) error {
			started <- own
			<-ctx.Done()
			return nil
		})
	}()
	stop = sync.OnceFunc(func() {
		cancel()
		if err := receive(t, "the member's end", done); err != nil {
			t.Errorf("%s's Run: %v", self, err)
		}
	})
	t.Cleanup(stop)
	return role, stop
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

// TestLeaderAndStandbyInStatus starts two reconcilers of one shard on one
// etcd: one leads, the other stands by and its status says who leads and
// which shards each owns; the leader's clean exit hands the shard over at
// once.
func TestLeaderAndStandbyInStatus(t *testing.T) {
	c := etcdtest.Start(t).Client(t)
	startedA, startedB := make(chan cluster.Ownership, 4), make(chan cluster.Ownership, 4)
	a, stopA := testMember(t, c, "a", minLeaseTTL, startedA)
	receive(t, "a's term", startedA)
	b, _ := testMember(t, c, "b", minLeaseTTL, startedB)
	waitFor(t, "b to see a lead", func() bool {
		s, _ := b.Status(context.Background())
		return s.Leadership.Leader == "a" && len(s.Leadership.Members) == 2
	})
	s, err := b.Status(context.Background())
	if err != nil || s.Ready.Reason != api.ReasonStandby || s.Leadership.Role != api.RoleStandby || len(s.Leadership.Shards) != 0 {
		t.Fatalf("the standby's status: %+v, %v", s, err)
	}
	want := []api.Member{{Name: "a", Shards: []int{0}}, {Name: "b", Shards: []int{}}}
	if !reflect.DeepEqual(s.Leadership.Members, want) {
		t.Fatalf("members in b's status: %+v, want %+v", s.Leadership.Members, want)
	}
	if got := testutil.ToFloat64(a.elected); got != 1 {
		t.Fatalf("durable_leader of a: %v", got)
	}
	began := time.Now()
	stopA()
	receive(t, "b's term", startedB)
	t.Logf("b took over %s after a was asked to stop (a revoked its lease; TTL %s)", time.Since(began).Round(time.Millisecond), minLeaseTTL)
	waitFor(t, "b to say it leads", func() bool {
		s, _ := b.Status(context.Background())
		return s.Leadership.Role == api.RoleLeader && s.Leadership.Leader == "b" && testutil.ToFloat64(b.owned) == 1
	})
}

// TestEtcdHealthInStatusAndMetrics: while etcd does not answer (paused),
// status lists it as failing and durable_etcd_up is 0; answering again,
// both clear.
func TestEtcdHealthInStatusAndMetrics(t *testing.T) {
	srv := etcdtest.Start(t)
	c := srv.Client(t)
	role, err := newLeadership("a", "main", prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go watchEtcd(ctx, c, role)
	failing := func() bool {
		s, _ := role.Status(context.Background())
		for _, f := range s.Failing {
			if f.Dependency == etcdDependency {
				return true
			}
		}
		return false
	}
	waitFor(t, "etcd up", func() bool { return testutil.ToFloat64(role.health.up) == 1 && !failing() })
	srv.Pause(t)
	waitFor(t, "etcd failing in status", func() bool { return failing() && testutil.ToFloat64(role.health.up) == 0 })
	srv.Resume(t)
	waitFor(t, "etcd up again", func() bool { return testutil.ToFloat64(role.health.up) == 1 && !failing() })
}
