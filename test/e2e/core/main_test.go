// Package core holds the end-to-end tests of a rollout's mechanics and of
// recovery: the demo's story, reverts to warm sets, old sets collected,
// Docker and HAProxy targets, the reconciler killed at any instant, crashed
// instances, drift, and revisions or releases that are rejected, hostile or
// failing, and a forge's webhook triggering a fetch. Each runs the durable
// binary's router and reconciler as their own processes against a real
// registry and Git repository (test/e2e/e2etest).
package core

import (
	"os"
	"testing"

	"github.com/durable-delivery/durable/test/e2e/e2etest"
)

func TestMain(m *testing.M) { os.Exit(e2etest.Main(m)) }
