package ha

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/durable-delivery/durable/api"
)

// TestHALeaderPausedPastItsLease stops the leader (SIGSTOP) for longer
// than its 2 s lease: the standby takes over and rolls v2 out. Resumed,
// the old leader finds its lease gone or its first journal write refused,
// stops acting and stands by behind the new leader; v2 still serves.
func TestHALeaderPausedPastItsLease(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	f, _, _ := onEtcd(ctx, t, "--lease-ttl", "2s")
	st, _ := f.ServeV1(ctx, "Deploy web v1")
	oldLeader := f.API.Base
	standby := startStandby(t, ctx, f, "standby.log")
	waitRole(ctx, t, standby, api.RoleStandby, strings.TrimPrefix(oldLeader, "http://"))
	pid := pauseLeader(ctx, t, standby)
	f.API.Base = standby.Base
	c2 := f.Commit(ctx, f.Artifacts["v2"], "", "Deploy web v2")
	f.Converge(ctx, st, "canary v2 by the new leader", c2, "v2")

	resumeLeader(ctx, t, f, pid, oldLeader, standby)
	logs := f.Logs()
	if !strings.Contains(logs, "ownership lost") {
		t.Fatalf("the resumed leader stands by without saying it lost its leadership:\n%s", logs)
	}
	t.Logf("the resumed leader's journal writes refused: %d (it may notice its lost lease first)", strings.Count(logs, "journal write was fenced off")+strings.Count(logs, "no longer owns the journal"))
	if !st.Promoted(ctx, "v2, still served after the old leader resumed", c2, "v2") {
		t.Fatalf("v2 no longer serves once the old leader resumed:\n%s", logs)
	}
	st.AssertNoFailedRequests(t)
}

// leaderPID is the process id of the leader the standby behind c names
// ("HOST pid PID api URL").
func leaderPID(ctx context.Context, t *testing.T, c interface {
	Status(context.Context) (api.Status, error)
}) int {
	t.Helper()
	s, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(s.Leadership.Leader, " pid ")
	pid, err := strconv.Atoi(strings.Fields(rest + " ")[0])
	if !ok || err != nil || pid <= 0 {
		t.Fatalf("no pid in the leader's name %q", s.Leadership.Leader)
	}
	return pid
}
