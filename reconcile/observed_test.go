package reconcile

import (
	"context"
	"testing"

	"github.com/durable-delivery/durable/adapters"
	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/schema"
)

// countingFake is a test double, not an adapter: a traffic adapter that is
// a health source and counts the counters asked of it.
type countingFake struct {
	adapters.Traffic
	asked int
}

func (c *countingFake) SetMetrics(context.Context, string, string) (adapters.SetMetrics, error) {
	c.asked++
	return adapters.SetMetrics{Requests: 7}, nil
}

// The sets are counted for the status only while someone reads it, and at
// most every countEvery: a pass nobody watches makes no extra adapter call.
func TestSetsAreCountedOnlyWhileTheStatusIsRead(t *testing.T) {
	r := &Reconciler{}
	tr := &countingFake{}
	split := adapters.Split{Service: "web", Backends: []adapters.Backend{{Set: "a", Weight: 90}, {Set: "b", Weight: 10}}}
	ctx := context.Background()
	r.countServed(ctx, schema.Target{Name: "t"}, tr, split)
	if tr.asked != 0 {
		t.Fatalf("%d counter reads with no status read, want 0", tr.asked)
	}
	r.observed.addTo(&api.Status{})
	r.countServed(ctx, schema.Target{Name: "t"}, tr, split)
	r.countServed(ctx, schema.Target{Name: "t"}, tr, split)
	if tr.asked != 2 {
		t.Fatalf("%d counter reads after a status read, want one per set (2), once per countEvery", tr.asked)
	}
	if n, ok := r.observed.served("a", 5); !ok || n != 2 {
		t.Fatalf("served since 5: %d, %v; want 2 from the observed 7", n, ok)
	}
}
