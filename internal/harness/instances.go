package harness

import (
	"context"
	"time"

	"github.com/durable-delivery/durable/adapters/process"
)

// RemoveInstances stops every instance that the process runtime rooted at
// root started: instances outlive the reconciler by design, so whoever ran
// it cleans up itself.
func RemoveInstances(root string) {
	rt, err := process.New(process.Config{Root: root})
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sets, err := rt.Observe(ctx)
	if err != nil {
		return
	}
	for _, s := range sets {
		_ = rt.Remove(ctx, s.ID, 5*time.Second)
	}
}
