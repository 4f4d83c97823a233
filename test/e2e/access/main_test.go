// Package access holds the end-to-end tests of who may call Durable's
// APIs (DESIGN.md, "Who is trusted with what"): another local user, run as
// uid nobody, against the real router's admin API and the real
// reconciler's API; listeners off loopback without TLS; hostile tokens.
package access

import (
	"os"
	"testing"

	"github.com/durable-delivery/durable/test/e2e/e2etest"
)

func TestMain(m *testing.M) { os.Exit(e2etest.Main(m)) }
