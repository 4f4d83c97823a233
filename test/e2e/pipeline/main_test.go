// Package pipeline holds the end-to-end tests of what decides whether and
// when a release moves: canary analysis (without traffic, latency, a
// degrading upstream, Prometheus), stages and their bakes and gates, zones,
// policies, approvals and holds, blue/green previews, trust, secrets, the
// upgrade-downgrade test and warm sets kept minimal. Each runs the durable
// binary's router and reconciler as their own processes against a real
// registry and Git repository (test/e2e/e2etest).
package pipeline

import (
	"os"
	"testing"

	"github.com/durable-delivery/durable/test/e2e/e2etest"
)

func TestMain(m *testing.M) { os.Exit(e2etest.Main(m)) }
