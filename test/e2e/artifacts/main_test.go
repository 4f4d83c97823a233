// Package artifacts holds the end-to-end test of the path from a build to a
// rollout with Durable's own commands: durable pack, keys new, sign and
// release, against Debian's docker-registry, a real Git repository, and the
// durable binary's router and reconciler as their own processes
// (test/e2e/e2etest).
package artifacts

import (
	"os"
	"testing"

	"github.com/durable-delivery/durable/test/e2e/e2etest"
)

func TestMain(m *testing.M) { os.Exit(e2etest.Main(m)) }
