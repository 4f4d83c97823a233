package main

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/durable-delivery/durable/internal/etcdtest"
)

// BenchmarkHAFailover measures a leader's failover at the default lease
// TTL (5s): per iteration, leader a and standby b, each with a client of
// its own; a's client is closed without resigning (its process killed:
// the lease stays until it expires), and the time until b's term starts
// is one sample. It reports the p50 and p99 of the samples, in seconds.
// `go test ./cmd/durable -run XXX -bench HAFailover -benchtime 20x`.
func BenchmarkHAFailover(b *testing.B) {
	srv := etcdtest.Start(b)
	var samples []float64
	for i := range b.N {
		ca, cb := srv.Client(b), srv.Client(b)
		wa, wb := newWritingTerm(ca), newWritingTerm(cb)
		a, s := testElector(b, ca, "a"), testElector(b, cb, "b")
		a.ttl, s.ttl = defaultLeaseTTL, defaultLeaseTTL
		a.log, s.log = slog.New(slog.NewTextHandler(io.Discard, nil)), slog.New(slog.NewTextHandler(io.Discard, nil))
		startElector(b, a, wa)
		receive(b, "a's term", wa.started)
		stopB := startElector(b, s, wb)
		waitStandby(b, s, "a")
		// Renewals come every third of the TTL: kill a at a varying point of
		// its lease, as a real failure would.
		time.Sleep(time.Duration(i%5) * 300 * time.Millisecond)
		killed := time.Now()
		_ = ca.Close()
		receive(b, "b's term", wb.started)
		samples = append(samples, time.Since(killed).Seconds())
		_ = stopB()
	}
	slices.Sort(samples)
	b.ReportMetric(samples[len(samples)/2], "p50-s")
	b.ReportMetric(samples[min(len(samples)-1, len(samples)*99/100)], "p99-s")
	b.Logf("failover after a kill, %d samples, seconds: %.2f", len(samples), samples)
}

// waitStandby waits until e stands by under leader.
func waitStandby(t testing.TB, e *elector, leader string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		s, _ := e.role.Status(context.Background())
		if s.Leadership.Leader == leader {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s does not see %s lead within 30s", e.self, leader)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
