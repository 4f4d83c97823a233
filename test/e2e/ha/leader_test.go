package ha

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
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

// TestHALeaderKilledStandbyAppliesRevert runs two reconcilers on one
// repository and one etcd, at the default lease TTL. Both share the
// host's process runtime (one --state: on a real fleet the instances sit
// behind agents). The first leads and rolls v1 then v2 out; the second
// stands by and acts on nothing. The leader is SIGKILLed, and a `git
// revert` committed after the kill is applied by the standby, now leader:
// traffic switches back to v1's warm set. The killed reconciler, started
// again, stands by. The journal in etcd passes journal.Check.
func TestHALeaderKilledStandbyAppliesRevert(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	f, _, _ := onEtcd(ctx, t)
	st, _ := f.ServeV1(ctx, "Deploy web v1")
	leaderAPI := f.API.Base
	standby := startStandby(t, ctx, f, "standby.log")
	waitRole(ctx, t, standby, api.RoleStandby, strings.TrimPrefix(leaderAPI, "http://"))
	c2 := f.Commit(ctx, f.Artifacts["v2"], "", "Deploy web v2")
	f.Converge(ctx, st, "canary v2", c2, "v2")
	if logs := readLog(t, f, "standby.log"); strings.Contains(logs, "elected leader") {
		t.Fatalf("the standby was elected while the leader ran:\n%s", logs)
	}

	f.Kill()
	killed := time.Now()
	if _, err := f.Repo.Git(ctx, "revert", "--no-edit", "HEAD"); err != nil {
		t.Fatal(err)
	}
	revert, err := f.Repo.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	waitRole(ctx, t, standby, api.RoleLeader, "")
	t.Logf("takeover: the standby leads %s after the leader's SIGKILL (lease TTL 5s, the default)", time.Since(killed).Round(10*time.Millisecond))
	f.API.Base = standby.Base
	if err := f.API.Trigger(ctx); err != nil {
		t.Fatal(err)
	}
	if !st.Promoted(ctx, "the revert, applied by the new leader", revert, "v1") {
		t.Fatalf("the revert did not converge under the new leader:\n%s", readLog(t, f, "standby.log"))
	}
	t.Logf("the revert serves %s after the leader's SIGKILL", time.Since(killed).Round(10*time.Millisecond))
	st.AssertNoFailedRequests(t)

	f.StartReconciler(ctx)
	waitRole(ctx, t, f.API, api.RoleStandby, strings.TrimPrefix(standby.Base, "http://"))
}

// startStandby starts a second reconciler on the fixture's repository,
// state, host file and flags (its etcd, its agent); it stops with the
// test.
func startStandby(t *testing.T, ctx context.Context, f *e2etest.Fixture, log string) *server.Client {
	t.Helper()
	args := append([]string{"--repo", f.Repo.Dir, "--state", filepath.Join(f.Dir, "state"), "--listen", "127.0.0.1:0", "--token-file", f.TokenFile,
		"--trust", f.Trust, "--host-config", filepath.Join(f.Dir, "host.json")}, f.ExtraArgs...)
	rec, addr, err := harness.StartReconciler(ctx, e2etest.Bin, filepath.Join(f.Dir, log), args...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rec.Stop(10 * time.Second) })
	c := server.NewClient(addr)
	c.Base, c.Token = "http://"+addr, f.API.Token
	return c
}

// waitRole waits until the reconciler behind c has role and, when leader
// is not "", names a leader whose API is leader.
func waitRole(ctx context.Context, t *testing.T, c *server.Client, role api.Role, leader string) {
	t.Helper()
	var last api.Status
	e2etest.WaitFor(ctx, t, "the reconciler at "+c.Base+" to be "+string(role), func() bool {
		s, err := c.Status(ctx)
		last = s
		return err == nil && s.Leadership != nil && s.Leadership.Role == role &&
			(leader == "" || strings.HasSuffix(s.Leadership.Leader, "api http://"+leader))
	})
	t.Logf("%s: %s, leader %q, ready: %s", c.Base, last.Leadership.Role, last.Leadership.Leader, last.Ready.Message)
}

// checkEtcdJournal replays the journal in etcd against its invariants:
// every action allowed, answered at most once, across the takeover.
func checkEtcdJournal(t testing.TB, client *clientv3.Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := journal.OpenEtcd(ctx, journal.EtcdConfig{Client: client, Prefix: "/durable/journal/"})
	if err != nil {
		t.Fatal(err)
	}
	problems, err := journal.Check(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("journal: %s", p)
	}
}

func readLog(t *testing.T, f *e2etest.Fixture, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(f.Dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// onEtcd starts a real etcd and the fixture's reconcilers on it (more
// flags in extra), the fixture's target behind a durable agent, as --etcd
// requires; the journal in etcd is checked after the reconcilers stopped.
func onEtcd(ctx context.Context, t *testing.T, extra ...string) (*e2etest.Fixture, *etcdtest.Server, *clientv3.Client) {
	t.Helper()
	// etcd and the journal's check go before the fixture: they run after
	// the reconcilers stopped.
	etcd := etcdtest.Start(t)
	client := etcd.Client(t)
	t.Cleanup(func() { checkEtcdJournal(t, client) })
	f := e2etest.New(t, ctx)
	f.ExtraArgs = append(append([]string{"--etcd", etcd.Endpoint}, extra...), startAgentOn(ctx, t, f)...)
	return f, etcd, client
}

// pauseLeader stops the leader the standby names (SIGSTOP) and waits until
// the standby leads; the leader is resumed at the end of the test at the
// latest. It returns the paused leader's pid.
func pauseLeader(ctx context.Context, t *testing.T, standby *server.Client) int {
	t.Helper()
	pid := leaderPID(ctx, t, standby)
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGCONT) })
	paused := time.Now()
	waitRole(ctx, t, standby, api.RoleLeader, "")
	t.Logf("takeover: the standby leads %s after the leader was paused", time.Since(paused).Round(10*time.Millisecond))
	return pid
}

// resumeLeader resumes the paused leader, whose API is at base, and waits
// until it stands by behind the standby, now leader.
func resumeLeader(ctx context.Context, t *testing.T, f *e2etest.Fixture, pid int, base string, standby *server.Client) {
	t.Helper()
	if err := syscall.Kill(pid, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	old := *f.API
	old.Base = base
	waitRole(ctx, t, &old, api.RoleStandby, strings.TrimPrefix(standby.Base, "http://"))
}
