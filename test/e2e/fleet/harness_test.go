package fleet

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/durable-delivery/durable/examples"
	"github.com/durable-delivery/durable/internal/fleetcerts"
	"github.com/durable-delivery/durable/internal/harness"
	"github.com/durable-delivery/durable/test/e2e/e2etest"
)

// A host is one network namespace of the fleet, with its address and its
// link on this machine's side (set down, it cuts the host off).
type host struct {
	name, ns, addr, link string
	dir                  string
	agent, router        *harness.Child
}

// fleet is a fleet on this machine: hosts in namespaces on a bridge whose
// address here is gateway, certificates for each, and a load balancer.
type fleet struct {
	t       testing.TB
	dir     string
	net     string // the /24's first three octets
	gateway string
	certs   string
	hosts   map[string]*host
	order   []string
	lb      string // the load balancer's HOST:PORT
	staging string // staging's router (on this host), HOST:PORT
}

// requireFleet fails (CI=true) or skips the test when this machine cannot
// make network namespaces.
func requireFleet(t testing.TB) {
	t.Helper()
	_, err := exec.LookPath("ip")
	if os.Geteuid() == 0 && err == nil {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("a fleet needs root and iproute2 (ip): hack/install-deps.sh installs iproute2; run the tests as root")
	}
	t.Skip("a fleet needs root and iproute2 (ip)")
}

// hackDir is the repository's hack/ folder.
func hackDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "hack")
}

// startFleet makes hosts lb and names with hack/fleet-up.sh under a prefix
// of the test's own, certificates from one CA, and on every host but lb a
// router and a `durable agent`; on lb an HAProxy balancing over the hosts'
// routers. Everything goes at the end of the test.
func startFleet(ctx context.Context, t testing.TB, names ...string) *fleet {
	t.Helper()
	requireFleet(t)
	prefix := fmt.Sprintf("f%04d", rand.IntN(10000))
	f := &fleet{t: t, dir: t.TempDir(), net: fmt.Sprintf("10.%d.%d", 80+rand.IntN(40), rand.IntN(250)), hosts: map[string]*host{}}
	f.gateway = f.net + ".1"
	env := append(os.Environ(), "FLEET_PREFIX="+prefix, "FLEET_NET="+f.net, "FLEET_DIR="+filepath.Join(f.dir, "fleet"))
	t.Cleanup(func() {
		for _, h := range f.hosts {
			for _, c := range []*harness.Child{h.agent, h.router} {
				if c != nil {
					c.Stop(5 * time.Second)
				}
			}
		}
		down := exec.Command(filepath.Join(hackDir(), "fleet-down.sh"))
		down.Env = env
		if out, err := down.CombinedOutput(); err != nil {
			t.Errorf("fleet-down.sh: %v\n%s", err, out)
		}
	})
	up := exec.CommandContext(ctx, filepath.Join(hackDir(), "fleet-up.sh"), append([]string{"lb"}, names...)...)
	up.Env = env
	if out, err := up.CombinedOutput(); err != nil {
		t.Fatalf("fleet-up.sh: %v\n%s", err, out)
	}
	f.readHosts()
	f.makeCerts(names)
	for _, name := range names {
		f.startHost(ctx, f.hosts[name])
	}
	f.startLoadBalancer(ctx, names)
	return f
}

// readHosts reads fleet-up.sh's hosts.tsv.
func (f *fleet) readHosts() {
	b, err := os.ReadFile(filepath.Join(f.dir, "fleet", "hosts.tsv"))
	if err != nil {
		f.t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		fields := strings.Split(line, "\t")
		if len(fields) != 4 {
			f.t.Fatalf("hosts.tsv: %q", line)
		}
		h := &host{name: fields[0], ns: fields[1], addr: fields[2], link: fields[3], dir: filepath.Join(f.dir, fields[0])}
		if err := os.MkdirAll(h.dir, 0o700); err != nil {
			f.t.Fatal(err)
		}
		f.hosts[h.name] = h
		f.order = append(f.order, h.name)
	}
}

// makeCerts makes the fleet's CA, a certificate for each host (naming its
// address too) and the reconciler's.
func (f *fleet) makeCerts(names []string) {
	f.certs = filepath.Join(f.dir, "certs")
	certs := map[string][]string{"reconciler": nil}
	for _, name := range names {
		certs[name] = []string{f.hosts[name].addr}
	}
	if err := fleetcerts.NewFleet(f.certs, "fleet-ca", certs, time.Now()); err != nil {
		f.t.Fatal(err)
	}
}

// Fleet flags are durable run's flags for this fleet's agents.
func (f *fleet) runFlags() []string {
	return []string{"--fleet-ca", filepath.Join(f.certs, "ca.crt"),
		"--fleet-cert", filepath.Join(f.certs, "reconciler.crt"), "--fleet-key", filepath.Join(f.certs, "reconciler.key")}
}

// inNS runs the durable binary in a host's namespace.
func inNS(h *host, name string, args ...string) (*harness.Child, error) {
	return harness.StartChild(name, "ip", filepath.Join(h.dir, name+".log"), append([]string{"netns", "exec", h.ns, e2etest.Bin}, args...)...)
}

// startHost starts a host's router (traffic on ADDR:8080, admin on a Unix
// socket its host file names "edge") and its agent.
func (f *fleet) startHost(ctx context.Context, h *host) {
	sock := filepath.Join(h.dir, "router.sock")
	var err error
	if h.router, err = inNS(h, "router", "router", "--listen", h.addr+":8080", "--admin", "unix://"+sock, "--allow-endpoints", h.addr+"/32"); err != nil {
		f.t.Fatal(err)
	}
	hostFile := filepath.Join(h.dir, "host.json")
	if err := (harness.HostConfig{Routers: map[string]string{"edge": "unix://" + sock}}).Write(hostFile); err != nil {
		f.t.Fatal(err)
	}
	f.startAgent(ctx, h)
	waitTCP(ctx, f.t, h.addr+":8080")
}

// startAgent starts (or starts again) a host's agent and waits until it
// listens.
func (f *fleet) startAgent(ctx context.Context, h *host) {
	f.t.Helper()
	var err error
	h.agent, err = inNS(h, "agent", "agent", "--listen", h.addr+":7443",
		"--tls-cert", filepath.Join(f.certs, h.name+".crt"), "--tls-key", filepath.Join(f.certs, h.name+".key"),
		"--client-ca", filepath.Join(f.certs, "ca.crt"), "--allow", "reconciler",
		"--state", filepath.Join(h.dir, "state"), "--bind-address", h.addr, "--host-config", filepath.Join(h.dir, "host.json"))
	if err != nil {
		f.t.Fatal(err)
	}
	waitTCP(ctx, f.t, h.addr+":7443")
}

// startLoadBalancer runs HAProxy on lb, balancing port 80 over the hosts'
// routers, each checked every 300ms.
func (f *fleet) startLoadBalancer(ctx context.Context, names []string) {
	lb := f.hosts["lb"]
	var servers strings.Builder
	for _, name := range names {
		fmt.Fprintf(&servers, "  server %s %s:8080 check inter 300ms fall 2 rise 1\n", name, f.hosts[name].addr)
	}
	cfg := fmt.Sprintf(`global
  maxconn 2000
defaults
  mode http
  timeout connect 1s
  timeout client 30s
  timeout server 3s
  retries 3
  option redispatch 1
  retry-on conn-failure empty-response response-timeout 503
frontend web
  bind %s:80
  default_backend hosts
backend hosts
  balance roundrobin
  option httpchk GET /healthz
%s`, lb.addr, servers.String())
	file := filepath.Join(lb.dir, "haproxy.cfg")
	if err := os.WriteFile(file, []byte(cfg), 0o600); err != nil {
		f.t.Fatal(err)
	}
	c, err := harness.StartChild("haproxy", "ip", filepath.Join(lb.dir, "haproxy.log"), "netns", "exec", lb.ns, "haproxy", "-db", "-f", file)
	if err != nil {
		f.t.Fatal(err)
	}
	lb.router = c
	f.lb = lb.addr + ":80"
	waitTCP(ctx, f.t, f.lb)
}

// waitTCP waits until addr accepts a connection.
func waitTCP(ctx context.Context, t testing.TB, addr string) {
	t.Helper()
	e2etest.WaitFor(ctx, t, addr+" to listen", func() bool {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
}

// fixture is the reconciler's side: a registry on the fleet's bridge that
// the hosts pull from, v1 and v2 signed and trusted, the fleet example's
// repository on these hosts' addresses, staging's router on this host, and
// the reconciler reaching the agents.
func (f *fleet) fixture(ctx context.Context) *e2etest.Fixture {
	t := f.t
	regHost, artifacts := e2etest.StartRegistryOn(t, ctx, f.dir, f.gateway+":0")
	trust, err := harness.SignAndTrust(ctx, filepath.Join(f.dir, "trust"), regHost, artifacts)
	if err != nil {
		t.Fatal(err)
	}
	router, routerAddr, admin, err := harness.StartRouter(ctx, "staging-router", e2etest.Bin, filepath.Join(f.dir, "staging-router.log"), "")
	if err != nil {
		t.Fatal(err)
	}
	f.staging = routerAddr
	t.Cleanup(func() { router.Stop(5 * time.Second) })
	var hosts [][2]string
	for i, name := range []string{"a1", "a2", "b1", "b2", "c1", "c2"} {
		addr := "10.77.0." + fmt.Sprint(11+i) + ":7443"
		if h, ok := f.hosts[name]; ok {
			hosts = append(hosts, [2]string{addr, h.addr + ":7443"})
		}
	}
	repo, err := harness.NewRepoFrom(ctx, filepath.Join(f.dir, "repo"), examples.Fleet(), map[string][][2]string{"hosts.cue": hosts})
	if err != nil {
		t.Fatal(err)
	}
	fx := e2etest.On(t, f.dir, artifacts, repo, "http://"+f.lb+"/")
	fx.Registry, fx.Trust = regHost, trust
	fx.Host.Routers["edge"] = admin
	fx.ExtraArgs = f.runFlags()
	return fx
}
