package etcdtest

import (
	"context"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
)

// TestClientCallsWorkAgainstTheServer proves that the client in go.mod
// (v3.7) and Debian's server (3.4) agree on every call the journal and the
// leader election build on: a Txn compared on CreateRevision and
// ModRevision, leases, and concurrency's Session and Election.
func TestClientCallsWorkAgainstTheServer(t *testing.T) {
	s := Start(t)
	c := s.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	status, err := c.Status(ctx, s.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(status.Version, "3.4.") {
		t.Logf("server is %s, not the 3.4 this test is about", status.Version)
	}
	t.Run("txn on create and mod revision", func(t *testing.T) { txnOnRevisions(ctx, t, c) })
	t.Run("lease", func(t *testing.T) { leaseExpiresKeys(ctx, t, c) })
	t.Run("election", func(t *testing.T) { electionHandsOver(ctx, t, c) })
}

func txnOnRevisions(ctx context.Context, t *testing.T, c *clientv3.Client) {
	absent, err := c.Txn(ctx).If(clientv3.Compare(clientv3.CreateRevision("k"), "=", 0)).
		Then(clientv3.OpPut("k", "1")).Commit()
	if err != nil || !absent.Succeeded {
		t.Fatalf("create if absent: %+v, %v", absent, err)
	}
	created := absent.Header.Revision
	again, err := c.Txn(ctx).If(clientv3.Compare(clientv3.CreateRevision("k"), "=", 0)).
		Then(clientv3.OpPut("k", "2")).Else(clientv3.OpGet("k")).Commit()
	if err != nil || again.Succeeded {
		t.Fatalf("second create if absent: %+v, %v; want refused", again, err)
	}
	if kv := again.Responses[0].GetResponseRange().Kvs[0]; kv.CreateRevision != created || string(kv.Value) != "1" {
		t.Fatalf("else branch read %+v, want create revision %d and value 1", kv, created)
	}
	both := []clientv3.Cmp{clientv3.Compare(clientv3.CreateRevision("k"), "=", created), clientv3.Compare(clientv3.ModRevision("k"), "=", created)}
	ok, err := c.Txn(ctx).If(both...).Then(clientv3.OpPut("k", "3"), clientv3.OpPut("other", "x")).Commit()
	if err != nil || !ok.Succeeded {
		t.Fatalf("put on matching revisions: %+v, %v", ok, err)
	}
	stale, err := c.Txn(ctx).If(both...).Then(clientv3.OpPut("other", "y")).Commit()
	if err != nil || stale.Succeeded {
		t.Fatalf("put on a stale mod revision: %+v, %v; want refused", stale, err)
	}
	if got, err := c.Get(ctx, "other"); err != nil || string(got.Kvs[0].Value) != "x" {
		t.Fatalf("refused txn wrote: %+v, %v", got, err)
	}
}

func leaseExpiresKeys(ctx context.Context, t *testing.T, c *clientv3.Client) {
	lease, err := c.Grant(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Put(ctx, "leased", "v", clientv3.WithLease(lease.ID)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.KeepAliveOnce(ctx, lease.ID); err != nil {
		t.Fatalf("keep alive: %v", err)
	}
	ttl, err := c.TimeToLive(ctx, lease.ID)
	if err != nil || ttl.TTL <= 0 {
		t.Fatalf("time to live: %+v, %v", ttl, err)
	}
	for {
		got, err := c.Get(ctx, "leased")
		if err != nil {
			t.Fatal(err)
		}
		if got.Count == 0 {
			break // the lease expired and took its key
		}
		select {
		case <-ctx.Done():
			t.Fatal("the leased key outlived its lease")
		case <-time.After(100 * time.Millisecond):
		}
	}
	other, err := c.Grant(ctx, 60)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Put(ctx, "revoked", "v", clientv3.WithLease(other.ID)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Revoke(ctx, other.ID); err != nil {
		t.Fatal(err)
	}
	if got, err := c.Get(ctx, "revoked"); err != nil || got.Count != 0 {
		t.Fatalf("key of a revoked lease: %+v, %v", got, err)
	}
}

func electionHandsOver(ctx context.Context, t *testing.T, c *clientv3.Client) {
	first, err := concurrency.NewSession(c, concurrency.WithTTL(2))
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	second, err := concurrency.NewSession(c, concurrency.WithTTL(2))
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	e1 := concurrency.NewElection(first, "/election")
	if err := e1.Campaign(ctx, "one"); err != nil {
		t.Fatal(err)
	}
	leader, err := e1.Leader(ctx)
	if err != nil || string(leader.Kvs[0].Value) != "one" || leader.Kvs[0].CreateRevision != e1.Rev() || string(leader.Kvs[0].Key) != e1.Key() {
		t.Fatalf("leader after the first campaign: %+v, %v; want one at revision %d", leader, err, e1.Rev())
	}
	e2 := concurrency.NewElection(second, "/election")
	won := make(chan error, 1)
	go func() { won <- e2.Campaign(ctx, "two") }()
	select {
	case err := <-won:
		t.Fatalf("second campaign returned while the first leads: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	// The first's session ends (as when its process dies): its lease goes,
	// its key with it, and the second wins.
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-won; err != nil {
		t.Fatal(err)
	}
	if e2.Rev() <= e1.Rev() {
		t.Fatalf("the new leader's revision %d is not above the old %d", e2.Rev(), e1.Rev())
	}
	fenced, err := c.Txn(ctx).If(clientv3.Compare(clientv3.CreateRevision(e1.Key()), "=", e1.Rev())).Then(clientv3.OpPut("w", "old")).Commit()
	if err != nil || fenced.Succeeded {
		t.Fatalf("a write fenced on the old leader's key: %+v, %v; want refused", fenced, err)
	}
	obs := e2.Observe(ctx)
	if got := <-obs; string(got.Kvs[0].Value) != "two" {
		t.Fatalf("observed leader %q, want two", got.Kvs[0].Value)
	}
}
