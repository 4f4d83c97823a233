package e2etest

import (
	"context"
	"fmt"

	"github.com/durable-delivery/durable/api"
)

// Inconsistency checks the traffic and the runtime against the journal, as
// the status shows them: on every placement the weights sum to 100, all of
// it on the serving set; every running infra-set is one the journal keeps
// (or is removing, or failed), with each instance once (RunningProblem).
// It returns the first breach, or nil.
func (f *Fixture) Inconsistency(ctx context.Context) error {
	s, err := f.API.Status(ctx)
	if err != nil {
		return fmt.Errorf("read the status: %w", err)
	}
	for _, svc := range s.Services {
		for _, pl := range svc.Placements {
			if pl.Split == nil {
				return fmt.Errorf("%s/%s: no traffic split observed", pl.Stage, pl.Target)
			}
			sum := 0
			for _, b := range pl.Split.Backends {
				sum += b.Weight
				if b.Weight > 0 && b.Set != pl.Serving {
					return fmt.Errorf("%s/%s: %s has %d%% of the traffic but %s serves", pl.Stage, pl.Target, b.Set, b.Weight, pl.Serving)
				}
			}
			if sum != 100 {
				return fmt.Errorf("%s/%s: weights sum to %d: %+v", pl.Stage, pl.Target, sum, pl.Split)
			}
		}
	}
	_, err = f.RunningProblem(ctx, s, api.SetServing, api.SetWarm, api.SetRemoving, api.SetFailed)
	return err
}
