package remote

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/durable-delivery/durable/adapters"
	"github.com/durable-delivery/durable/internal/hangtest"
)

// TestAgentDownOrHungIsUnavailable: an agent that refuses connections, or
// accepts them and never answers (not even the TLS handshake), makes every
// call end by its deadline as ErrUnavailable: the target holds, the caller
// goes on.
func TestAgentDownOrHungIsUnavailable(t *testing.T) {
	for name, addr := range map[string]string{"down": hangtest.FakeDownTCP(t), "hung": hangtest.FakeHungTCP(t)} {
		a := dial(t, addr, "a1", reconcilerName)
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		errs := everyCallWith(ctx, a)
		cancel()
		for call, err := range errs {
			if !errors.Is(err, adapters.ErrUnavailable) {
				t.Errorf("%s agent, %s: %v, want ErrUnavailable", name, call, err)
			}
		}
	}
}
