package journal

import (
	"context"
	"strconv"
	"testing"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/internal/etcdtest"
)

// The latency of the reconciler's two most frequent writes, one at a time
// as the reconciler makes them, on each journal: bbolt on the test's
// temporary directory (fsync on every commit); etcd 3.4, a single local
// member, with its data on /dev/shm (what the tests use: etcd 3.4 cannot
// turn fsync off) and on the same disk as bbolt. Each etcd Append is one
// transaction; each PutRollout a read and a transaction.
//
//	go test -run XXX -bench 'Append|PutRollout' -benchtime 2000x ./journal/
func BenchmarkAppend(b *testing.B) {
	for name, open := range benchStores {
		b.Run(name, func(b *testing.B) {
			st := open(b)
			ctx := context.Background()
			e := Entry{Kind: api.EntryOutcome, Action: api.ActionCreateSet, Set: "web-prod-t1-r2", Intent: 41, Message: "create-set web-prod-t1-r2: done"}
			for b.Loop() {
				if _, err := st.Append(ctx, e); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPutRollout puts 16 rollouts in turn, each put changing the
// phase (a transition recorded with it), as a canary's steps do.
func BenchmarkPutRollout(b *testing.B) {
	for name, open := range benchStores {
		b.Run(name, func(b *testing.B) {
			st := open(b)
			ctx := context.Background()
			phases := []api.RolloutPhase{api.RolloutCreating, api.RolloutCanary}
			i := 0
			for b.Loop() {
				r := Rollout{ID: "web/prod/t" + strconv.Itoa(i%16) + "/r2", Service: "web", Stage: "prod", Target: "t" + strconv.Itoa(i%16),
					Release: "r2", FromRelease: "r1", Revision: "c2", Set: "s-b", Phase: phases[(i/16)%2], StartedAt: t0, UpdatedAt: t0}
				if err := st.PutRollout(ctx, r); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

var benchStores = map[string]func(b *testing.B) Store{
	"bolt": func(b *testing.B) Store {
		st, err := OpenBolt(b.TempDir()+"/journal.db", BoltOptions{})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = st.Close() })
		return st
	},
	"etcd-shm":  func(b *testing.B) Store { return benchEtcd(b, etcdtest.Start(b)) },
	"etcd-disk": func(b *testing.B) Store { return benchEtcd(b, etcdtest.StartIn(b, b.TempDir())) },
}

func benchEtcd(b *testing.B, server *etcdtest.Server) Store {
	st, err := OpenEtcd(context.Background(), EtcdConfig{Client: server.Client(b), Prefix: "/bench"})
	if err != nil {
		b.Fatal(err)
	}
	return st
}
