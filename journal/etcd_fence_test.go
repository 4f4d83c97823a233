package journal

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/internal/etcdtest"
)

func openTestEtcd(t *testing.T, cfg EtcdConfig) *Etcd {
	t.Helper()
	s, err := OpenEtcd(context.Background(), cfg)
	if err != nil {
		t.Fatalf("OpenEtcd: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// dumpPrefix is every key under prefix with its value and mod revision:
// equal dumps mean nothing was written in between.
func dumpPrefix(t *testing.T, c *clientv3.Client, prefix string) map[string]string {
	t.Helper()
	resp, err := c.Get(context.Background(), prefix, clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, kv := range resp.Kvs {
		out[string(kv.Key)] = fmt.Sprintf("%d %s", kv.ModRevision, kv.Value)
	}
	return out
}

// everyWrite is each write of the Store, on fresh records.
func everyWrite(ctx context.Context, st Store) map[string]error {
	_, appendErr := st.Append(ctx, Entry{Kind: api.EntryEvent, Message: "late"})
	return map[string]error{
		"Append":       appendErr,
		"PutRevision":  st.PutRevision(ctx, Revision{Commit: "late", SeenAt: t0}),
		"PutRelease":   st.PutRelease(ctx, Release{ID: "late"}),
		"PutInfraSet":  st.PutInfraSet(ctx, InfraSet{ID: "s1", State: api.SetReady}),
		"PutInfraSet2": st.PutInfraSet(ctx, InfraSet{ID: "new-set", State: api.SetCreating}),
		"PutRollout":   st.PutRollout(ctx, Rollout{ID: "late", Phase: api.RolloutCreating}),
	}
}

// TestEtcdFenceRefusesADeposedOwner: two reconcilers share one etcd and
// elect an owner through concurrency's Election; when the first loses
// ownership (its session ends, as when its lease expires) and the second
// wins, every write of the first is refused with ErrFenced and leaves
// nothing, while the second's go on from where the journal was.
func TestEtcdFenceRefusesADeposedOwner(t *testing.T) {
	ctx := context.Background()
	client := etcdtest.Start(t).Client(t)
	const prefix = "/fenced/"
	first, err := concurrency.NewSession(client, concurrency.WithTTL(5))
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	second, err := concurrency.NewSession(client, concurrency.WithTTL(5))
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	e1, e2 := concurrency.NewElection(first, "/owner"), concurrency.NewElection(second, "/owner")
	if err := e1.Campaign(ctx, "first"); err != nil {
		t.Fatal(err)
	}
	old := openTestEtcd(t, EtcdConfig{Client: client, Prefix: prefix, Fence: &Fence{Key: e1.Key(), Revision: e1.Rev()}})
	appendEvents(t, old, 1)
	putSet(t, old, "s1", api.SetCreating)

	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	if err := e2.Campaign(ctx, "second"); err != nil {
		t.Fatal(err)
	}
	before := dumpPrefix(t, client, prefix)
	for name, err := range everyWrite(ctx, old) {
		if !errors.Is(err, ErrFenced) {
			t.Errorf("%s by the deposed owner: %v, want ErrFenced", name, err)
		}
	}
	if after := dumpPrefix(t, client, prefix); !reflect.DeepEqual(after, before) {
		t.Fatalf("the deposed owner's refused writes changed the journal:\nbefore %v\nafter  %v", before, after)
	}

	owner := openTestEtcd(t, EtcdConfig{Client: client, Prefix: prefix, Fence: &Fence{Key: e2.Key(), Revision: e2.Rev()}})
	if e, err := owner.Append(ctx, Entry{Kind: api.EntryEvent, Message: "new owner"}); err != nil || e.Seq != 2 {
		t.Fatalf("the new owner's append = %+v, %v; want Seq 2", e, err)
	}
	putSet(t, owner, "s1", api.SetReady)
	// The old owner is still refused after the new one moved the counters.
	if _, err := old.Append(ctx, Entry{Kind: api.EntryEvent}); !errors.Is(err, ErrFenced) {
		t.Fatalf("the deposed owner's append after the new owner's: %v, want ErrFenced", err)
	}
	if problems, err := Check(ctx, owner); err != nil || len(problems) != 0 {
		t.Fatalf("check: %q, %v", problems, err)
	}
	if _, err := OpenEtcd(ctx, EtcdConfig{Client: client, Prefix: prefix, Fence: &Fence{Key: e1.Key(), Revision: e1.Rev()}}); !errors.Is(err, ErrFenced) {
		t.Fatalf("open with the deposed owner's fence: %v, want ErrFenced", err)
	}
}

// TestEtcdFenceFollowsTheKeysCreateRevision: the fence is the key's
// create revision, not its value: a key deleted, or deleted and made
// again with the same value, fences the store that held it; a key only
// rewritten does not.
func TestEtcdFenceFollowsTheKeysCreateRevision(t *testing.T) {
	ctx := context.Background()
	client := etcdtest.Start(t).Client(t)
	const key = "/owner/by-hand"
	made, err := client.Put(ctx, key, "me")
	if err != nil {
		t.Fatal(err)
	}
	st := openTestEtcd(t, EtcdConfig{Client: client, Prefix: "/by-hand", Fence: &Fence{Key: key, Revision: made.Header.Revision}})
	if _, err := client.Put(ctx, key, "me, renewed"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Append(ctx, Entry{Kind: api.EntryEvent}); err != nil {
		t.Fatalf("append after the key was rewritten: %v", err)
	}
	steps := []struct {
		name string
		do   func() error
	}{
		{"deleted", func() error { _, err := client.Delete(ctx, key); return err }},
		{"made again", func() error { _, err := client.Put(ctx, key, "me"); return err }},
	}
	for _, step := range steps {
		if err := step.do(); err != nil {
			t.Fatal(err)
		}
		for name, err := range everyWrite(ctx, st) {
			if !errors.Is(err, ErrFenced) {
				t.Errorf("key %s: %s: %v, want ErrFenced", step.name, name, err)
			}
		}
	}
	if es, err := st.Entries(ctx, 0, 0); err != nil || len(es) != 1 {
		t.Fatalf("entries = %+v, %v; want only the one written while the fence held", es, err)
	}
}
