package reconcile

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"

	"github.com/durable-delivery/durable/journal"
	"github.com/durable-delivery/durable/schema"
)

// placement is one service on one target of one stage: the unit a rollout
// converges.
type placement struct {
	service  schema.Service
	stage    string
	target   schema.Target
	revision string
	// attempt is the revision's attempt (see attempt.go): a release that
	// failed in it is not started again.
	attempt string
	// hold is the desired state's hold of the service: its rollouts pause.
	hold bool
	// at is where the placement is in the desired state; release the
	// release it converges on (service's ReleaseID, computed once).
	at      position
	release string
}

func (p placement) rolloutID(release string) string {
	return strings.Join([]string{p.service.Name, p.stage, p.target.Name, release}, "/")
}

// entry is the journal entry header for an action on set, which runs release
// on the placement.
func (p placement) entry(set, release string) journal.Entry {
	return journal.Entry{Service: p.service.Name, Stage: p.stage, Target: p.target.Name, Set: set,
		Release: release, Rollout: p.rolloutID(release)}
}

var plainName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,30}$`)

// infraSetID names the infra-set that runs release on a target. It is derived
// from its content so that an intent journaled before a crash and the retry
// after it name the same set: a crash never makes a duplicate.
func infraSetID(service, target, release string) string {
	if !plainName.MatchString(target) {
		sum := sha256.Sum256([]byte(target))
		target = hex.EncodeToString(sum[:4])
	}
	return fmt.Sprintf("%s-%s-%s", service, release[:12], target)
}
