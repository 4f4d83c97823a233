package analysis

import (
	"reflect"
	"testing"

	"github.com/durable-delivery/durable/adapters"
	"github.com/durable-delivery/durable/api"
)

// TestSinceCountsOnlyTheStep: a step is judged on what was counted since
// it started, never on a set's earlier life (a re-made set id counts on
// from its last life's counters), and counters that went back (the traffic
// adapter restarted) give all of now, never an unsigned subtraction's
// wrap-around.
func TestSinceCountsOnlyTheStep(t *testing.T) {
	c := func(req, errs uint64, lat []adapters.LatencyBucket) api.Counters {
		return api.Counters{Requests: req, ServerErrors: errs, Latency: lat}
	}
	for _, tc := range []struct {
		name            string
		now, base, want api.Counters
	}{
		{"nothing since the step started", c(300, 300, nil), c(300, 300, nil), c(0, 0, nil)},
		{"no new errors", c(330, 300, nil), c(300, 300, nil), c(30, 0, nil)},
		{"requests went back, errors did not", c(5, 3, nil), c(10, 2, nil), c(5, 3, nil)},
		{"errors went back, requests did not", c(20, 1, nil), c(10, 2, nil), c(20, 1, nil)},
		{"a step counted from zero keeps the histogram", c(20, 0, hist(20, 0.005)), c(0, 0, nil), c(20, 0, hist(20, 0.005))},
		{"buckets as full as at the start (the fast ones, empty)", c(30, 0, hist(30, 0.25)), c(10, 0, hist(10, 0.25)), c(20, 0, hist(20, 0.25))},
		{"a histogram that went back", c(30, 0, hist(5, 0.005)), c(10, 0, hist(10, 0.005)), c(30, 0, hist(5, 0.005))},
	} {
		if got := Since(tc.now, tc.base); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
	other := hist(10, 0.005)
	other[0].UpperBound = 0.001
	if got := Since(c(30, 0, hist(30, 0.005)), c(10, 0, other)); !reflect.DeepEqual(got, c(30, 0, hist(30, 0.005))) {
		t.Errorf("buckets on other bounds: %+v, want all of now", got)
	}
}

// TestEmptyHistogramHasNoQuantile: a histogram that counted nothing gives
// no p90, even when the request counter says requests were served: the
// latency is then not judged, never taken as the fastest bucket.
func TestEmptyHistogramHasNoQuantile(t *testing.T) {
	for _, n := range []uint64{0, 1} {
		q, ok := quantile(api.Counters{Requests: 30, Latency: hist(n, 0.25)}, 0.9)
		if ok != (n > 0) || (ok && q != 0.25) {
			t.Errorf("p90 of %d requests at 250ms: %v, %v", n, q, ok)
		}
	}
}
