// Package fleet holds the end-to-end tests of a fleet: real `durable agent`s
// on hosts that are network namespaces (hack/fleet-up.sh), each with its own
// router, a real HAProxy load balancer in front of them, and a reconciler
// reaching the agents over mutual TLS. They need root and iproute2; under
// CI=true a missing one fails them.
package fleet

import (
	"os"
	"testing"

	"github.com/durable-delivery/durable/test/e2e/e2etest"
)

func TestMain(m *testing.M) { os.Exit(e2etest.Main(m)) }
