package etcdtest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Pause stops etcd (SIGSTOP), as a host that hangs: it answers nothing
// until Resume. It returns once every thread of etcd has stopped (a
// signal is delivered after kill returns: a request sent at once could
// still be answered). The test's end resumes it.
func (s *Server) Pause(t testing.TB) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatalf("pause etcd: %v", err)
	}
	t.Cleanup(func() { _ = s.cmd.Process.Signal(syscall.SIGCONT) })
	deadline := time.Now().Add(10 * time.Second)
	for {
		stopped, err := allStopped(s.cmd.Process.Pid)
		if err != nil {
			t.Fatalf("pause etcd: %v", err)
		}
		if stopped {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("pause etcd: its threads did not all stop within 10s")
		}
		time.Sleep(time.Millisecond)
	}
}

// allStopped reports whether every thread of process pid is stopped, as
// /proc/PID/task/TID/stat tells (state T).
func allStopped(pid int) (bool, error) {
	stats, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/stat", pid))
	if err != nil || len(stats) == 0 {
		return false, fmt.Errorf("read the threads of process %d: %v", pid, err)
	}
	for _, path := range stats {
		data, err := os.ReadFile(path)
		if err != nil {
			return false, err
		}
		// The state follows the command name, which is in parentheses.
		_, rest, ok := strings.Cut(string(data), ") ")
		if !ok || !strings.HasPrefix(rest, "T") {
			return false, nil
		}
	}
	return true, nil
}

// Resume lets a paused etcd run again (SIGCONT).
func (s *Server) Resume(t testing.TB) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatalf("resume etcd: %v", err)
	}
}
