// Package haproxy is the traffic adapter that drives a real HAProxy through
// its Runtime API on a unix socket: one backend per service (declared in
// HAProxy's bootstrap configuration), one dynamic server per instance, added
// and removed at run time without a reload. Server weights are set so that
// the split between infra-sets is the requested one; a server that leaves
// is put in maintenance (no new request, in-flight ones finish) and deleted
// once it has no session left.
//
// It is also a health source: per-server 5xx and session counts from
// HAProxy's statistics. It knows nothing of Git, CUE, policies or the journal.
package haproxy

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/durable-delivery/durable/adapters"
	"github.com/durable-delivery/durable/adapters/haproxy/settings"
)

func init() {
	adapters.RegisterTraffic("haproxy", func(config json.RawMessage, host adapters.Host) (adapters.Traffic, error) {
		var cfg settings.HAProxy
		if err := adapters.DecodeConfig(config, &cfg); err != nil {
			return nil, fmt.Errorf("haproxy: %w", err)
		}
		h, err := host.Config.HAProxySocket(cfg.Socket)
		if err != nil {
			return nil, fmt.Errorf("haproxy: %w: %w", err, adapters.ErrInvalid)
		}
		return New(h.Socket), nil
	})
}

// Client drives one HAProxy through its Runtime API.
type Client struct {
	socket string
	// mu keeps one split change at a time, so concurrent calls never
	// interleave their commands.
	mu sync.Mutex
}

var (
	_ adapters.Traffic      = (*Client)(nil)
	_ adapters.HealthSource = (*Client)(nil)
)

// New returns a client of the Runtime API at socket (level admin).
func New(socket string) *Client { return &Client{socket: socket} }

// server is one dynamic server of a backend.
type server struct {
	name   string
	addr   string
	weight int
	maint  bool
}

// serverSep separates the infra-set from the endpoint in a server's name.
const serverSep = "__"

var safeName = regexp.MustCompile(`^[A-Za-z0-9._-]{1,100}$`)

func serverName(set, endpoint string) string {
	return set + serverSep + strings.NewReplacer(":", "_", "[", "", "]", "").Replace(endpoint)
}

func setOf(name string) string {
	set, _, _ := strings.Cut(name, serverSep)
	return set
}

// maintMask are the admin-state bits that keep a server out of the traffic.
const maintMask = 0x01 | 0x02 | 0x04 | 0x20 | 0x40

// servers reads the backend's servers with `show servers state`.
func (c *Client) servers(ctx context.Context, backend string) (map[string]server, error) {
	out, err := c.command(ctx, "show servers state "+backend)
	if err != nil {
		return nil, err
	}
	servers := map[string]server{}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) < 19 || strings.HasPrefix(line, "#") || f[1] != backend {
			continue
		}
		admin, _ := strconv.Atoi(f[6])
		weight, _ := strconv.Atoi(f[7])
		servers[f[3]] = server{name: f[3], addr: net.JoinHostPort(f[4], f[18]), weight: weight, maint: admin&maintMask != 0}
	}
	return servers, nil
}

// SetSplit applies the split: new servers are added and made ready, weights
// that grow are raised before those that shrink, and servers that leave are
// put in maintenance (then deleted once drained).
func (c *Client) SetSplit(ctx context.Context, split adapters.Split) error {
	weights, err := serverWeights(split)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	be := split.Service
	current, err := c.servers(ctx, be)
	if err != nil {
		return err
	}
	type change struct {
		name   string
		addr   string
		weight int
		grows  bool
	}
	var changes []change
	for name, w := range weights {
		cur, ok := current[name]
		changes = append(changes, change{name: name, addr: w.addr, weight: w.weight, grows: !ok || cur.maint || w.weight >= cur.weight})
		if !ok {
			if _, err := c.command(ctx, fmt.Sprintf("add server %s/%s %s weight %d", be, name, w.addr, w.weight)); err != nil {
				return err
			}
		}
	}
	sort.Slice(changes, func(i, j int) bool { return changes[i].grows && !changes[j].grows })
	for _, ch := range changes {
		if _, err := c.command(ctx, fmt.Sprintf("set server %s/%s weight %d", be, ch.name, ch.weight)); err != nil {
			return err
		}
		if _, err := c.command(ctx, fmt.Sprintf("set server %s/%s state ready", be, ch.name)); err != nil {
			return err
		}
	}
	for name, s := range current {
		if _, wanted := weights[name]; wanted {
			continue
		}
		if !s.maint {
			if _, err := c.command(ctx, fmt.Sprintf("set server %s/%s state maint", be, name)); err != nil {
				return err
			}
		}
		// Deleting fails while sessions remain: the server stays in
		// maintenance and a later call deletes it.
		_, _ = c.command(ctx, fmt.Sprintf("del server %s/%s", be, name))
	}
	return nil
}

// Split reads back the split HAProxy applies, from its servers' weights.
func (c *Client) Split(ctx context.Context, service string) (adapters.Split, error) {
	servers, err := c.servers(ctx, service)
	if err != nil {
		return adapters.Split{}, err
	}
	split := adapters.Split{Service: service}
	units := map[string]int{}
	endpoints := map[string][]string{}
	total := 0
	for _, s := range servers {
		if s.maint {
			continue
		}
		set := setOf(s.name)
		units[set] += s.weight
		endpoints[set] = append(endpoints[set], s.addr)
		total += s.weight
	}
	for _, set := range sortedKeys(endpoints) {
		sort.Strings(endpoints[set])
		split.Backends = append(split.Backends, adapters.Backend{Set: set, Endpoints: endpoints[set]})
	}
	for i, pct := range percentages(split.Backends, units, total) {
		split.Backends[i].Weight = pct
	}
	return split, nil
}

// InFlight sums the current sessions of the set's servers.
func (c *Client) InFlight(ctx context.Context, service, set string) (int, error) {
	stats, err := c.stats(ctx, service)
	if err != nil {
		return 0, err
	}
	n := 0
	for name, s := range stats {
		if setOf(name) == set {
			n += int(s.current)
		}
	}
	return n, nil
}

// SetMetrics sums the set's servers' statistics: sessions as requests, and
// 5xx responses. HAProxy keeps no latency histogram per server.
func (c *Client) SetMetrics(ctx context.Context, service, set string) (adapters.SetMetrics, error) {
	stats, err := c.stats(ctx, service)
	if err != nil {
		return adapters.SetMetrics{}, err
	}
	var m adapters.SetMetrics
	found := false
	for name, s := range stats {
		if setOf(name) == set {
			found = true
			m.Requests += s.total
			m.ServerErrors += s.errors5xx
		}
	}
	if !found {
		return m, fmt.Errorf("haproxy: no server of %s/%s: %w", service, set, adapters.ErrNotFound)
	}
	return m, nil
}

type serverStats struct {
	current, total, errors5xx uint64
}

// stats reads `show stat` for the backend's servers.
func (c *Client) stats(ctx context.Context, backend string) (map[string]serverStats, error) {
	out, err := c.command(ctx, "show stat")
	if err != nil {
		return nil, err
	}
	lines := strings.Split(out, "\n")
	if len(lines) == 0 || !strings.HasPrefix(lines[0], "# ") {
		return nil, fmt.Errorf("haproxy: show stat: unexpected answer: %w", adapters.ErrUnavailable)
	}
	col := map[string]int{}
	for i, name := range strings.Split(strings.TrimPrefix(lines[0], "# "), ",") {
		col[name] = i
	}
	out2 := map[string]serverStats{}
	known := false
	for _, line := range lines[1:] {
		f := strings.Split(line, ",")
		if len(f) <= col["hrsp_5xx"] || f[col["pxname"]] != backend {
			continue
		}
		known = true
		name := f[col["svname"]]
		if name == "BACKEND" || name == "FRONTEND" {
			continue
		}
		num := func(k string) uint64 { n, _ := strconv.ParseUint(f[col[k]], 10, 64); return n }
		out2[name] = serverStats{current: num("scur"), total: num("stot"), errors5xx: num("hrsp_5xx")}
	}
	if !known {
		return nil, fmt.Errorf("haproxy: no backend %q: %w", backend, adapters.ErrNotFound)
	}
	return out2, nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
