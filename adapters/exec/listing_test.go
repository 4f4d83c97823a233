package exec

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/durable-delivery/durable/adapters"
)

// TestLastListingAgreesWithDecoding: over generated sequences of listing
// results — valid ones, the same bytes again, the same content spaced
// differently, wrong types, truncated, null, unknown fields — decoding
// through the last listing gives what decoding the bytes afresh gives
// (the same error or none, the same value), and a caller changing what it
// got changes nothing the next call is given.
func TestLastListingAgreesWithDecoding(t *testing.T) {
	for seed := range uint64(200) {
		rng := rand.New(rand.NewPCG(seed, 11))
		observed, splits := newObserved(), newListedSplits()
		var last string
		for op := range 40 {
			data := randomListing(rng, last)
			last = data
			where := fmt.Sprintf("seed %d, op %d, result %.200s", seed, op, data)
			checkListing(t, where, observed, decodeObserved, []byte(data), func(v []adapters.InfraSetStatus) {
				for i := range v {
					v[i].ID = "changed"
					for j := range v[i].Instances {
						v[i].Instances[j].Endpoint = "changed"
					}
				}
			})
			checkListing(t, where, splits, decodeSplits, []byte(data), func(v []adapters.Split) {
				for i := range v {
					v[i].Service = "changed"
					for j := range v[i].Backends {
						v[i].Backends[j].Weight = -1
						for k := range v[i].Backends[j].Endpoints {
							v[i].Backends[j].Endpoints[k] = "changed"
						}
					}
				}
			})
		}
	}
}

func checkListing[T any](t *testing.T, where string, l *lastListing[T], decode func([]byte) (T, error), data []byte, change func(T)) {
	t.Helper()
	for range 2 { // the second time from what the first kept
		var got T
		err := json.Unmarshal(data, l.into(&got))
		want, wantErr := decode(data)
		if (err == nil) != (wantErr == nil) {
			t.Fatalf("%s: through the last listing the error is %v, decoded afresh %v", where, err, wantErr)
		}
		if err != nil {
			return
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: through the last listing\n%+v\ndecoded afresh\n%+v", where, got, want)
		}
		change(got)
	}
}

// randomListing is a listing result: often the last one again, byte for
// byte or respaced; else sets and splits, valid or broken.
func randomListing(rng *rand.Rand, last string) string {
	switch rng.IntN(10) {
	case 0, 1, 2:
		if last != "" {
			return last
		}
	case 3:
		if last != "" {
			return strings.ReplaceAll(last, ",", " ,\n")
		}
	case 4:
		return []string{"null", "[]", "{}", `"sets"`, "[null]", "[1]", `[{"id": 5}]`, `[{"instances": {}}]`}[rng.IntN(8)]
	case 5:
		if last != "" {
			return last[:rng.IntN(len(last))]
		}
	}
	var items []string
	for i := range rng.IntN(4) {
		var ins, backends []string
		for j := range rng.IntN(3) {
			ins = append(ins, fmt.Sprintf(`{"index": %d, "endpoint": "127.0.0.1:%d"}`, j, 8000+rng.IntN(3)))
			eps := []string{}
			if rng.IntN(3) > 0 {
				eps = append(eps, fmt.Sprintf(`"127.0.0.1:%d"`, rng.IntN(3)))
			}
			backends = append(backends, fmt.Sprintf(`{"set": "s%d", "weight": %d, "endpoints": [%s]}`, j, rng.IntN(101), strings.Join(eps, ",")))
		}
		extra := ""
		if rng.IntN(5) == 0 {
			extra = `, "unknown": {"x": [1, 2]}`
		}
		items = append(items, fmt.Sprintf(`{"id": "set-%d", "service": "svc-%d", "release": "r", "instances": [%s], "backends": [%s]%s}`,
			i, rng.IntN(3), strings.Join(ins, ","), strings.Join(backends, ","), extra))
	}
	return "[" + strings.Join(items, ",") + "]"
}
