// Package haproxytest runs a real HAProxy (Debian's haproxy) for tests of
// the haproxy traffic adapter and of what drives it (an agent): a frontend
// on 127.0.0.1 that routes by the Host header's first label, and the
// Runtime API on a unix socket. It never skips: a test that needs HAProxy
// fails without it.
package haproxytest

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Start runs HAProxy for the rest of the test with one backend per name in
// backends (HAProxy cannot add a backend at run time, only servers) and
// returns its frontend's address and its Runtime API socket.
func Start(t testing.TB, backends ...string) (frontend, socket string) {
	t.Helper()
	bin, err := exec.LookPath("haproxy")
	if err != nil {
		t.Fatalf("haproxy is not installed (hack/install-deps.sh installs it): %v", err)
	}
	dir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	frontend = l.Addr().String()
	l.Close()
	socket = filepath.Join(dir, "admin.sock")
	var cfg strings.Builder
	fmt.Fprintf(&cfg, `global
    stats socket %s mode 600 level admin
defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
frontend fe
    bind %s
    use_backend %%[req.hdr(host),field(1,.),field(1,:),lower]
`, socket, frontend)
	for _, be := range backends {
		fmt.Fprintf(&cfg, "backend %s\n    balance roundrobin\n", be)
	}
	path := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(path, []byte(cfg.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-f", path, "-db")
	logFile, err := os.Create(filepath.Join(dir, "haproxy.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		logFile.Close()
	})
	deadline := time.Now().Add(30 * time.Second)
	for !answers(socket) {
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(logFile.Name())
			t.Fatalf("haproxy did not start:\n%s", b)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return frontend, socket
}

// answers reports whether the Runtime API at socket answers "show info".
func answers(socket string) bool {
	c, err := net.DialTimeout("unix", socket, time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, "show info\n"); err != nil {
		return false
	}
	b, err := io.ReadAll(c)
	return err == nil && strings.Contains(string(b), "Name:")
}
