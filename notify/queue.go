package notify

import "sync"

// queue is a sink's bounded queue of events: push never waits, and drops
// the oldest event when the queue is full. Its memory is its capacity.
type queue struct {
	mu    sync.Mutex
	items []*Event // a ring of cap(items) slots
	head  int      // the oldest event's slot
	n     int
	// ready has a value while the queue may hold events, for the worker to
	// wait on.
	ready chan struct{}
}

func newQueue(capacity int) *queue {
	return &queue{items: make([]*Event, capacity), ready: make(chan struct{}, 1)}
}

// push adds ev, dropping the oldest event when the queue is full; it
// reports whether it dropped one.
func (q *queue) push(ev *Event) (dropped bool) {
	q.mu.Lock()
	if q.n == len(q.items) {
		q.items[q.head] = nil
		q.head = (q.head + 1) % len(q.items)
		q.n--
		dropped = true
	}
	q.items[(q.head+q.n)%len(q.items)] = ev
	q.n++
	q.mu.Unlock()
	select {
	case q.ready <- struct{}{}:
	default:
	}
	return dropped
}

// pop takes the oldest event, or nil when the queue is empty.
func (q *queue) pop() *Event {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.n == 0 {
		return nil
	}
	ev := q.items[q.head]
	q.items[q.head] = nil
	q.head = (q.head + 1) % len(q.items)
	q.n--
	return ev
}

// len is how many events wait.
func (q *queue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.n
}
