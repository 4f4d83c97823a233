package haproxy

import (
	"fmt"
	"math"
	"net"
	"sort"

	"github.com/durable-delivery/durable/adapters"
)

// maxWeight is HAProxy's largest server weight.
const maxWeight = 256

type serverWeight struct {
	addr   string
	weight int
}

// serverWeights spreads each set's percentage over its servers so that the
// sets' shares are the requested ones: with L the least common multiple of
// the sets' server counts, a server of a set at w% gets w·L/n, all divided by
// their greatest common divisor. 25/75 over 2 and 2 servers gives 1 and 3;
// 50/50 over 3 and 2 gives 2 and 3. Only when that exceeds HAProxy's largest
// weight are the weights scaled down, and the split is then approximate.
func serverWeights(split adapters.Split) (map[string]serverWeight, error) {
	if !safeName.MatchString(split.Service) {
		return nil, fmt.Errorf("haproxy: service %q is not a backend name (letters, digits, '.', '_', '-'): %w", split.Service, adapters.ErrInvalid)
	}
	sum, lcm := 0, 1
	for _, b := range split.Backends {
		if !safeName.MatchString(b.Set) {
			return nil, fmt.Errorf("haproxy: infra-set %q is not usable in a server name: %w", b.Set, adapters.ErrInvalid)
		}
		if b.Weight < 0 || b.Weight > 100 {
			return nil, fmt.Errorf("haproxy: infra-set %s: weight %d is not a percentage: %w", b.Set, b.Weight, adapters.ErrInvalid)
		}
		if b.Weight > 0 && len(b.Endpoints) == 0 {
			return nil, fmt.Errorf("haproxy: infra-set %s has weight %d but no endpoint: %w", b.Set, b.Weight, adapters.ErrInvalid)
		}
		for _, ep := range b.Endpoints {
			if _, _, err := net.SplitHostPort(ep); err != nil {
				return nil, fmt.Errorf("haproxy: infra-set %s: endpoint %q is not HOST:PORT: %w", b.Set, ep, adapters.ErrInvalid)
			}
		}
		sum += b.Weight
		if b.Weight > 0 {
			lcm = lcm / gcd(lcm, len(b.Endpoints)) * len(b.Endpoints)
		}
	}
	if sum != 100 && sum != 0 {
		return nil, fmt.Errorf("haproxy: weights sum to %d; they must sum to 100 (or all be 0): %w", sum, adapters.ErrInvalid)
	}
	raw := map[string]int{}
	out := map[string]serverWeight{}
	g, top := 0, 0
	for _, b := range split.Backends {
		for _, ep := range b.Endpoints {
			w := 0
			if b.Weight > 0 {
				w = b.Weight * lcm / len(b.Endpoints)
				g = gcd(g, w)
				top = max(top, w)
			}
			name := serverName(b.Set, ep)
			raw[name] = w
			out[name] = serverWeight{addr: ep}
		}
	}
	for name, w := range raw {
		if g > 0 {
			w /= g
		}
		if top/max(g, 1) > maxWeight && w > 0 {
			w = max(1, int(math.Round(float64(w)*maxWeight/float64(top/g))))
		}
		sw := out[name]
		sw.weight = w
		out[name] = sw
	}
	return out, nil
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// percentages turns the sets' weight units into percentages summing to 100
// (largest remainder first), or all 0 when nothing has weight.
func percentages(backends []adapters.Backend, units map[string]int, total int) []int {
	out := make([]int, len(backends))
	if total == 0 {
		return out
	}
	type rem struct {
		i    int
		frac float64
	}
	var rems []rem
	given := 0
	for i, b := range backends {
		exact := float64(units[b.Set]) * 100 / float64(total)
		out[i] = int(exact)
		given += out[i]
		rems = append(rems, rem{i, exact - float64(out[i])})
	}
	sort.SliceStable(rems, func(a, b int) bool { return rems[a].frac > rems[b].frac })
	for k := 0; given < 100 && k < len(rems); k++ {
		out[rems[k].i]++
		given++
	}
	return out
}
