package api

import (
	"encoding/json"
	"fmt"
	"math"
)

// latencyBucketWire is LatencyBucket on the wire. JSON has no infinity, so
// the last bound is written as the string "+Inf", as Prometheus does.
type latencyBucketWire struct {
	UpperBound json.RawMessage `json:"le"`
	Count      uint64          `json:"count"`
}

var infBound = json.RawMessage(`"+Inf"`)

// MarshalJSON writes an infinite bound as "+Inf" and any other as a number.
func (b LatencyBucket) MarshalJSON() ([]byte, error) {
	w := latencyBucketWire{Count: b.Count, UpperBound: infBound}
	if !math.IsInf(b.UpperBound, 1) {
		n, err := json.Marshal(b.UpperBound)
		if err != nil {
			return nil, fmt.Errorf("latency bucket bound: %w", err)
		}
		w.UpperBound = n
	}
	return json.Marshal(w)
}

// UnmarshalJSON reads a bound written by MarshalJSON: a number or "+Inf".
func (b *LatencyBucket) UnmarshalJSON(data []byte) error {
	var w latencyBucketWire
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	b.Count = w.Count
	if string(w.UpperBound) == string(infBound) {
		b.UpperBound = math.Inf(1)
		return nil
	}
	if err := json.Unmarshal(w.UpperBound, &b.UpperBound); err != nil {
		return fmt.Errorf(`latency bucket "le" must be a number or "+Inf": %w`, err)
	}
	return nil
}
