package journal

import (
	"os"
	"testing"
)

// TestMain turns the test binary into a crash child when a crash test
// runs it again (bolt_crash_test.go, etcd_crash_test.go): the process it
// kills.
func TestMain(m *testing.M) {
	if path := os.Getenv(crashChildEnv); path != "" {
		appendUntilKilled(path)
	}
	if endpoint := os.Getenv(etcdCrashChildEnv); endpoint != "" {
		writeEtcdUntilKilled(endpoint)
	}
	os.Exit(m.Run())
}
