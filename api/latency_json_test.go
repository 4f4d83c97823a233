package api

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
)

func TestLatencyBucketsRoundTripInfinity(t *testing.T) {
	in := SetMetrics{Requests: 3, LatencyBuckets: []LatencyBucket{{UpperBound: 0.5, Count: 2}, {UpperBound: math.Inf(1), Count: 3}}}
	data, err := json.Marshal(in)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	if !strings.Contains(string(data), `"le":"+Inf"`) || !strings.Contains(string(data), `"le":0.5`) {
		t.Fatalf("wire form %s: want le 0.5 and \"+Inf\"", data)
	}
	var out SetMetrics
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatalf("unmarshal: %v", err)
	}
	if len(out.LatencyBuckets) != 2 || out.LatencyBuckets[0] != in.LatencyBuckets[0] || !math.IsInf(out.LatencyBuckets[1].UpperBound, 1) || out.LatencyBuckets[1].Count != 3 {
		t.Fatalf("round trip: got %+v, want %+v", out, in)
	}
}

func TestLatencyBucketRejectsBadBound(t *testing.T) {
	var b LatencyBucket
	for _, bad := range []string{`{"le":"Inf","count":1}`, `{"le":true,"count":1}`, `{"le":[1],"count":1}`} {
		if err := json.Unmarshal([]byte(bad), &b); err == nil {
			t.Errorf("%s: want an error, got %+v", bad, b)
		}
	}
}
