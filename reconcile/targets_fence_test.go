package reconcile

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/durable-delivery/durable/adapters"
	"github.com/durable-delivery/durable/adapters/agent"
	_ "github.com/durable-delivery/durable/adapters/process" // the runtime the agents serve
	"github.com/durable-delivery/durable/adapters/remote"
	"github.com/durable-delivery/durable/internal/fleetcerts"
	"github.com/durable-delivery/durable/internal/listener"
	"github.com/durable-delivery/durable/schema"
)

// realAgent runs `durable agent` in this process for host name on
// 127.0.0.1, with certificates of a CA made in dir, and returns its address.
func realAgent(t *testing.T, dir, name string) string {
	t.Helper()
	ca, err := fleetcerts.LoadCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fleetcerts.Issue(ca, dir, name, []string{"127.0.0.1"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	a, err := agent.New(agent.Config{StateDir: t.TempDir(), Allow: []string{"reconciler"}})
	if err != nil {
		t.Fatal(err)
	}
	l, err := agent.Listen(listener.Config{Address: "127.0.0.1:0", TLSCert: filepath.Join(dir, name+".crt"), TLSKey: filepath.Join(dir, name+".key"), ClientCA: filepath.Join(dir, "ca.crt")})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- agent.Serve(ctx, a, l) }()
	t.Cleanup(func() { cancel(); <-done })
	return l.Addr().String()
}

// A term's first pass gives its fencing token to every agent of the
// inventory, once: a reconciler of an earlier term is refused by each of
// them from then on, before the new term acted anywhere.
func TestTermSendsItsFenceToEveryAgent(t *testing.T) {
	dir := t.TempDir()
	if err := fleetcerts.NewFleet(dir, "ca", map[string][]string{"reconciler": nil}, time.Now()); err != nil {
		t.Fatal(err)
	}
	ds := &schema.DesiredState{Hosts: map[string]schema.Host{}}
	for _, name := range []string{"a1", "a2"} {
		ds.Hosts[name] = schema.Host{Name: name, Address: realAgent(t, dir, name)}
	}
	term := func(token uint64) *targetSet {
		ts := newTargetSet(adapters.Host{}, Fleet{CA: filepath.Join(dir, "ca.crt"), Cert: filepath.Join(dir, "reconciler.crt"),
			Key: filepath.Join(dir, "reconciler.key"), Fences: []remote.Fence{{Shard: "/durable/leader", Token: token}}})
		ts.retain(ds)
		return ts
	}
	old := term(5)
	if errs := old.sendFence(context.Background(), ds); len(errs) != 0 {
		t.Fatalf("term 5's fence: %v", errs)
	}
	next := term(8)
	if errs := next.sendFence(context.Background(), ds); len(errs) != 0 {
		t.Fatalf("term 8's fence: %v", errs)
	}
	if errs := next.sendFence(context.Background(), ds); errs != nil {
		t.Fatalf("a second send in the same term: %v, want nothing sent", errs)
	}
	for _, name := range []string{"a1", "a2"} {
		rt, err := old.runtime(schema.Target{Name: name, Host: name, Runtime: schema.Adapter{Kind: "process"}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := rt.Observe(context.Background()); !errors.Is(err, adapters.ErrFenced) {
			t.Errorf("term 5 on %s after term 8 began: %v, want ErrFenced", name, err)
		}
		rt, _ = next.runtime(schema.Target{Name: name, Host: name, Runtime: schema.Adapter{Kind: "process"}})
		if _, err := rt.Observe(context.Background()); err != nil {
			t.Errorf("term 8 on %s: %v", name, err)
		}
	}
}

// Under an election, a revision with a target on the reconciler's own
// host is refused, naming each such target and the fix; without one, or
// with every target behind an agent, nothing is said.
func TestRequireAgentsNamesTheTargetsWithoutAHost(t *testing.T) {
	ds := &schema.DesiredState{Targets: map[string]schema.Target{"b": {Name: "b"}, "a": {Name: "a", Host: "a1"}, "c": {Name: "c"}}}
	r := &Reconciler{cfg: Config{RequireAgents: true}}
	lines := r.unfenced(ds)
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "target b names no host") || !strings.HasPrefix(lines[1], "target c names no host") || !strings.Contains(lines[0], "host: NAME") {
		t.Fatalf("unfenced: %q", lines)
	}
	if lines := (&Reconciler{}).unfenced(ds); lines != nil {
		t.Fatalf("without an election: %q", lines)
	}
	delete(ds.Targets, "b")
	delete(ds.Targets, "c")
	if lines := r.unfenced(ds); lines != nil {
		t.Fatalf("every target behind an agent: %q", lines)
	}
}
