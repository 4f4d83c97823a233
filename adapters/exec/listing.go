package exec

import (
	"bytes"
	"encoding/json"
	"slices"
	"sync"

	"github.com/durable-delivery/durable/adapters"
)

// lastListing remembers a listing call's last result (observe, splits) as
// the plug-in sent it and as it was decoded. The reconciler lists every
// target each idle period, a fleet's listing is mostly the same each time,
// and decoding it again was most of what an idle reconciler did: the same
// bytes are given what they decoded to, copied. Errors are not kept.
type lastListing[T any] struct {
	mu     sync.Mutex
	raw    []byte
	val    T
	decode func([]byte) (T, error)
	clone  func(T) T
}

// into is what a call decodes its result into to fill *out through l.
func (l *lastListing[T]) into(out *T) *listingResult[T] { return &listingResult[T]{l, out} }

// listingResult decodes a call's result through its lastListing.
type listingResult[T any] struct {
	l   *lastListing[T]
	out *T
}

// UnmarshalJSON fills the result from data: what the same bytes decoded to
// last time, or decoded now.
func (d *listingResult[T]) UnmarshalJSON(data []byte) error {
	l := d.l
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.raw == nil || !bytes.Equal(data, l.raw) {
		v, err := l.decode(data)
		if err != nil {
			return err
		}
		l.raw, l.val = bytes.Clone(data), v
	}
	*d.out = l.clone(l.val)
	return nil
}

// newObserved is the last listing of what a runtime plug-in runs.
func newObserved() *lastListing[[]adapters.InfraSetStatus] {
	return &lastListing[[]adapters.InfraSetStatus]{decode: decodeObserved, clone: cloneStatuses}
}

// decodeObserved is an observe result as the adapter returns it: the
// instances' health is not checked by observe.
func decodeObserved(data []byte) ([]adapters.InfraSetStatus, error) {
	var sets []setJSON
	if err := json.Unmarshal(data, &sets); err != nil {
		return nil, err
	}
	out := make([]adapters.InfraSetStatus, 0, len(sets))
	for _, s := range sets {
		st := s.status()
		for i := range st.Instances {
			st.Instances[i].Reason = "health not checked by observe"
		}
		out = append(out, st)
	}
	return out, nil
}

func cloneStatuses(sets []adapters.InfraSetStatus) []adapters.InfraSetStatus {
	out := slices.Clone(sets)
	for i := range out {
		out[i].Instances = slices.Clone(out[i].Instances)
	}
	return out
}

// newListedSplits is the last listing of a traffic plug-in's splits.
func newListedSplits() *lastListing[[]adapters.Split] {
	return &lastListing[[]adapters.Split]{decode: decodeSplits, clone: cloneSplits}
}

func decodeSplits(data []byte) ([]adapters.Split, error) {
	var all []adapters.Split
	err := json.Unmarshal(data, &all)
	return all, err
}

func cloneSplits(all []adapters.Split) []adapters.Split {
	out := slices.Clone(all)
	for i := range out {
		out[i].Backends = slices.Clone(out[i].Backends)
		for j := range out[i].Backends {
			out[i].Backends[j].Endpoints = slices.Clone(out[i].Backends[j].Endpoints)
		}
	}
	return out
}
