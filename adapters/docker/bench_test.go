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

// BenchmarkHealthyInfraSetOf3 measures, per operation, the time from Ensure
// to three healthy containers of the demo service (image already pulled),
// as a new infra-set of a rollout would take.
func BenchmarkHealthyInfraSetOf3(b *testing.B) {
	artifact := demoImage(b)
	rt, err := New(Config{Docker: settings.Docker{Owner: fmt.Sprintf("durable-bench-%d", time.Now().UnixNano())}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	defer rt.Close()
	ctx := context.Background()
	b.Cleanup(func() {
		_, _ = rt.engine.ImageRemove(context.Background(), artifact, client.ImageRemoveOptions{Force: true, PruneChildren: true})
	})
	// The first set pulls the image: not measured.
	for i := -1; i < b.N; i++ {
		if i == 0 {
			b.ResetTimer()
		}
		spec := adapters.InfraSetSpec{ID: fmt.Sprintf("bench-%d", i+1), Service: "web", Release: "r1", Artifact: artifact, Port: 8080,
			Replicas: 3, Health: adapters.HealthCheck{Path: "/healthz", ExpectStatus: 200, Timeout: time.Second}}
		for {
			st, err := rt.Ensure(ctx, spec)
			if err != nil {
				b.Fatal(err)
			}
			if st.Healthy(3) {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		b.StopTimer()
		if err := rt.Remove(ctx, spec.ID, 5*time.Second); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}
