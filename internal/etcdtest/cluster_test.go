package etcdtest

import (
	"context"
	"testing"
	"time"
)

// A three-member cluster answers with one member down, not with two, and
// again once they are back.
func TestClusterLosesAndRegainsQuorum(t *testing.T) {
	c := StartCluster(t, 3)
	cl := c.Client(t)
	put := func(timeout time.Duration) error {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		_, err := cl.Put(ctx, "k", "v")
		return err
	}
	if err := put(5 * time.Second); err != nil {
		t.Fatalf("a write to the whole cluster: %v", err)
	}
	c.Kill(t, 2)
	if err := put(5 * time.Second); err != nil {
		t.Fatalf("a write with two of three members: %v", err)
	}
	c.Kill(t, 1)
	if err := put(2 * time.Second); err == nil {
		t.Fatal("a write with one of three members succeeded: no quorum is needed?")
	}
	c.Restart(t, 1)
	c.Restart(t, 2)
	deadline := time.Now().Add(20 * time.Second)
	for put(2*time.Second) != nil {
		if time.Now().After(deadline) {
			t.Fatal("the cluster did not answer again within 20s of its members coming back")
		}
	}
}
