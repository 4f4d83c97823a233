package main

import (
	"slices"
	"testing"
	"time"

	"github.com/durable-delivery/durable/cluster"
	"github.com/durable-delivery/durable/internal/etcdtest"
)

// BenchmarkHAFailover measures a leader's failover at the default lease
// TTL (5s): per iteration, leader a and standby b of one shard, each with
// a client of its own; a's client is closed without revoking its lease
// (its process killed: the lease stays until it expires), and the time
// until b's term starts is one sample. It reports the p50 and p99 of the
// samples, in seconds.
// `go test ./cmd/durable -run XXX -bench HAFailover -benchtime 20x`.
func BenchmarkHAFailover(b *testing.B) {
	srv := etcdtest.Start(b)
	var samples []float64
	for i := range b.N {
		ca, cb := srv.Client(b), srv.Client(b)
		startedA, startedB := make(chan cluster.Ownership, 4), make(chan cluster.Ownership, 4)
		_, stopA := testMember(b, ca, "a", defaultLeaseTTL, startedA)
		receive(b, "a's term", startedA)
		standby, stopB := testMember(b, cb, "b", defaultLeaseTTL, startedB)
		waitStandby(b, standby, "a")
		// Renewals come every third of the TTL: kill a at a varying point of
		// its lease, as a real failure would.
		time.Sleep(time.Duration(i%5) * 300 * time.Millisecond)
		killed := time.Now()
		_ = ca.Close()
		receive(b, "b's term", startedB)
		samples = append(samples, time.Since(killed).Seconds())
		stopB()
		stopA()
	}
	slices.Sort(samples)
	b.ReportMetric(samples[len(samples)/2], "p50-s")
	b.ReportMetric(samples[min(len(samples)-1, len(samples)*99/100)], "p99-s")
	b.Logf("failover after a kill, %d samples, seconds: %.2f", len(samples), samples)
}

// waitStandby waits until role's reconciler stands by under leader.
func waitStandby(t testing.TB, role *leadership, leader string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		role.mu.Lock()
		seen := role.state.Leader
		role.mu.Unlock()
		if seen == leader {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s does not see %s lead within 30s", role.state.Self, leader)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
