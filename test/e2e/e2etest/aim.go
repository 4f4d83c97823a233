package e2etest

import (
	"context"
	"math/rand/v2"
	"slices"
	"time"
)

// aimPoll is how often an aimed kill reads the reconciler's status: a few
// milliseconds, so that a place that lasts tens of them is seen.
const aimPoll = 3 * time.Millisecond

// Aim is where to kill the reconciler: in one of Places, a random time
// below Spread after the status first shows it there, so that kills spread
// inside the place rather than all at its start. Within bounds the wait
// for the place; past it, the kill happens anyway.
type Aim struct {
	Places []Place
	Spread time.Duration
	Within time.Duration
}

// KillAimed SIGKILLs the reconciler where aim says, from polling its status
// (PlaceOf) as an operator's client would; the reconciler is not told. It
// returns the place the status showed when the kill was decided, or ""
// when none of aim's places was seen within its time. Where the kill
// really landed is the journal's to say (KillPoint): the place may end
// during the spread.
func (f *Fixture) KillAimed(ctx context.Context, rng *rand.Rand, aim Aim) Place {
	ctx, cancel := context.WithTimeout(ctx, aim.Within)
	defer cancel()
	var seen Place
	for {
		if s, err := f.API.Status(ctx); err == nil && slices.Contains(aim.Places, PlaceOf(s)) {
			seen = PlaceOf(s)
			break
		}
		select {
		case <-ctx.Done():
			f.Kill()
			return ""
		case <-time.After(aimPoll):
		}
	}
	if aim.Spread > 0 {
		time.Sleep(time.Duration(rng.Int64N(int64(aim.Spread))))
	}
	f.Kill()
	return seen
}
