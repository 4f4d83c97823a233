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
	// The member killed may have been the leader: the two left elect one
	// (etcd's election timeout, 1 s, randomised up to twice that) before
	// they commit a write.
	if err := putWithin(put, 15*time.Second); err != nil {
		t.Fatalf("a write with two of three members, within 15s: %v", err)
	}
	c.Kill(t, 1)
	if err := put(2 * time.Second); err == nil {
		t.Fatal("a write with one of three members succeeded: no quorum is needed?")
	}
	c.Restart(t, 1)
	c.Restart(t, 2)
	if err := putWithin(put, 20*time.Second); err != nil {
		t.Fatalf("the cluster did not answer again within 20s of its members coming back: %v", err)
	}
}

// putWithin tries put, 2 s at a time, until it succeeds or within has
// passed, and returns its last error.
func putWithin(put func(time.Duration) error, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		err := put(2 * time.Second)
		if err == nil || time.Now().After(deadline) {
			return err
		}
	}
}
