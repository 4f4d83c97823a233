package ha

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/journal"
)

// BenchmarkShardedRollout measures the control plane of a rollout of every
// service by RECONCILERS reconcilers (default 3) sharing one etcd with six
// shards: SERVICES services (default 12), blue/green (nothing to wait for
// but the instances' health), each through staging and then prod's four
// targets in three zones, one zone at a time, all behind one agent. Per
// round: the time from the commit to every service serving the new
// version everywhere (ns/op), the requests etcd served meanwhile (its
// grpc_server_handled_total, unary calls: reads and transactions;
// keep-alives and watches are streams, not counted), the actions
// journaled (intents), and the etcd requests per action.
//
//	RECONCILERS=1 go test ./test/e2e/ha -run XXX -bench ShardedRollout -benchtime 3x
//	RECONCILERS=3 go test ./test/e2e/ha -run XXX -bench ShardedRollout -benchtime 3x
func BenchmarkShardedRollout(b *testing.B) {
	n, services := envInt("RECONCILERS", 3), envInt("SERVICES", 12)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	names := make([]string, services)
	for i := range names {
		names[i] = fmt.Sprintf("s%02d", i+1)
	}
	sf := newShardFixture(ctx, b, names, blueGreenStrategy)
	sf.commit(ctx, b, "v1")
	var reconcilers []string
	for i := range n {
		reconcilers = append(reconcilers, fmt.Sprintf("r%d", i+1))
	}
	members := sf.start(ctx, b, reconcilers...)
	first := members["r1"].api
	waitServes(ctx, b, first, sf.f.Artifacts["v1"], services)
	waitOwners(ctx, b, first, n)
	b.ResetTimer()
	for i := range b.N {
		version := []string{"v2", "v1"}[i%2]
		requests, seq := etcdRequests(b, sf.etcd.Endpoint), lastSeq(ctx, b, sf)
		start := time.Now()
		sf.commit(ctx, b, version)
		for _, m := range members {
			_ = m.api.Trigger(ctx)
		}
		waitServes(ctx, b, first, sf.f.Artifacts[version], services)
		took := time.Since(start)
		served := etcdRequests(b, sf.etcd.Endpoint) - requests
		actions := intentsAfter(ctx, b, sf, seq)
		b.ReportMetric(float64(served), "etcd-req/op")
		b.ReportMetric(float64(actions), "actions/op")
		b.ReportMetric(float64(served)/float64(max(actions, 1)), "etcd-req/action")
		b.Logf("round %d: %d reconcilers, %d services × 5 targets on %s in %.2fs; etcd served %d requests for %d actions (%.1f each)",
			i, n, services, version, took.Seconds(), served, actions, float64(served)/float64(max(actions, 1)))
	}
}

func envInt(name string, fallback int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return fallback
}

// etcdRequests is the unary requests etcd has served (its /metrics).
func etcdRequests(t testing.TB, endpoint string) int {
	t.Helper()
	resp, err := http.Get(endpoint + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	total := 0.0
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "grpc_server_handled_total{") || !strings.Contains(line, `grpc_type="unary"`) {
			continue
		}
		v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		if err == nil {
			total += v
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return int(total)
}

// lastSeq is the journal's last entry Seq.
func lastSeq(ctx context.Context, t testing.TB, sf *shardFixture) uint64 {
	t.Helper()
	var last uint64
	for _, e := range journalEntries(ctx, t, sf, 0) {
		last = max(last, e.Seq)
	}
	return last
}

// intentsAfter counts the intents journaled after seq.
func intentsAfter(ctx context.Context, t testing.TB, sf *shardFixture, seq uint64) int {
	t.Helper()
	n := 0
	for _, e := range journalEntries(ctx, t, sf, seq) {
		if e.Kind == api.EntryIntent {
			n++
		}
	}
	return n
}

func journalEntries(ctx context.Context, t testing.TB, sf *shardFixture, after uint64) []api.Entry {
	t.Helper()
	st, err := journal.OpenEtcd(ctx, journal.EtcdConfig{Client: sf.client, Prefix: "/durable/journal/"})
	if err != nil {
		t.Fatal(err)
	}
	entries, err := st.Entries(ctx, after, 0)
	if err != nil {
		t.Fatal(err)
	}
	return entries
}
