package journal

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
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

// TestEtcdFenceForChoosesEachWritesFence: with a fence chooser, each write
// is conditioned on the ownership it chooses for that write: once the key
// of service a's shard is deleted, a's records and entries are refused
// and leave nothing, while b's (another shard, still held) go on; a write
// the chooser gives no fence for is refused without being tried.
func TestEtcdFenceForChoosesEachWritesFence(t *testing.T) {
	ctx := context.Background()
	client := etcdtest.Start(t).Client(t)
	fences := map[string]Fence{}
	for _, shard := range []string{"a", "b"} {
		resp, err := client.Put(ctx, "/shards/"+shard, "owner")
		if err != nil {
			t.Fatal(err)
		}
		fences[shard] = Fence{Key: "/shards/" + shard, Revision: resp.Header.Revision}
	}
	var asked []Write
	st := openTestEtcd(t, EtcdConfig{Client: client, Prefix: "/chosen/", FenceFor: func(w Write) (Fence, bool) {
		asked = append(asked, w)
		f, ok := fences[w.Service]
		return f, ok
	}})
	put := func(service string) map[string]error {
		_, appendErr := st.Append(ctx, Entry{Kind: api.EntryEvent, Service: service, Stage: "prod", Target: "t1", Message: "x"})
		return map[string]error{
			"Append":      appendErr,
			"PutInfraSet": st.PutInfraSet(ctx, InfraSet{ID: service + "-set", Service: service, Stage: "prod", Target: "t1", State: api.SetCreating}),
			"PutRollout":  st.PutRollout(ctx, Rollout{ID: service + "-ro", Service: service, Stage: "prod", Target: "t1", Phase: api.RolloutCreating}),
			"PutRelease":  st.PutRelease(ctx, Release{ID: service + "-rel", Service: service}),
		}
	}
	for name, err := range put("a") {
		if err != nil {
			t.Fatalf("%s while a's shard is held: %v", name, err)
		}
	}
	want := Write{Kind: WriteInfraSet, Service: "a", Stage: "prod", Target: "t1", Set: "a-set"}
	if !slices.Contains(asked, want) {
		t.Fatalf("the chooser was asked %v, not %v", asked, want)
	}
	if _, err := client.Delete(ctx, "/shards/a"); err != nil {
		t.Fatal(err)
	}
	before := dumpPrefix(t, client, "/chosen/")
	for name, err := range put("a") {
		if !errors.Is(err, ErrFenced) {
			t.Errorf("%s of a after a's shard was lost: %v, want ErrFenced", name, err)
		}
	}
	for name, err := range put("nobody") {
		if !errors.Is(err, ErrFenced) {
			t.Errorf("%s of a service no shard covers: %v, want ErrFenced", name, err)
		}
	}
	if after := dumpPrefix(t, client, "/chosen/"); !reflect.DeepEqual(before, after) {
		t.Fatalf("refused writes changed the journal:\nbefore %v\nafter  %v", before, after)
	}
	for name, err := range put("b") {
		if err != nil {
			t.Errorf("%s of b, whose shard is still held: %v", name, err)
		}
	}
	if sets, err := st.InfraSets(ctx); err != nil || len(sets) != 2 {
		t.Fatalf("infra-sets: %v %v, want a's first and b's", sets, err)
	}
}

// TestEtcdConfigRefusesTwoFences: a fence and a chooser are one too many.
func TestEtcdConfigRefusesTwoFences(t *testing.T) {
	client := etcdtest.Start(t).Client(t)
	_, err := OpenEtcd(context.Background(), EtcdConfig{Client: client, Fence: &Fence{Key: "/k", Revision: 1},
		FenceFor: func(Write) (Fence, bool) { return Fence{}, false }})
	if err == nil || !strings.Contains(err.Error(), "give one") {
		t.Fatalf("OpenEtcd with both: %v", err)
	}
}
