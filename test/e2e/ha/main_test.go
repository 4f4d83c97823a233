// Package ha holds the end-to-end tests of reconcilers that share one etcd
// (durable run --etcd): one leads and acts, the others stand by; the
// leader killed, a standby takes over and applies what was committed
// meanwhile. Each runs the durable binary's router and reconcilers as
// their own processes against a real etcd (internal/etcdtest), registry
// and Git repository (test/e2e/e2etest).
package ha

import (
	"os"
	"testing"

	"github.com/durable-delivery/durable/test/e2e/e2etest"
)

func TestMain(m *testing.M) { os.Exit(e2etest.Main(m)) }
