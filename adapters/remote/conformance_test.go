package remote

import (
	"encoding/json"
	"net/http"
	"syscall"
	"testing"

	"github.com/durable-delivery/durable/adapters"
	"github.com/durable-delivery/durable/adapters/adaptertest"
)

// TestConformance runs the runtime suite against the process runtime of a
// real agent, through its API over mutual TLS: each New is a fresh client,
// as a restarted reconciler would make.
func TestConformance(t *testing.T) {
	addr := startAgent(t, agentOptions{})
	adaptertest.RunRuntime(t, adaptertest.RuntimeHarness{
		New: func(t *testing.T) adapters.Runtime {
			return dial(t, addr, "a1", reconcilerName).Runtime("process", nil)
		},
		Spec: func(t *testing.T, id string, replicas int) adapters.InfraSetSpec { return demoSpec(t, id, replicas) },
		KillInstance: func(t *testing.T, in adapters.Instance) {
			if err := syscall.Kill(in.PID, syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
		},
	})
}

// TestTrafficConformance runs the traffic suite against a real router
// driven by a real agent, which finds the router's admin API in its host
// file under the name the call gives.
func TestTrafficConformance(t *testing.T) {
	listen, host := startRouter(t)
	addr := startAgent(t, agentOptions{host: host})
	proxy := "http://" + listen + "/"
	adaptertest.RunTraffic(t, adaptertest.TrafficHarness{
		New: func(t *testing.T) adapters.Traffic {
			return dial(t, addr, "a1", reconcilerName).Traffic("router", json.RawMessage(`{"admin": "edge"}`))
		},
		Send: func(t *testing.T, service string) (string, error) {
			req, err := http.NewRequest(http.MethodGet, proxy, nil)
			if err != nil {
				return "", err
			}
			req.Host = service + ".localhost"
			return adaptertest.ReadAll(http.DefaultClient.Do(req))
		},
	})
}
