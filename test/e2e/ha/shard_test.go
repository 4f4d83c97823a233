package ha

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/internal/etcdtest"
	"github.com/durable-delivery/durable/internal/harness"
	"github.com/durable-delivery/durable/journal"
	"github.com/durable-delivery/durable/server"
	"github.com/durable-delivery/durable/test/e2e/e2etest"
)

// The shard test's deployment: six services over five targets (staging,
// then prod in three zones), divided into six shards among three
// reconcilers.
var (
	shardServices = []string{"s1", "s2", "s3", "s4", "s5", "s6"}
	prodTargets   = map[string]string{"a1": "zone-a", "a2": "zone-a", "b1": "zone-b", "c1": "zone-c"}
)

const shardCount = 6

// TestShardThreeReconcilersOneKilled runs three reconcilers on one etcd
// with six shards: they own two each. Every service's v2 rolls out —
// staging, then prod zone by zone with a canary step in each — and,
// mid-rollout, the leader (shard 0's owner, which also takes the
// revisions in) is SIGKILLed: the two others take its shards over (three
// each), one of them takes the revisions in, and every rollout completes.
// The journal then shows, for every service, that prod received v2 only
// after staging promoted it (FIFO between stages), that no two prod zones
// ever had a v2 set coming up at once (one zone at a time), and that no
// action was repeated or left unanswered.
func TestShardThreeReconcilersOneKilled(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	sf := newShardFixture(ctx, t, shardServices, canaryStrategy)
	sf.commit(ctx, t, "v1")
	members := sf.start(ctx, t, "r1", "r2", "r3")
	waitServes(ctx, t, members["r1"].api, sf.f.Artifacts["v1"], len(sf.services))
	owners := waitOwners(ctx, t, members["r1"].api, 3)
	t.Logf("v1 serves everywhere; shards: %v", owners)
	loads := sf.load(ctx, t)

	sf.commit(ctx, t, "v2")
	for _, m := range members {
		_ = m.api.Trigger(ctx)
	}
	waitCanaryInProd(ctx, t, members["r1"].api, sf.f.Artifacts["v2"])
	leader := leaderOf(ctx, t, members)
	killed := time.Now()
	members[leader].child.Kill()
	t.Logf("%s (the leader, shards %v) SIGKILLed mid-rollout", leader, owners[members[leader].name])
	var survivor *server.Client
	for name, m := range members {
		if name != leader {
			survivor = m.api
		}
	}
	after := waitOwners(ctx, t, survivor, 2)
	t.Logf("its shards taken over %s after the kill: %v", time.Since(killed).Round(100*time.Millisecond), after)
	waitServes(ctx, t, survivor, sf.f.Artifacts["v2"], len(sf.services))
	t.Logf("v2 serves everywhere %s after the kill", time.Since(killed).Round(100*time.Millisecond))
	checkStagesAndZones(ctx, t, sf.client, sf.services)
	total, failed := 0, 0
	for _, l := range loads {
		n, bad, lastErr := l.Stats()
		total, failed = total+n, failed+bad
		if bad > 0 {
			t.Errorf("%d of %d requests failed (last: %s)", bad, n, lastErr)
		}
	}
	t.Logf("requests through the routers during the rollout and the kill: %d, failed %d", total, failed)
}

// The strategies of the shard tests: a canary step that needs traffic
// (judged on errors: latency on a machine shared with other work says
// nothing of a release), or blue/green (nothing to wait for but the
// instances' health).
const (
	canaryStrategy    = `{kind: "canary", keepWarm: 1, steps: [{weight: 50, bake: time: "2s"}], analysis: {maxErrorRate: 0.01, minRequests: 5, maxLatencyIncrease: 100}}`
	blueGreenStrategy = `{kind: "blueGreen", keepWarm: 1}`
)

// shardFixture is a deployment for reconcilers sharing one etcd: a real
// etcd, the fixture's registry and repository, staging on the fixture's
// router and prod's targets on routers of their own, all behind one
// agent (host a1), and the services, all with one strategy.
type shardFixture struct {
	f        *e2etest.Fixture
	etcd     *etcdtest.Server
	client   *clientv3.Client
	agent    string
	urls     []string
	flags    []string
	services []string
	strategy string
}

func newShardFixture(ctx context.Context, t testing.TB, services []string, strategy string) *shardFixture {
	t.Helper()
	sf := &shardFixture{etcd: etcdtest.Start(t), services: services, strategy: strategy}
	sf.client = sf.etcd.Client(t)
	t.Cleanup(func() { checkEtcdJournal(t, sf.client) })
	sf.f = e2etest.New(t, ctx)
	routers := map[string]string{"edge": sf.f.RouterAdmin}
	sf.urls = []string{sf.f.Router}
	for name := range prodTargets {
		router, addr, admin, err := harness.StartRouter(ctx, "router-"+name, e2etest.Bin, filepath.Join(sf.f.Dir, "router-"+name+".log"), "")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { router.Stop(5 * time.Second) })
		routers[name], sf.urls = admin, append(sf.urls, "http://"+addr+"/")
	}
	var fleetFlags []string
	sf.agent, fleetFlags = startAgent(ctx, t, sf.f, routers)
	sf.flags = append([]string{"--etcd", sf.etcd.Endpoint, "--shards", fmt.Sprint(shardCount), "--lease-ttl", "3s"}, fleetFlags...)
	return sf
}

// commit commits every service on version's artifact.
func (sf *shardFixture) commit(ctx context.Context, t testing.TB, version string) string {
	t.Helper()
	writeShardRepo(t, sf, sf.f.Artifacts[version])
	c, err := sf.f.Repo.Commit(ctx, fmt.Sprintf("Deploy %d services %s", len(sf.services), version))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// start starts a reconciler of each name.
func (sf *shardFixture) start(ctx context.Context, t testing.TB, names ...string) map[string]*member {
	t.Helper()
	members := map[string]*member{}
	for _, name := range names {
		members[name] = startShardMember(ctx, t, sf.f, name, sf.flags)
	}
	return members
}

// load sends every service, through every router, ten requests a second
// until the test ends: the canaries' analysis needs traffic.
func (sf *shardFixture) load(ctx context.Context, t testing.TB) []*harness.Load {
	var loads []*harness.Load
	for _, url := range sf.urls {
		for _, svc := range sf.services {
			l := harness.StartLoadOn(ctx, []string{url}, svc, 1, 100*time.Millisecond)
			t.Cleanup(l.Stop)
			loads = append(loads, l)
		}
	}
	return loads
}

// member is one reconciler of the shard test.
type member struct {
	name  string
	child *harness.Child
	api   *server.Client
}

// startShardMember starts a reconciler with a state of its own (its
// source's cache); it stops with the test.
func startShardMember(ctx context.Context, t testing.TB, f *e2etest.Fixture, name string, flags []string) *member {
	t.Helper()
	hostFile := filepath.Join(f.Dir, "host.json")
	if err := f.Host.Write(hostFile); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"--repo", f.Repo.Dir, "--state", filepath.Join(f.Dir, "state-"+name), "--listen", "127.0.0.1:0",
		"--token-file", f.TokenFile, "--trust", f.Trust, "--host-config", hostFile}, flags...)
	child, addr, err := harness.StartReconciler(ctx, e2etest.Bin, filepath.Join(f.Dir, name+".log"), args...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { child.Stop(10 * time.Second) })
	t.Cleanup(func() {
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(f.Dir, name+".log"))
			t.Logf("%s's log, last 6000 bytes:\n%s", name, b[max(0, len(b)-6000):])
		}
	})
	c := server.NewClient(addr)
	c.Base, c.Token = "http://"+addr, f.API.Token
	s := waitStatus(ctx, t, c, "its name", func(s api.Status) bool { return s.Leadership != nil })
	return &member{name: s.Leadership.Self, child: child, api: c}
}

// writeShardRepo lays out the services on artifact, staging on the
// fixture's router and prod's four targets on routers of their own, all
// behind the agent (host a1).
func writeShardRepo(t testing.TB, sf *shardFixture, artifact string) {
	t.Helper()
	f, agent := sf.f, sf.agent
	var b strings.Builder
	fmt.Fprintf(&b, "package quickstart\n\nhosts: a1: address: %q\n\n", agent)
	b.WriteString("targets: staging: {host: \"a1\", zone: \"staging\", runtime: kind: \"process\", traffic: {kind: \"router\", admin: \"edge\"}}\n")
	prod := slices.Sorted(maps.Keys(prodTargets))
	for _, name := range prod {
		fmt.Fprintf(&b, "targets: %s: {host: \"a1\", zone: %q, runtime: kind: \"process\", traffic: {kind: \"router\", admin: %q}}\n", name, prodTargets[name], name)
	}
	fmt.Fprintf(&b, "\npipeline: stages: [{name: \"staging\", targets: [\"staging\"]}, {name: \"prod\", targets: [%q, %q, %q, %q]}]\n\n", prod[0], prod[1], prod[2], prod[3])
	for _, svc := range sf.services {
		fmt.Fprintf(&b, "services: %s: {artifact: %q, run: replicas: 1, health: {path: \"/healthz\", timeout: \"1s\"},\n", svc, artifact)
		fmt.Fprintf(&b, "\tstrategy: %s}\n", sf.strategy)
	}
	for _, name := range []string{"release.cue", "service.cue", "targets.cue", "hosts.cue"} {
		if err := os.Remove(filepath.Join(f.Repo.Dir, name)); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(f.Repo.Dir, "shards.cue"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// waitStatus waits until c's status satisfies ok, and returns it; timed
// out, it fails the test with what the status last said of each placement
// and the tail of each reconciler's log.
func waitStatus(ctx context.Context, t testing.TB, c *server.Client, what string, ok func(api.Status) bool) api.Status {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	var last api.Status
	for {
		s, err := c.Status(ctx)
		if err == nil {
			last = s
			if ok(s) {
				return s
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s: %s", c.Base, what+"\n"+describe(last))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// describe is what a status says of each placement, for a failure.
func describe(s api.Status) string {
	var b strings.Builder
	if s.Leadership != nil {
		fmt.Fprintf(&b, "leadership: %s, members %+v\n", s.Leadership.Role, s.Leadership.Members)
	}
	for _, svc := range s.Services {
		for _, p := range svc.Placements {
			fmt.Fprintf(&b, "%s %s/%s: serving set %s, release wanted %s", svc.Name, p.Stage, p.Target, p.Serving, short(svc.Release))
			if p.Rollout != nil {
				fmt.Fprintf(&b, ", rollout %s %s", p.Rollout.Phase, p.Rollout.Message)
			}
			if p.Error != nil {
				fmt.Fprintf(&b, ", error %s", p.Error.Error)
			}
			b.WriteString("\n")
		}
	}
	return b.String()
}

// waitServes waits until the n services serve artifact, alone, on every
// target.
func waitServes(ctx context.Context, t testing.TB, c *server.Client, artifact string, n int) {
	t.Helper()
	waitStatus(ctx, t, c, "every service serving "+artifact[strings.LastIndex(artifact, ":")+1:][:12]+" everywhere", func(s api.Status) bool {
		if len(s.Services) != n {
			return false
		}
		for _, svc := range s.Services {
			if svc.Artifact != artifact || len(svc.Placements) != 1+len(prodTargets) {
				return false
			}
			for _, p := range svc.Placements {
				if !slices.ContainsFunc(p.Sets, func(set api.SetStatus) bool { return set.ID == p.Serving && set.Release == svc.Release }) ||
					p.Rollout != nil && !p.Rollout.Done() {
					return false
				}
			}
		}
		return true
	})
}

// waitOwners waits until n members own every shard between them, evenly,
// and returns each member's shards.
func waitOwners(ctx context.Context, t testing.TB, c *server.Client, n int) map[string][]int {
	t.Helper()
	s := waitStatus(ctx, t, c, fmt.Sprintf("%d members to own the shards", n), func(s api.Status) bool {
		if s.Leadership == nil {
			return false
		}
		owning, total := 0, 0
		for _, m := range s.Leadership.Members {
			if len(m.Shards) > 0 {
				owning++
			}
			if len(m.Shards) > (shardCount+n-1)/n {
				return false
			}
			total += len(m.Shards)
		}
		return owning == n && total == shardCount
	})
	out := map[string][]int{}
	for _, m := range s.Leadership.Members {
		out[m.Name] = m.Shards
	}
	return out
}

// waitCanaryInProd waits until a service has a set of artifact at a
// canary step in prod: the rollout is under way.
func waitCanaryInProd(ctx context.Context, t *testing.T, c *server.Client, artifact string) {
	t.Helper()
	waitStatus(ctx, t, c, "a canary of v2 in prod", func(s api.Status) bool {
		for _, svc := range s.Services {
			for _, p := range svc.Placements {
				for _, set := range p.Sets {
					if p.Stage == "prod" && set.Artifact == artifact && set.State == api.SetCanary {
						return true
					}
				}
			}
		}
		return false
	})
}

// leaderOf is the name, in members, of the one that leads.
func leaderOf(ctx context.Context, t *testing.T, members map[string]*member) string {
	t.Helper()
	for name, m := range members {
		if s, err := m.api.Status(ctx); err == nil && s.Leadership != nil && s.Leadership.Role == api.RoleLeader {
			return name
		}
	}
	t.Fatal("no member leads")
	return ""
}

// checkStagesAndZones replays the sets' transitions in the journal, in
// the order etcd committed them, for each service's v2: no prod set came
// up before staging's v2 set served (FIFO between stages), and no two
// prod zones had a v2 set coming up (creating, ready or canary) at once.
func checkStagesAndZones(ctx context.Context, t testing.TB, client *clientv3.Client, services []string) {
	t.Helper()
	st, err := journal.OpenEtcd(ctx, journal.EtcdConfig{Client: client, Prefix: "/durable/journal/"})
	if err != nil {
		t.Fatal(err)
	}
	sets, err := st.InfraSets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	transitions, err := st.Transitions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]journal.InfraSet{}
	for _, s := range sets {
		byID[s.ID] = s
	}
	for _, svc := range services {
		problems := replayService(svc, byID, transitions)
		for _, p := range problems {
			t.Errorf("%s: %s", svc, p)
		}
	}
}

// replayService checks one service's v2 sets (those made after v1's: the
// release its staging set served last) against the stage and zone rules.
func replayService(svc string, sets map[string]journal.InfraSet, transitions []journal.Transition) []string {
	var problems []string
	up := map[string]map[string]bool{} // prod zone → the sets coming up there
	stagingServed := map[string]bool{}
	for _, tr := range transitions {
		s, ok := sets[tr.ID]
		if tr.Kind != "infra-set" || !ok || s.Service != svc {
			continue
		}
		zone := prodTargets[s.Target]
		comingUp := tr.To == string(api.SetCreating) || tr.To == string(api.SetReady) || tr.To == string(api.SetCanary)
		switch {
		case s.Stage == "staging" && tr.To == string(api.SetServing):
			stagingServed[s.Release] = true
		case s.Stage == "prod" && comingUp:
			if tr.From == "" && !stagingServed[s.Release] {
				problems = append(problems, fmt.Sprintf("prod set %s of %s made (transition %d) before staging served it", s.ID, short(s.Release), tr.Seq))
			}
			for other, ids := range up {
				if other != zone && len(ids) > 0 {
					problems = append(problems, fmt.Sprintf("transition %d: set %s comes up in %s while %v come up in %s", tr.Seq, s.ID, zone, slices.Sorted(maps.Keys(ids)), other))
				}
			}
			if up[zone] == nil {
				up[zone] = map[string]bool{}
			}
			up[zone][s.ID] = true
		case s.Stage == "prod":
			delete(up[zone], s.ID)
		}
	}
	return problems
}

func short(id string) string { return id[:min(12, len(id))] }
