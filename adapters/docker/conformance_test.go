package docker

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/durable-delivery/durable/adapters"
	"github.com/durable-delivery/durable/adapters/adaptertest"
	"github.com/durable-delivery/durable/adapters/docker/settings"
	"github.com/durable-delivery/durable/examples"
)

// demoImage is the demo service, built once per test binary and pushed to a
// registry on 127.0.0.1, which the engine pulls from (loopback registries
// need no TLS).
func demoImage(t testing.TB) string {
	t.Helper()
	ref, err := examples.SharedImage(context.Background(), "v1")
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

// TestConformance runs the runtime adapter suite against the machine's
// Docker engine. Without an engine the test fails: it never skips.
func TestConformance(t *testing.T) {
	owner := fmt.Sprintf("durable-test-%d", time.Now().UnixNano())
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	engine, err := client.New(client.FromEnv)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { engine.Close() })
	if _, err := engine.Ping(context.Background(), client.PingOptions{}); err != nil {
		t.Fatalf("the Docker engine must be running for these tests: %v", err)
	}
	t.Cleanup(func() {
		// The registry lives only as long as this test binary: its images
		// would linger in the engine under a dead address.
		if ref, err := examples.SharedImage(context.Background(), "v1"); err == nil {
			_, _ = engine.ImageRemove(context.Background(), ref, client.ImageRemoveOptions{Force: true, PruneChildren: true})
		}
	})
	adaptertest.RunRuntime(t, adaptertest.RuntimeHarness{
		New: func(t *testing.T) adapters.Runtime {
			rt, err := New(Config{Docker: settings.Docker{Owner: owner, Labels: map[string]string{"io.durable.test": t.Name()}}, Logger: quiet})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { rt.Close() })
			return rt
		},
		Spec: func(t *testing.T, id string, replicas int) adapters.InfraSetSpec {
			return adapters.InfraSetSpec{ID: id, Service: "web", Release: "r1", Artifact: demoImage(t), Port: 8080,
				Replicas: replicas, Health: adapters.HealthCheck{Path: "/healthz", ExpectStatus: 200, Timeout: time.Second}}
		},
		KillInstance: func(t *testing.T, in adapters.Instance) {
			// Removed by hand, as an operator would: docker rm -f.
			res, err := engine.ContainerList(context.Background(), client.ContainerListOptions{All: true,
				Filters: make(client.Filters).Add("label", labelOwner+"="+owner)})
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range res.Items {
				for _, p := range c.Ports {
					if strings.HasSuffix(in.Endpoint, ":"+strconv.Itoa(int(p.PublicPort))) {
						if _, err := engine.ContainerRemove(context.Background(), c.ID, client.ContainerRemoveOptions{Force: true}); err != nil {
							t.Fatal(err)
						}
						return
					}
				}
			}
			t.Fatalf("no container serves %s", in.Endpoint)
		},
	})
}
