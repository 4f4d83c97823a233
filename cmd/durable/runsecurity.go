package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/durable-delivery/durable/adapters"
	"github.com/durable-delivery/durable/api"
)

// checkVerification refuses to run unverified unless the operator says so:
// a trust file, or --insecure-skip-verify, never both and never neither.
func checkVerification(o runOptions) error {
	switch {
	case o.trustFile == "" && !o.insecureSkipVerify:
		return usageError{errors.New("no --trust file: durable run runs only what trusted keys signed; give --trust FILE (docs/trust.md; a trust file saying artifacts: unverified trusts commits only), or --insecure-skip-verify to run what the repository names unverified")}
	case o.trustFile != "" && o.insecureSkipVerify:
		return usageError{errors.New("--insecure-skip-verify with --trust: the trust file verifies, so leave --insecure-skip-verify out")}
	}
	return nil
}

// lookupRunAs resolves --run-as, if given: a user of this host that this
// reconciler can start processes as (itself, or any user when root).
func lookupRunAs(cmd *cobra.Command, name string) (*adapters.RunAs, error) {
	if !cmd.Flags().Changed("run-as") {
		return nil, nil
	}
	u, err := adapters.LookupRunAs(name)
	if err != nil {
		return nil, usageError{fmt.Errorf("--run-as: %w", err)}
	}
	if euid := os.Geteuid(); euid != 0 && int(u.UID) != euid {
		return nil, usageError{fmt.Errorf("--run-as %s: only a reconciler running as root starts instances as another user (this one is uid %d); run durable as root, or leave --run-as out to run instances as uid %d", u.Name, euid, euid)}
	}
	return u, nil
}

// startWarnings are the guarantees the reconciler starts without, which it
// journals and shows in status.
func startWarnings(o runOptions) []api.Warning {
	var out []api.Warning
	if o.insecureSkipVerify {
		out = append(out, api.Warning{Reason: api.ReasonInsecureSkipVerify,
			Message: "started with --insecure-skip-verify: no artifact and no commit is verified, any committer runs any image; give --trust FILE"})
	}
	if os.Geteuid() == 0 && (o.runAs == nil || o.runAs.UID == 0) {
		out = append(out, api.Warning{Reason: api.ReasonInstancesRunAsRoot,
			Message: "the reconciler runs as root, and so do the process runtime's instances; give --run-as USER (an unprivileged user, e.g. nobody)"})
	}
	return out
}
