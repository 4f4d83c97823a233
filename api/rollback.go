package api

import (
	"errors"
	"fmt"
	"regexp"
)

// RollbackRequest asks for a service to go back to a release (POST
// /v1/rollback, durable rollback): a commit that sets the service's fields
// back to what they were at that release.
type RollbackRequest struct {
	Service string `json:"service"`
	// Stage, optional, narrows which warm sets are looked at to pick the
	// release when Release is left out.
	Stage string `json:"stage,omitempty"`
	// Release, optional, is the release id (or, of 12 digits or more, a
	// prefix of a warm set's);
	// left out, it is the one release a warm set of the service runs.
	Release string `json:"release,omitempty"`
}

var (
	rollbackName    = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
	rollbackRelease = regexp.MustCompile(`^[a-f0-9]{12,64}$`)
)

// Check says what is wrong with a request, with the fix.
func (r RollbackRequest) Check() error {
	var errs []error
	if !rollbackName.MatchString(r.Service) {
		errs = append(errs, fmt.Errorf("service %q is not a service name (lower-case letters, digits and '-', at most 63)", r.Service))
	}
	if r.Stage != "" && !rollbackName.MatchString(r.Stage) {
		errs = append(errs, fmt.Errorf("stage %q is not a stage name (lower-case letters, digits and '-', at most 63)", r.Stage))
	}
	if r.Release != "" && !rollbackRelease.MatchString(r.Release) {
		errs = append(errs, fmt.Errorf("release %q is not a release id (12 to 64 lower-case hex digits; durable history lists them)", r.Release))
	}
	return errors.Join(errs...)
}

// RollbackResult is what a rollback committed and what the reconciler
// will do with it.
type RollbackResult struct {
	Service string `json:"service"`
	Stage   string `json:"stage,omitempty"`
	Release string `json:"release"`
	Commit  string `json:"commit"`
	// Warm lists the placements (stage/target) whose warm sets run the
	// release: their traffic switches with no new set.
	Warm    []string `json:"warm,omitempty"`
	Message string   `json:"message"`
}
