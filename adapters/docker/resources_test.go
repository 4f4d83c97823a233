package docker

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/durable-delivery/durable/adapters"
	"github.com/durable-delivery/durable/adapters/docker/settings"
)

// The run spec's resource limits reach the containers.
func TestResourceLimitsReachTheContainers(t *testing.T) {
	owner := fmt.Sprintf("durable-test-%d", time.Now().UnixNano())
	rt, err := New(Config{Docker: settings.Docker{Owner: owner}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close() })
	ctx := context.Background()
	spec := adapters.InfraSetSpec{ID: "web-limits", Service: "web", Release: "r1", Artifact: demoImage(t), Port: 8080, Replicas: 1,
		Health:    adapters.HealthCheck{Path: "/healthz", ExpectStatus: 200, Timeout: time.Second},
		Resources: adapters.Resources{NanoCPUs: 500_000_000, MemoryBytes: 64 << 20}}
	t.Cleanup(func() { _ = rt.Remove(context.Background(), spec.ID, time.Second) })
	if _, err := rt.Ensure(ctx, spec); err != nil {
		t.Fatal(err)
	}
	engine, err := client.New(client.FromEnv)
	if err != nil {
		t.Fatal(err)
	}
	defer engine.Close()
	res, err := engine.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: make(client.Filters).Add("label", labelSet+"="+spec.ID)})
	if err != nil || len(res.Items) != 1 {
		t.Fatalf("containers of %s: %d, %v", spec.ID, len(res.Items), err)
	}
	in, err := engine.ContainerInspect(ctx, res.Items[0].ID, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if hc := in.Container.HostConfig; hc.NanoCPUs != 500_000_000 || hc.Memory != 64<<20 {
		t.Fatalf("limits: %d nano-CPUs, %d bytes; want 0.5 CPU and 64 MiB", hc.NanoCPUs, hc.Memory)
	}
}
