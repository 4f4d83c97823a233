package ha

import (
	"context"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/durable-delivery/durable/api"
)

// TestHAFencedWriteStopsTheLoop deletes a running leader's lock of shard 0
// behind its back, as a successor's win would: the reconciler's next
// journal write (the revision it fetched next) is refused, which ends its
// loop once (not a write retried pass after pass); it registers again,
// wins a new term and applies the revision from the journal's state.
func TestHAFencedWriteStopsTheLoop(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	f, _, client := onEtcd(ctx, t, "--lease-ttl", "2s")
	st, _ := f.ServeV1(ctx, "Deploy web v1")
	waitRole(ctx, t, f.API, api.RoleLeader, "")
	keys, err := client.Get(ctx, "/durable/shards/0/", clientv3.WithPrefix())
	if err != nil || len(keys.Kvs) != 1 {
		t.Fatalf("shard 0's lock keys: %v, %v; want the leader's alone", keys, err)
	}
	if _, err := client.Delete(ctx, string(keys.Kvs[0].Key)); err != nil {
		t.Fatal(err)
	}
	c2 := f.Commit(ctx, f.Artifacts["v2"], "", "Deploy web v2")
	f.Converge(ctx, st, "canary v2 in the leader's next term", c2, "v2")
	logs := f.Logs()
	if n := strings.Count(logs, "a journal write was fenced off"); n != 1 {
		t.Fatalf("the leader lost its term to a fenced write %d times; want once:\n%s", n, logs)
	}
	if n := strings.Count(logs, "elected leader"); n != 2 {
		t.Fatalf("the reconciler was elected %d times; want twice (before and after the fenced write):\n%s", n, logs)
	}
	t.Logf("journal writes refused in the deposed term: %d", strings.Count(logs, "no longer owns the journal"))
	st.AssertNoFailedRequests(t)
}
