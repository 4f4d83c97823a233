package ha

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/durable-delivery/durable/adapters/router"
	"github.com/durable-delivery/durable/internal/etcdtest"
	"github.com/durable-delivery/durable/test/e2e/e2etest"
)

// TestQuorumLostNothingActsEverythingServes runs the reconciler on a real
// three-member etcd cluster. Mid-canary, two members are killed: the
// leader's lease cannot be renewed, so within the TTL it stops acting —
// the router's split stays as it was — while every request is still
// served; the members back, it is elected again and the rollout resumes
// and completes, no request failed, the journal consistent.
func TestQuorumLostNothingActsEverythingServes(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	cluster := etcdtest.StartCluster(t, 3)
	client := cluster.Client(t)
	t.Cleanup(func() { checkEtcdJournal(t, client) })
	f := e2etest.New(t, ctx)
	f.ExtraArgs = append([]string{"--etcd", cluster.Endpoints(), "--lease-ttl", "2s"}, startAgentOn(ctx, t, f)...)
	st, _ := f.ServeV1(ctx, "Deploy web v1")
	c2 := f.Commit(ctx, f.Artifacts["v2"], "", "Deploy web v2")
	v2 := f.Judged(ctx, t, c2).Services[0].Release
	waitCanaryOf(ctx, t, f, v2)
	cluster.Kill(t, 1)
	cluster.Kill(t, 2)
	lost := time.Now()
	t.Log("two of three etcd members killed during v2's canary")
	admin, err := router.NewClient(f.RouterAdmin, "")
	if err != nil {
		t.Fatal(err)
	}
	// The lease (2s) runs out; from then on nothing may change.
	time.Sleep(3 * time.Second)
	before, err := admin.Split(ctx, "web")
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(8 * time.Second) // longer than the canary's bake: a leader acting would promote it
	after, err := admin.Split(ctx, "web")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(before.Backends, after.Backends) {
		t.Errorf("the split changed without quorum:\nbefore %+v\nafter  %+v", before.Backends, after.Backends)
	}
	st.AssertNoFailedRequests(t)
	cluster.Restart(t, 1)
	cluster.Restart(t, 2)
	t.Logf("the members back %s after they were killed", time.Since(lost).Round(time.Second))
	f.Converge(ctx, st, "v2 once etcd has quorum again", c2, "v2")
	st.AssertNoFailedRequests(t)
}
