//go:build soak

// Package soak is the kill soak, outside CI: it SIGKILLs the reconciler a
// given number of times at random instants inside canary steps, warm
// reverts, set creations, upgrade-downgrade checks, stage bakes and gate
// holds, on the end-to-end fixture (test/e2e/e2etest), and checks after
// each kill what must hold. hack/soak.sh runs it; the build tag soak keeps
// it out of `go test ./...`.
package soak

import (
	"os"
	"testing"

	"github.com/durable-delivery/durable/test/e2e/e2etest"
)

func TestMain(m *testing.M) { os.Exit(e2etest.Main(m)) }
