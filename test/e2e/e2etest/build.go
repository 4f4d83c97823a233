package e2etest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// Bin is the durable binary the tests run: the router and the reconciler
// run as their own processes, as in production. Main builds it.
var Bin string

// Main builds the durable binary, then runs the package's tests and returns
// their exit code. Each end-to-end package's TestMain is
// os.Exit(e2etest.Main(m)).
func Main(m *testing.M) int {
	bin, err := build()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	Bin = bin
	return m.Run()
}

// build builds cmd/durable into a directory of the user's cache kept for
// this checkout, and returns the binary's path. The end-to-end packages, which
// go test runs in parallel, share it: under a lock, the first to come builds
// it and the others find it up to date, for `go build` relinks only when the
// source changed (it compares its build ID with the binary's already there),
// which costs a second rather than a link.
func build() (string, error) {
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	checkout := sha256.Sum256([]byte(strings.TrimSpace(string(gomod))))
	dir := filepath.Join(cache, "durable-e2e", hex.EncodeToString(checkout[:8]))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	lock, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", err
	}
	defer lock.Close() // and so unlocked
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", fmt.Errorf("lock %s: %w", lock.Name(), err)
	}
	bin := filepath.Join(dir, "durable")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/durable-delivery/durable/cmd/durable").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("build durable: %v\n%s", err, out)
	}
	return bin, nil
}
