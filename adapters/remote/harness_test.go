package remote

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/durable-delivery/durable/adapters"
	"github.com/durable-delivery/durable/adapters/agent"
	"github.com/durable-delivery/durable/adapters/hostconfig"
	"github.com/durable-delivery/durable/adapters/router"
	"github.com/durable-delivery/durable/examples"
	"github.com/durable-delivery/durable/internal/fleetcerts"
	"github.com/durable-delivery/durable/internal/listener"

	// The adapters an agent serves in these tests.
	_ "github.com/durable-delivery/durable/adapters/process"
)

// quiet discards the logs of what the tests start.
var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// reconcilerName is the name of the reconciler's client certificate, the
// one every test agent allows.
const reconcilerName = "reconciler"

// fleet is a CA and the certificates of a test fleet, made once per test
// binary by durable certs' package: agents a1 and a2 (both naming
// 127.0.0.1), the allowed reconciler, a stranger of the same CA that no
// agent allows, and an intruder whose certificate another CA signed.
var fleet struct {
	once sync.Once
	dir  string
	err  error
}

func TestMain(m *testing.M) {
	if os.Getenv(agentProcessEnv) != "" {
		os.Exit(runAgentProcess())
	}
	// The adapters an agent builds log through the default logger.
	slog.SetDefault(quiet)
	code := m.Run()
	if fleet.dir != "" {
		os.RemoveAll(fleet.dir)
	}
	os.Exit(code)
}

// pki returns the directory of the fleet's certificates: ca/ca.crt, and
// NAME/NAME.crt, NAME/NAME.key for each name.
func pki(t testing.TB) string {
	t.Helper()
	fleet.once.Do(func() {
		fleet.dir, fleet.err = os.MkdirTemp("", "durable-remote-pki-")
		if fleet.err != nil {
			return
		}
		fleet.err = makeFleet(fleet.dir)
	})
	if fleet.err != nil {
		t.Fatalf("fleet certificates: %v", fleet.err)
	}
	return fleet.dir
}

func makeFleet(dir string) error {
	now := time.Now()
	for _, ca := range []string{"ca", "other-ca"} {
		if err := fleetcerts.NewCA(filepath.Join(dir, ca), ca, now); err != nil {
			return err
		}
	}
	ca, err := fleetcerts.LoadCA(filepath.Join(dir, "ca"))
	if err != nil {
		return err
	}
	other, err := fleetcerts.LoadCA(filepath.Join(dir, "other-ca"))
	if err != nil {
		return err
	}
	for _, c := range []struct {
		ca    *fleetcerts.CA
		name  string
		hosts []string
	}{{ca, "a1", []string{"127.0.0.1"}}, {ca, "a2", []string{"127.0.0.1"}}, {ca, reconcilerName, nil}, {ca, "stranger", nil}, {other, "intruder", nil}} {
		if _, err := fleetcerts.Issue(c.ca, filepath.Join(dir, c.name), c.name, c.hosts, now); err != nil {
			return err
		}
	}
	return nil
}

// certOf is the certificate and key files of name in the fleet.
func certOf(dir, name string) (cert, key string) {
	return filepath.Join(dir, name, name+".crt"), filepath.Join(dir, name, name+".key")
}

// agentOptions are what a test agent differs in.
type agentOptions struct {
	name  string // its certificate: a1 unless given
	state string // its --state: a fresh directory unless given
	host  *hostconfig.Config
	bind  string
	runAs *adapters.RunAs
}

// startAgent runs an agent in this process on 127.0.0.1 for the rest of
// the test and returns its address.
func startAgent(t testing.TB, o agentOptions) string {
	t.Helper()
	dir := pki(t)
	if o.name == "" {
		o.name = "a1"
	}
	if o.state == "" {
		o.state = t.TempDir()
	}
	a, err := agent.New(agent.Config{StateDir: o.state, Host: o.host, BindAddress: o.bind, RunAs: o.runAs, Allow: []string{reconcilerName}, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	cert, key := certOf(dir, o.name)
	l, err := agent.Listen(listener.Config{Address: "127.0.0.1:0", TLSCert: cert, TLSKey: key, ClientCA: filepath.Join(dir, "ca", "ca.crt")})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- agent.Serve(ctx, a, l) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("agent: %v", err)
		}
	})
	return l.Addr().String()
}

// dial returns a client of the agent at addr that expects host and
// presents the certificate of caller.
func dial(t testing.TB, addr, host, caller string) *Agent {
	t.Helper()
	dir := pki(t)
	cert, key := certOf(dir, caller)
	a, err := New(Config{Address: addr, Host: host, CA: filepath.Join(dir, "ca", "ca.crt"), Cert: cert, Key: key})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.CloseIdleConnections)
	return a
}

// demoImage returns the demo service at v1, pinned by digest in a registry
// on 127.0.0.1, built once per test binary.
func demoImage(t testing.TB) string {
	t.Helper()
	ref, err := examples.SharedImage(context.Background(), "v1")
	if err != nil {
		t.Fatalf("build the demo image: %v", err)
	}
	return ref
}

// demoSpec is a set of the demo service with replicas instances.
func demoSpec(t testing.TB, id string, replicas int) adapters.InfraSetSpec {
	return adapters.InfraSetSpec{ID: id, Service: "web", Release: "r1", Artifact: demoImage(t), Replicas: replicas,
		Health: adapters.HealthCheck{Path: "/healthz", ExpectStatus: 200, Timeout: time.Second}}
}

// startRouter runs a real router for the rest of the test and returns its
// traffic address and a host file naming its admin API "edge".
func startRouter(t testing.TB) (string, *hostconfig.Config) {
	t.Helper()
	dir, err := os.MkdirTemp("", "router")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	ctx, cancel := context.WithCancel(context.Background())
	addrs, wait, err := router.Start(ctx, router.Config{Listen: "127.0.0.1:0", Logger: quiet,
		Admin: listener.Config{Address: "unix://" + filepath.Join(dir, "admin.sock")}})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = wait()
	})
	return addrs.Listen.String(), &hostconfig.Config{File: "test", Routers: map[string]hostconfig.Router{"edge": {Admin: addrs.Admin}}}
}

// removeAll removes, when the test ends, every set rt then observes.
func removeAll(t testing.TB, rt adapters.Runtime) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		sets, err := rt.Observe(ctx)
		if err != nil {
			t.Errorf("cleanup: observe: %v", err)
			return
		}
		for _, s := range sets {
			if err := rt.Remove(ctx, s.ID, 5*time.Second); err != nil {
				t.Errorf("cleanup: remove %s: %v", s.ID, err)
			}
		}
	})
}
