package api

// SetState is where an infra-set is in its life. An infra-set is immutable:
// its state is the only thing about it that changes.
type SetState string

// Infra-set states, in the order a set normally passes through them.
const (
	SetCreating SetState = "creating" // intent to create journaled; instances starting
	SetReady    SetState = "ready"    // every instance healthy, not yet serving
	SetCanary   SetState = "canary"   // a canary step: serving Weight percent beside the serving set
	SetProbe    SetState = "probe"    // started for a check (upgrade-downgrade test), never routed
	SetServing  SetState = "serving"  // receives the service's traffic
	SetWarm     SetState = "warm"     // served before; kept running and routable at weight 0
	SetFailed   SetState = "failed"   // never became healthy, or its canary failed; to be removed
	SetRemoving SetState = "removing" // intent to remove journaled
	SetRemoved  SetState = "removed"  // gone from the target
)

// SetStates lists every infra-set state.
var SetStates = []SetState{SetCreating, SetReady, SetCanary, SetProbe, SetServing, SetWarm, SetFailed, SetRemoving, SetRemoved}

// Live reports whether a set's instances should be running in this state.
func (s SetState) Live() bool {
	switch s {
	case SetCreating, SetReady, SetCanary, SetServing, SetWarm, SetProbe:
		return true
	}
	return false
}
