// Package operate holds the end-to-end tests of what an operator runs
// alongside Durable: Prometheus scraping its metrics, notifications reaching
// their receivers. Each runs the durable binary's router and reconciler as
// their own processes against a real registry and Git repository
// (test/e2e/e2etest).
package operate

import (
	"os"
	"testing"

	"github.com/durable-delivery/durable/test/e2e/e2etest"
)

func TestMain(m *testing.M) { os.Exit(e2etest.Main(m)) }
