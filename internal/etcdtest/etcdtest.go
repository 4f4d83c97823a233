// Package etcdtest runs a real etcd server (Debian's etcd-server, 3.4, at
// /usr/bin/etcd) for tests: a single member on 127.0.0.1 with ports of its
// own and a temporary data directory, stopped and removed with the test.
// It never uses an etcd it did not start (Debian's package may run one on
// 2379). Missing, etcd skips the test on a developer's machine and fails
// it under CI=true, where hack/install-deps.sh must have installed it.
package etcdtest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// Binary is where Debian's etcd-server installs the server.
const Binary = "/usr/bin/etcd"

// startTries is how many times Start picks new ports when etcd fails to
// come up: a port found free may be taken before etcd binds it.
const startTries = 3

// Server is a running etcd member.
type Server struct {
	// Endpoint is its client URL, http://127.0.0.1:PORT.
	Endpoint string
	// DataDir is its data directory.
	DataDir string
	log     *buffer
	cmd     *exec.Cmd
	exited  chan struct{}
}

// Start starts an etcd member whose data directory is on /dev/shm when
// there is one: etcd 3.4 cannot turn fsync off, and the tests are about
// the client's semantics, not the disk's. It stops with the test.
func Start(t testing.TB) *Server {
	t.Helper()
	return StartIn(t, shmDir(t))
}

// StartIn starts an etcd member with its data directory under parent
// (a benchmark that wants a real disk passes t.TempDir()).
func StartIn(t testing.TB, parent string) *Server {
	t.Helper()
	bin := need(t)
	var last error
	for range startTries {
		s, err := start(t, bin, parent)
		if err == nil {
			return s
		}
		last = err
	}
	t.Fatalf("start etcd: %v", last)
	return nil
}

// Client is a client of s, closed with the test.
func (s *Server) Client(t testing.TB) *clientv3.Client {
	t.Helper()
	c, err := clientv3.New(clientv3.Config{Endpoints: []string{s.Endpoint}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatalf("etcd client for %s: %v", s.Endpoint, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func need(t testing.TB) string {
	t.Helper()
	if fi, err := os.Stat(Binary); err == nil && fi.Mode().IsRegular() {
		return Binary
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not installed; run hack/install-deps.sh (Debian package etcd-server)", Binary)
	}
	t.Skipf("%s is not installed; run hack/install-deps.sh (Debian package etcd-server)", Binary)
	return ""
}

// shmDir is a temporary directory on /dev/shm, or the test's own when
// there is no /dev/shm; removed with the test.
func shmDir(t testing.TB) string {
	dir, err := os.MkdirTemp("/dev/shm", "durable-etcd-")
	if err != nil {
		return t.TempDir()
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

func start(t testing.TB, bin, parent string) (*Server, error) {
	dir, err := os.MkdirTemp(parent, "etcd-")
	if err != nil {
		return nil, err
	}
	client, peer, err := freePorts()
	if err != nil {
		return nil, err
	}
	s := &Server{Endpoint: "http://127.0.0.1:" + client, DataDir: filepath.Join(dir, "data"), log: &buffer{}, exited: make(chan struct{})}
	peerURL := "http://127.0.0.1:" + peer
	s.cmd = exec.Command(bin,
		"--name", "durable-test",
		"--data-dir", s.DataDir,
		"--listen-client-urls", s.Endpoint, "--advertise-client-urls", s.Endpoint,
		"--listen-peer-urls", peerURL, "--initial-advertise-peer-urls", peerURL,
		"--initial-cluster", "durable-test="+peerURL, "--initial-cluster-state", "new",
		"--logger", "zap", "--log-outputs", "stderr", "--log-level", "warn")
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	s.cmd.SysProcAttr = dieWithParent()
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	go func() {
		_ = s.cmd.Wait()
		close(s.exited)
	}()
	if err := s.waitReady(); err != nil {
		s.stop()
		return nil, fmt.Errorf("%w\netcd log:\n%s", err, s.log)
	}
	t.Cleanup(func() {
		s.stop()
		if t.Failed() {
			t.Logf("etcd log:\n%s", s.log)
		}
	})
	return s, nil
}

// waitReady waits until etcd answers a read, or exits, or 20 s pass.
func (s *Server) waitReady() error {
	c, err := clientv3.New(clientv3.Config{Endpoints: []string{s.Endpoint}, DialTimeout: time.Second, Logger: zap.NewNop()})
	if err != nil {
		return err
	}
	defer c.Close()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := c.Get(ctx, "durable-etcdtest-ready")
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-s.exited:
			return fmt.Errorf("etcd exited before it was ready (%v)", s.cmd.ProcessState)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("etcd on %s not ready within 20s: %w", s.Endpoint, err)
		}
	}
}

// stop kills etcd and waits for it to exit: nothing of its data is kept,
// and a paused etcd dies of SIGKILL as well.
func (s *Server) stop() {
	_ = s.cmd.Process.Kill()
	<-s.exited
}

// freePorts finds two ports free on 127.0.0.1 at once.
func freePorts() (string, string, error) {
	var ports []string
	for range 2 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", "", err
		}
		defer l.Close()
		ports = append(ports, strconv.Itoa(l.Addr().(*net.TCPAddr).Port))
	}
	return ports[0], ports[1], nil
}

// buffer collects a process's output while it runs.
type buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
