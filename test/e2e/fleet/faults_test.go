package fleet

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/test/e2e/e2etest"
)

// placementOn finds target's placement of the service in a status.
func placementOn(s api.Status, target string) *api.PlacementStatus {
	for i := range s.Services {
		for j := range s.Services[i].Placements {
			if p := &s.Services[i].Placements[j]; p.Target == target {
				return p
			}
		}
	}
	return nil
}

// hasSetOf reports whether a placement has a set of release.
func hasSetOf(p *api.PlacementStatus, release string) bool {
	for _, set := range p.Sets {
		if set.Release == release {
			return true
		}
	}
	return false
}

// link sets a host's link on this machine's side down or up.
func (f *fleet) link(ctx context.Context, name, state string) {
	f.t.Helper()
	if out, err := exec.CommandContext(ctx, "ip", "link", "set", f.hosts[name].link, state).CombinedOutput(); err != nil {
		f.t.Fatalf("ip link set %s %s: %v\n%s", f.hosts[name].link, state, err, out)
	}
}

// TestFleetHostCutOffHolds cuts host a1 off the network while v2 rolls out
// in zone-a: its rollout holds — nothing fails, nothing rolls back, zone-b
// does not start — while the load balancer serves from the other hosts;
// with the link back, the rollout resumes and v2 reaches every host.
func TestFleetHostCutOffHolds(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	fl, f, st := servingV1(ctx, t)
	c2 := f.Commit(ctx, f.Artifacts["v2"], "", "Deploy web v2")
	v2 := f.Judged(ctx, t, c2).Services[0].Release
	e2etest.WaitFor(ctx, t, "v2 to start on a1", func() bool {
		s, err := f.API.Status(ctx)
		return err == nil && hasSetOf(placementOn(s, "a1"), v2)
	})
	fl.link(ctx, "a1", "down")
	cut := time.Now()
	t.Log("a1 cut off")
	// Long enough for the canary's bake (2s) and more: a1 must hold.
	time.Sleep(12 * time.Second)
	s, err := f.API.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if p := placementOn(s, "a1"); p.Error == nil {
		t.Errorf("a1's placement shows no error while it is cut off: %+v\n%s", p, f.Logs())
	} else {
		t.Logf("a1's placement while cut off: %s", p.Error.Error)
	}
	for _, e := range journal(ctx, t, f) {
		if e.Time.Before(cut) {
			continue
		}
		if e.Stage == "zone-b" || e.Stage == "zone-c" {
			t.Errorf("zone %s acted while zone-a's a1 was cut off: %s", e.Stage, e.Message)
		}
		if e.Kind == api.EntryOutcome && e.Error != "" && e.Target != "a1" {
			t.Errorf("an action failed on %s: %s", e.Target, e.Error)
		}
	}
	for _, svc := range s.Services {
		for _, p := range svc.Placements {
			for _, set := range p.Sets {
				if set.State == api.SetFailed {
					t.Errorf("set %s on %s failed while a1 was cut off: %s", set.ID, p.Target, set.Reason)
				}
			}
		}
	}
	fl.link(ctx, "a1", "up")
	t.Log("a1 back")
	f.Converge(ctx, st, "v2 after a1 came back", c2, "v2")
	st.AssertNoFailedRequests(t)
}

// processesOf counts the live processes whose environment names the
// infra-set (the process runtime's marker), zombies left out: namespaces
// share this machine's PIDs.
func processesOf(t *testing.T, set string) int {
	t.Helper()
	dirs, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, d := range dirs {
		if _, err := strconv.Atoi(d.Name()); err != nil {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", d.Name(), "environ"))
		if err != nil || !bytes.Contains(env, []byte("\x00DURABLE_INFRA_SET="+set+"\x00")) && !bytes.HasPrefix(env, []byte("DURABLE_INFRA_SET="+set+"\x00")) {
			continue
		}
		if stat, err := os.ReadFile(filepath.Join("/proc", d.Name(), "stat")); err == nil && strings.Contains(string(stat), ") Z ") {
			continue
		}
		n++
	}
	return n
}

// TestFleetAgentKilledMidStep SIGKILLs a1's agent while its v2 canary
// step bakes: started again, it re-adopts what runs, the rollout completes,
// and nothing was done twice — one create-set of v2's set on a1 in the
// journal, one instance of it running.
func TestFleetAgentKilledMidStep(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	fl, f, st := servingV1(ctx, t)
	c2 := f.Commit(ctx, f.Artifacts["v2"], "", "Deploy web v2")
	v2 := f.Judged(ctx, t, c2).Services[0].Release
	var set string
	e2etest.WaitFor(ctx, t, "v2's canary step on a1", func() bool {
		s, err := f.API.Status(ctx)
		if err != nil {
			return false
		}
		for _, x := range placementOn(s, "a1").Sets {
			if x.Release == v2 && x.State == api.SetCanary {
				set = x.ID
				return true
			}
		}
		return false
	})
	a1 := fl.hosts["a1"]
	a1.agent.Kill()
	t.Logf("a1's agent killed during %s's canary step", set)
	time.Sleep(time.Second)
	fl.startAgent(ctx, a1)
	f.Converge(ctx, st, "v2 after a1's agent came back", c2, "v2")
	st.AssertNoFailedRequests(t)

	creates := 0
	for _, e := range journal(ctx, t, f) {
		if e.Kind == api.EntryIntent && e.Action == api.ActionCreateSet && e.Set == set {
			creates++
		}
	}
	if creates != 1 {
		t.Errorf("%s was created %d times, want once", set, creates)
	}
	if n := processesOf(t, set); n != 1 {
		t.Errorf("%d processes run %s, want its one replica", n, set)
	}
}
