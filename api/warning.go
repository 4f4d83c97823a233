package api

import "time"

// Warning is a guarantee the running reconciler does not give because its
// operator chose so when starting it: nothing verified, instances run as
// root. It lasts as long as that reconciler runs; each start journals its
// warnings again (an event with the action ActionWarning).
type Warning struct {
	Reason  Reason    `json:"reason"`
	Message string    `json:"message"`
	Since   time.Time `json:"since,omitzero"`
}

// Reasons of a Warning.
const (
	// ReasonInsecureSkipVerify: started with --insecure-skip-verify and no
	// trust file; no artifact and no commit is verified.
	ReasonInsecureSkipVerify Reason = "InsecureSkipVerify"
	// ReasonInstancesRunAsRoot: the reconciler runs as root without
	// --run-as, so the process runtime's instances run as root too.
	ReasonInstancesRunAsRoot Reason = "InstancesRunAsRoot"
)
