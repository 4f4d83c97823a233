package ha

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/internal/fleetcerts"
	"github.com/durable-delivery/durable/internal/harness"
	"github.com/durable-delivery/durable/test/e2e/e2etest"
)

var agentListening = regexp.MustCompile(`agent listening on https://(\S+),`)

// startAgentOn puts the fixture's target behind a `durable agent` on this
// host (host a1 of the inventory, its router the fixture's), with
// certificates of a CA made for the test (its log in agent.log), and
// returns durable run's flags for it.
func startAgentOn(ctx context.Context, t *testing.T, f *e2etest.Fixture) []string {
	t.Helper()
	addr, flags := startAgent(ctx, t, f, map[string]string{"edge": f.RouterAdmin})
	inventory := "package quickstart\n\nhosts: a1: address: \"" + addr + "\"\ntargets: local: host: \"a1\"\n"
	if err := os.WriteFile(filepath.Join(f.Repo.Dir, "hosts.cue"), []byte(inventory), 0o644); err != nil {
		t.Fatal(err)
	}
	return flags
}

// startAgent starts a `durable agent` on this host as host a1, serving the
// routers named, and returns its address and durable run's flags for it.
func startAgent(ctx context.Context, t testing.TB, f *e2etest.Fixture, routers map[string]string) (string, []string) {
	t.Helper()
	certs := filepath.Join(f.Dir, "certs")
	if err := fleetcerts.NewFleet(certs, "ca", map[string][]string{"a1": {"127.0.0.1"}, "reconciler": nil}, time.Now()); err != nil {
		t.Fatal(err)
	}
	hostFile := filepath.Join(f.Dir, "agent-host.json")
	if err := (harness.HostConfig{Routers: routers}).Write(hostFile); err != nil {
		t.Fatal(err)
	}
	agent, err := harness.StartChild("agent", e2etest.Bin, filepath.Join(f.Dir, "agent.log"), "agent", "--listen", "127.0.0.1:0",
		"--tls-cert", filepath.Join(certs, "a1.crt"), "--tls-key", filepath.Join(certs, "a1.key"), "--client-ca", filepath.Join(certs, "ca.crt"),
		"--allow", "reconciler", "--state", filepath.Join(f.Dir, "agent-state"), "--host-config", hostFile)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		agent.Stop(5 * time.Second)
		harness.RemoveInstances(filepath.Join(f.Dir, "agent-state", "process"))
	})
	addr, err := agent.WaitListening(ctx, agentListening)
	if err != nil {
		t.Fatal(err)
	}
	return addr[0], []string{"--fleet-ca", filepath.Join(certs, "ca.crt"), "--fleet-cert", filepath.Join(certs, "reconciler.crt"),
		"--fleet-key", filepath.Join(certs, "reconciler.key")}
}

// TestLeaderPausedItsLateCallsAreRefusedByTheAgent: the target sits behind
// an agent. The leader is paused (SIGSTOP) past its 2 s lease mid-canary;
// the standby, elected, gives the agent its term's token before acting and
// completes the rollout. Resumed, the old leader acts on nothing: every
// call it still makes carries its older token and is refused by the agent
// (counted), and it stands by; the journal is consistent.
func TestLeaderPausedItsLateCallsAreRefusedByTheAgent(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	f, _, _ := onEtcd(ctx, t, "--lease-ttl", "2s")
	st, _ := f.ServeV1(ctx, "Deploy web v1 behind the agent")
	oldLeader := f.API.Base
	standby := startStandby(t, ctx, f, "standby.log")
	waitRole(ctx, t, standby, api.RoleStandby, strings.TrimPrefix(oldLeader, "http://"))

	c2 := f.Commit(ctx, f.Artifacts["v2"], "", "Deploy web v2")
	v2 := f.Judged(ctx, t, c2).Services[0].Release
	waitCanaryOf(ctx, t, f, v2)
	pid := pauseLeader(ctx, t, standby)
	f.API.Base = standby.Base
	f.Converge(ctx, st, "v2, completed by the new leader", c2, "v2")

	resumeLeader(ctx, t, f, pid, oldLeader, standby)
	b, err := os.ReadFile(filepath.Join(f.Dir, "agent.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("the resumed leader's calls refused by the agent: %d (it may notice its lost lease before it calls)", strings.Count(string(b), "call refused: fenced"))
	if !st.Promoted(ctx, "v2, still served after the old leader resumed", c2, "v2") {
		t.Fatalf("v2 no longer serves once the old leader resumed:\n%s", f.Logs())
	}
	st.AssertNoFailedRequests(t)
	fences, err := os.ReadFile(filepath.Join(f.Dir, "agent-state", "fences.json"))
	if err != nil || !strings.Contains(string(fences), "/durable/shards/0") {
		t.Fatalf("the agent kept no token of the election's shard: %q, %v", fences, err)
	}
}
