// Package core holds the end-to-end tests of a rollout on one stage: the
// demo's story, canaries and their analysis, reverts to warm sets, Docker and
// HAProxy targets, the reconciler killed at any instant, drift, a hostile
// revision and a degrading dependency. Each runs the durable binary's router
// and reconciler as their own processes against a real registry and Git
// repository (test/e2e/e2etest).
package core

import (
	"os"
	"testing"

	"github.com/durable-delivery/durable/test/e2e/e2etest"
)

func TestMain(m *testing.M) { os.Exit(e2etest.Main(m)) }
