package webhook

import (
	"crypto/sha256"
	"sync"
)

// DefaultRemembered is how many delivery ids a receiver remembers: a forge
// retries within hours, far fewer deliveries than this.
const DefaultRemembered = 10000

// Deliveries remembers the ids of the last deliveries handled, so that a
// retry of one is ignored. Its memory is bounded: it keeps a digest of each
// id (32 bytes, however long the id), and forgets the oldest past its
// capacity. It is safe for concurrent use.
type Deliveries struct {
	mu   sync.Mutex
	seen map[[sha256.Size]byte]struct{}
	ring [][sha256.Size]byte
	next int
}

// NewDeliveries remembers up to capacity ids (at least one).
func NewDeliveries(capacity int) *Deliveries {
	capacity = max(capacity, 1)
	return &Deliveries{seen: make(map[[sha256.Size]byte]struct{}, capacity), ring: make([][sha256.Size]byte, 0, capacity)}
}

// First records the delivery id of kind and reports whether it is the first
// time it is seen. Checking and recording are one step, so of two
// concurrent deliveries with one id, only one is the first.
func (d *Deliveries) First(kind Kind, id string) bool {
	key := sha256.Sum256([]byte(string(kind) + "\x00" + id))
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.seen[key]; ok {
		return false
	}
	if len(d.ring) < cap(d.ring) {
		d.ring = append(d.ring, key)
	} else {
		delete(d.seen, d.ring[d.next])
		d.ring[d.next] = key
		d.next = (d.next + 1) % len(d.ring)
	}
	d.seen[key] = struct{}{}
	return true
}
