//go:build unix

package etcdtest

import (
	"syscall"
	"testing"
)

// Pause stops etcd (SIGSTOP), as a host that hangs: it answers nothing
// until Resume. The test's end resumes it.
func (s *Server) Pause(t testing.TB) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatalf("pause etcd: %v", err)
	}
	t.Cleanup(func() { _ = s.cmd.Process.Signal(syscall.SIGCONT) })
}

// Resume lets a paused etcd run again (SIGCONT).
func (s *Server) Resume(t testing.TB) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatalf("resume etcd: %v", err)
	}
}
