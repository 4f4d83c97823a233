package router

import (
	"strings"
	"sync"
	"sync/atomic"

	"github.com/durable-delivery/durable/adapters"
)

// table is an immutable routing table: service → its route. A new split
// builds a new table that replaces the old one atomically, so a request sees
// either the old split or the new one, never a mix.
type table struct {
	routes map[string]*route
}

// route is one service's split with the state of its weighted round-robin.
type route struct {
	split adapters.Split

	mu   sync.Mutex
	sets []*setRoute
}

// setRoute is one infra-set in a route.
type setRoute struct {
	id        string
	weight    int
	current   int // smooth weighted round-robin state, guarded by route.mu
	endpoints []string
	next      atomic.Uint64
	// header is the value of setHeader in the answers the set serves.
	header []string
	// counters outlive the route: they belong to the set for as long as the
	// router runs.
	counters *setCounters
}

func newRoute(split adapters.Split, m *metrics) *route {
	r := &route{split: split}
	for _, b := range split.Backends {
		r.sets = append(r.sets, &setRoute{
			id: b.Set, weight: b.Weight, endpoints: b.Endpoints, header: []string{b.Set},
			counters: m.of(split.Service, b.Set),
		})
	}
	return r
}

// lookup finds the route of a request's host: the service named by the
// host's first label, or the only service when there is just one.
func (t *table) lookup(host string) *route {
	name, _, _ := strings.Cut(host, ".")
	name, _, _ = strings.Cut(name, ":")
	if r, ok := t.routes[strings.ToLower(name)]; ok {
		return r
	}
	// A router that serves one service serves it on any host; a preview
	// route ("<service>-preview") is only ever reached by its own name.
	var only *route
	n := 0
	for service, r := range t.routes {
		if !strings.HasSuffix(service, previewSuffix) {
			only, n = r, n+1
		}
	}
	if n == 1 {
		return only
	}
	return nil
}

// previewSuffix names a service's preview route: the new set of a
// blue/green rollout, alone, before the switch.
const previewSuffix = "-preview"

// pick chooses the infra-set for the next request with smooth weighted
// round-robin (as nginx does): over any window of sum(weights) requests the
// split is exact, and picks are spread rather than bunched.
func (r *route) pick() *setRoute {
	r.mu.Lock()
	defer r.mu.Unlock()
	total := 0
	var best *setRoute
	for _, s := range r.sets {
		if s.weight <= 0 {
			continue
		}
		s.current += s.weight
		total += s.weight
		if best == nil || s.current > best.current {
			best = s
		}
	}
	if best != nil {
		best.current -= total
	}
	return best
}

// fallback returns the i-th set a request may be sent to, nil past the
// last: the picked one first, then every other set with traffic. A set at
// weight 0 is never one, so a request never reaches a set the split took
// traffic from. It allocates nothing: it runs on every request.
func (r *route) fallback(picked *setRoute, i int) *setRoute {
	if i == 0 {
		return picked
	}
	for _, s := range r.sets {
		if s != picked && s.weight > 0 {
			if i--; i == 0 {
				return s
			}
		}
	}
	return nil
}

// firstEndpoint returns where the set's round-robin starts this request:
// its endpoints are tried from there, wrapping around, so that a retry can
// walk the rest.
func (s *setRoute) firstEndpoint() int {
	return int((s.next.Add(1) - 1) % uint64(len(s.endpoints)))
}

// with returns a copy of the table with the service's split replaced (or
// removed when split is nil).
func (t *table) with(service string, split *adapters.Split, m *metrics) *table {
	next := &table{routes: make(map[string]*route, len(t.routes)+1)}
	for k, v := range t.routes {
		next.routes[k] = v
	}
	if split == nil {
		delete(next.routes, service)
	} else {
		next.routes[service] = newRoute(*split, m)
	}
	return next
}

func (t *table) splits() map[string]adapters.Split {
	out := make(map[string]adapters.Split, len(t.routes))
	for k, v := range t.routes {
		out[k] = v.split
	}
	return out
}
