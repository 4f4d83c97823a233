package exec

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/durable-delivery/durable/adapters"
	"github.com/durable-delivery/durable/adapters/adaptertest"
	"github.com/durable-delivery/durable/adapters/router"
	"github.com/durable-delivery/durable/examples"
	"github.com/durable-delivery/durable/internal/listener"
)

// example is the path of an example executable from docs/adapters.md.
func example(t *testing.T, name string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", "..", "examples", "exec", name))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// forms are the two ways Durable runs a plug-in, for the conformance
// suites to hold both to the contract.
var forms = []string{"one-shot", "long-lived"}

// TestRuntimeConformance runs the runtime suite against the example
// executable that runs containers through the docker CLI, in both forms.
func TestRuntimeConformance(t *testing.T) {
	t.Cleanup(func() {
		if ref, err := examples.SharedImage(context.Background(), "v1"); err == nil {
			_ = exec.Command("docker", "image", "rm", "-f", ref).Run()
		}
	})
	for _, form := range forms {
		t.Run(form, func(t *testing.T) { runtimeConformance(t, form) })
	}
}

func runtimeConformance(t *testing.T, form string) {
	command := []string{python(t), example(t, "docker_runtime.py"), "--owner", fmt.Sprintf("durable-exec-test-%d", time.Now().UnixNano())}
	owner := command[3]
	adaptertest.RunRuntime(t, adaptertest.RuntimeHarness{
		New: func(t *testing.T) adapters.Runtime {
			if form == "one-shot" {
				return NewRuntime(command, time.Minute)
			}
			rt := NewLongLivedRuntime("docker-py", command, time.Minute)
			t.Cleanup(func() { _ = rt.Close() })
			return rt
		},
		Spec: func(t *testing.T, id string, replicas int) adapters.InfraSetSpec {
			ref, err := examples.SharedImage(context.Background(), "v1")
			if err != nil {
				t.Fatal(err)
			}
			return adapters.InfraSetSpec{ID: id, Service: "web", Release: "r1", Artifact: ref, Port: 8080,
				Replicas: replicas, Health: adapters.HealthCheck{Path: "/healthz", ExpectStatus: 200, Timeout: time.Second}}
		},
		KillInstance: func(t *testing.T, in adapters.Instance) {
			// Removed by hand, as an operator would: docker rm -f.
			ids, err := exec.Command("docker", "ps", "-q", "--filter", "label=io.durable.exec.owner="+owner).Output()
			if err != nil {
				t.Fatal(err)
			}
			for _, id := range strings.Fields(string(ids)) {
				ports, _ := exec.Command("docker", "port", id).Output()
				if slices.Contains(strings.Fields(string(ports)), in.Endpoint) {
					if err := exec.Command("docker", "rm", "-f", id).Run(); err != nil {
						t.Fatal(err)
					}
					return
				}
			}
			t.Fatalf("no container serves %s", in.Endpoint)
		},
	})
}

// TestTrafficConformance runs the traffic suite against the example
// executable that drives a router's admin API, in both forms.
func TestTrafficConformance(t *testing.T) {
	for _, form := range forms {
		t.Run(form, func(t *testing.T) { trafficConformance(t, form) })
	}
}

func trafficConformance(t *testing.T, form string) {
	ctx, cancel := context.WithCancel(context.Background())
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	// The example plug-in speaks HTTP over TCP: a loopback admin API
	// without a token, which only an operator's --insecure-admin allows.
	addrs, wait, err := router.Start(ctx, router.Config{Listen: "127.0.0.1:0", Admin: listener.Config{Address: "127.0.0.1:0"}, InsecureAdmin: true, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = wait()
	})
	command := []string{python(t), example(t, "router_traffic.py"), addrs.Admin}
	proxy := "http://" + addrs.Listen.String() + "/"
	adaptertest.RunTraffic(t, adaptertest.TrafficHarness{
		New: func(t *testing.T) adapters.Traffic {
			if form == "one-shot" {
				return NewTraffic(command, time.Minute)
			}
			tr := NewLongLivedTraffic("lb", command, time.Minute)
			t.Cleanup(func() { _ = tr.Close() })
			return tr
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
