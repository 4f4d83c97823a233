package cluster

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// View is the deployment as one read of etcd shows it: the members alive
// and who holds each shard.
type View struct {
	// Members are the members' names by their lease, in hex.
	Members map[string]string
	// Holders is the lease (hex) holding each held shard: of the lock's
	// keys, the one made first.
	Holders map[int]string
}

// Name is the name of the member of lease, or the lease itself when the
// member is not registered (any more).
func (v View) Name(lease string) string {
	if name, ok := v.Members[lease]; ok {
		return name
	}
	return "lease " + lease
}

// Owners is each member's shards, by name, in order; members that own
// none are listed with none.
func (v View) Owners() map[string][]int {
	out := map[string][]int{}
	for _, name := range v.Members {
		out[name] = []int{}
	}
	for shard, lease := range v.Holders {
		name := v.Name(lease)
		out[name] = append(out[name], shard)
	}
	for _, shards := range out {
		sort.Ints(shards)
	}
	return out
}

// free is the shards of count no one holds.
func (v View) free(count int) []int {
	var out []int
	for i := range count {
		if _, held := v.Holders[i]; !held {
			out = append(out, i)
		}
	}
	return out
}

// keys are where a deployment under prefix keeps its members, its shards'
// locks and its shard count.
type keys struct{ prefix string }

func (k keys) members() string            { return k.prefix + "members/" }
func (k keys) member(lease string) string { return k.members() + lease }
func (k keys) shards() string             { return k.prefix + "shards/" }
func (k keys) shard(i int) string         { return k.shards() + strconv.Itoa(i) }
func (k keys) count() string              { return k.prefix + "shard-count" }

// readView reads the members and the shards' locks in one transaction.
func readView(ctx context.Context, kv clientv3.KV, k keys) (View, error) {
	resp, err := kv.Txn(ctx).Then(
		clientv3.OpGet(k.members(), clientv3.WithPrefix()),
		clientv3.OpGet(k.shards(), clientv3.WithPrefix()),
	).Commit()
	if err != nil {
		return View{}, fmt.Errorf("read the members and shards under %s: %w", k.prefix, err)
	}
	v := View{Members: map[string]string{}, Holders: map[int]string{}}
	for _, kv := range resp.Responses[0].GetResponseRange().Kvs {
		v.Members[strings.TrimPrefix(string(kv.Key), k.members())] = string(kv.Value)
	}
	first := map[int]int64{}
	for _, kv := range resp.Responses[1].GetResponseRange().Kvs {
		num, lease, ok := strings.Cut(strings.TrimPrefix(string(kv.Key), k.shards()), "/")
		shard, err := strconv.Atoi(num)
		if !ok || err != nil || shard < 0 {
			continue // not a lock of ours
		}
		if rev, seen := first[shard]; !seen || kv.CreateRevision < rev {
			first[shard], v.Holders[shard] = kv.CreateRevision, lease
		}
	}
	return v, nil
}

// agreeCount records count as the deployment's number of shards, or
// refuses it when the deployment has another: every reconciler must
// divide the services the same way.
func agreeCount(ctx context.Context, kv clientv3.KV, k keys, count int) error {
	want := strconv.Itoa(count)
	resp, err := kv.Txn(ctx).If(clientv3.Compare(clientv3.CreateRevision(k.count()), "=", 0)).
		Then(clientv3.OpPut(k.count(), want)).Else(clientv3.OpGet(k.count())).Commit()
	if err != nil {
		return fmt.Errorf("record the number of shards under %s: %w", k.count(), err)
	}
	if resp.Succeeded {
		return nil
	}
	kvs := resp.Responses[0].GetResponseRange().Kvs
	if len(kvs) == 1 && string(kvs[0].Value) == want {
		return nil
	}
	got := "?"
	if len(kvs) == 1 {
		got = fmt.Sprintf("%.20q", kvs[0].Value)
	}
	return fmt.Errorf("%w: this reconciler divides the services into %d shards (--shards), the reconcilers under %s into %s (%s): give every reconciler the same --shards; to change it, stop them all and delete %s",
		ErrShardCount, count, k.prefix, got, k.count(), k.count())
}
