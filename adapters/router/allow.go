package router

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// DefaultAllowEndpoints are the endpoints a split may name when the
// operator gives no --allow-endpoints: this host's loopback only.
var DefaultAllowEndpoints = []string{"127.0.0.0/8", "::1/128", "localhost:1-65535"}

// maxAllowEntries bounds --allow-endpoints.
const maxAllowEntries = 1024

// Allow is the set of endpoints the operator lets a split name: networks
// (any port) and hosts with a port range. A host name matches only the same
// name: names are never resolved, since what they resolve to may change.
type Allow struct {
	nets  []netip.Prefix
	hosts []hostPorts
}

type hostPorts struct {
	host   string
	lo, hi int
}

// ParseAllow reads --allow-endpoints entries: CIDR (10.0.0.0/8) or
// HOST:PORT or HOST:LOW-HIGH; none means DefaultAllowEndpoints.
func ParseAllow(entries []string) (*Allow, error) {
	if len(entries) == 0 {
		entries = DefaultAllowEndpoints
	}
	if len(entries) > maxAllowEntries {
		return nil, fmt.Errorf("--allow-endpoints: %d entries, at most %d: use CIDRs", len(entries), maxAllowEntries)
	}
	a := &Allow{}
	for _, e := range entries {
		if p, err := netip.ParsePrefix(e); err == nil {
			a.nets = append(a.nets, p.Masked())
			continue
		}
		h, err := parseHostPorts(e)
		if err != nil {
			return nil, fmt.Errorf("--allow-endpoints %.100q: %v; write a CIDR (10.0.0.0/8) or HOST:PORT or HOST:LOW-HIGH (10.0.0.5:8000-8999)", e, err)
		}
		a.hosts = append(a.hosts, h)
	}
	return a, nil
}

func parseHostPorts(e string) (hostPorts, error) {
	host, ports, err := net.SplitHostPort(e)
	if err != nil || host == "" || len(host) > 253 {
		return hostPorts{}, fmt.Errorf("not a CIDR nor HOST:PORTS")
	}
	loS, hiS, isRange := strings.Cut(ports, "-")
	if !isRange {
		hiS = loS
	}
	lo, err1 := strconv.Atoi(loS)
	hi, err2 := strconv.Atoi(hiS)
	if err1 != nil || err2 != nil || lo < 1 || hi > 65535 || lo > hi {
		return hostPorts{}, fmt.Errorf("ports %q: use a port or a range LOW-HIGH within 1-65535", ports)
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		host = ip.Unmap().String()
	}
	return hostPorts{host: strings.ToLower(host), lo: lo, hi: hi}, nil
}

// Check says why endpoint (HOST:PORT, already valid) may not be named, or
// nil when it may.
func (a *Allow) Check(endpoint string) error {
	host, portS, err := net.SplitHostPort(endpoint)
	if err != nil {
		return fmt.Errorf("endpoint %q is not HOST:PORT", endpoint)
	}
	port, _ := strconv.Atoi(portS)
	host = strings.ToLower(host)
	if ip, err := netip.ParseAddr(host); err == nil {
		ip = ip.Unmap()
		host = ip.String()
		for _, n := range a.nets {
			if n.Contains(ip) {
				return nil
			}
		}
	}
	for _, h := range a.hosts {
		if h.host == host && port >= h.lo && port <= h.hi {
			return nil
		}
	}
	return fmt.Errorf("endpoint %s is not among the endpoints this router's operator allows (--allow-endpoints); ask them to add it, e.g. --allow-endpoints %s", endpoint, net.JoinHostPort(host, portS))
}
