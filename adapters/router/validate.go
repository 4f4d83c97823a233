package router

import (
	"fmt"
	"net"
	"regexp"
	"strconv"

	"github.com/durable-delivery/durable/adapters"
)

var serviceName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// maxBackends and maxEndpoints bound one split.
const (
	maxBackends  = 64
	maxEndpoints = 1024
)

// validateSplit checks a split before it may replace the current one. Each
// error says what is wrong and how to fix it.
func validateSplit(s adapters.Split) error {
	if !serviceName.MatchString(s.Service) {
		return fmt.Errorf("service %q: a service name is 1 to 63 lowercase letters, digits or '-'", s.Service)
	}
	if len(s.Backends) > maxBackends {
		return fmt.Errorf("%d backends: at most %d infra-sets per service", len(s.Backends), maxBackends)
	}
	sum := 0
	seen := map[string]bool{}
	for i, b := range s.Backends {
		where := fmt.Sprintf("backends[%d]", i)
		if b.Set == "" || len(b.Set) > 200 {
			return fmt.Errorf("%s: set must be a non-empty infra-set id of at most 200 bytes", where)
		}
		if seen[b.Set] {
			return fmt.Errorf("%s: infra-set %q appears twice; list each set once", where, b.Set)
		}
		seen[b.Set] = true
		if b.Weight < 0 || b.Weight > 100 {
			return fmt.Errorf("%s: weight %d: use a percentage from 0 to 100", where, b.Weight)
		}
		if b.Weight > 0 && len(b.Endpoints) == 0 {
			return fmt.Errorf("%s: infra-set %q has weight %d but no endpoint: give it endpoints or weight 0", where, b.Set, b.Weight)
		}
		if len(b.Endpoints) > maxEndpoints {
			return fmt.Errorf("%s: %d endpoints: at most %d", where, len(b.Endpoints), maxEndpoints)
		}
		for _, ep := range b.Endpoints {
			host, port, err := net.SplitHostPort(ep)
			if err != nil || host == "" {
				return fmt.Errorf("%s: endpoint %q is not HOST:PORT", where, ep)
			}
			if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
				return fmt.Errorf("%s: endpoint %q: port must be 1 to 65535", where, ep)
			}
		}
		sum += b.Weight
	}
	if sum != 100 && sum != 0 {
		return fmt.Errorf("weights sum to %d: they must sum to 100 (or all be 0 to stop the traffic)", sum)
	}
	return nil
}
