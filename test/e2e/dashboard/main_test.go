// Package dashboard holds the end-to-end test of the reconciler's
// dashboard in a real headless Chromium (Debian's chromium, driven by
// chromedp): the split shown changes during a rollout without a reload,
// Approve lifts a stage's gate, "roll back to this" switches traffic to a
// warm set, and a write without the session's CSRF token is refused. The
// router, the reconciler, the registry and the Git repository are real and
// their own processes (test/e2e/e2etest). Screenshots of each step are
// written to $DURABLE_E2E_ARTIFACTS (else a directory under the system's
// temporary directory), which the test's log names.
package dashboard

import (
	"os"
	"testing"

	"github.com/durable-delivery/durable/test/e2e/e2etest"
)

func TestMain(m *testing.M) { os.Exit(e2etest.Main(m)) }
