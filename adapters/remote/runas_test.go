package remote

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/durable-delivery/durable/adapters"
)

// TestAgentRunsInstancesAsItsRunAsUser: an agent given a user (--run-as)
// starts the process runtime's instances as that user, and a fresh client
// observes them as its own. It needs root, as the agent does.
func TestAgentRunsInstancesAsItsRunAsUser(t *testing.T) {
	if os.Geteuid() != 0 {
		msg := "this test starts instances as nobody: run it as root"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	nobody, err := adapters.LookupRunAs("nobody")
	if err != nil {
		t.Fatal(err)
	}
	state, err := os.MkdirTemp("", "durable-agent-runas-") // t.TempDir's are private: nobody could not run what is unpacked
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(state) })
	if err := os.Chmod(state, 0o755); err != nil {
		t.Fatal(err)
	}
	addr := startAgent(t, agentOptions{state: state, runAs: nobody})
	rt := dial(t, addr, "a1", reconcilerName).Runtime("process", nil)
	removeAll(t, rt)
	st := waitHealthy(t, rt, demoSpec(t, "as-nobody", 1))
	b, err := os.ReadFile("/proc/" + strconv.Itoa(st.Instances[0].PID) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	want := "Uid:\t" + strconv.Itoa(int(nobody.UID)) + "\t"
	if !strings.Contains(string(b), want) {
		t.Fatalf("instance pid %d does not run as nobody (uid %d)", st.Instances[0].PID, nobody.UID)
	}
	sets, err := dial(t, addr, "a1", reconcilerName).Runtime("process", nil).Observe(t.Context())
	if err != nil || len(sets) != 1 || sets[0].Instances[0].PID != st.Instances[0].PID || sets[0].Instances[0].Endpoint == "" {
		t.Fatalf("a fresh client observes %+v, %v", sets, err)
	}
}
