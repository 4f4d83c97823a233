package etcdtest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// Cluster is a real etcd cluster of the test's own: its members on
// 127.0.0.1, their data on /dev/shm, stopped with the test. A member killed
// can be started again on its data, as a host that comes back.
type Cluster struct {
	Members []*Server
	bin     string
	initial string
	names   []string
	peers   []string
}

// StartCluster starts a cluster of n members and waits until it answers.
func StartCluster(t testing.TB, n int) *Cluster {
	t.Helper()
	c := &Cluster{bin: need(t)}
	parent := shmDir(t)
	var initial []string
	for i := range n {
		client, peer, err := freePorts()
		if err != nil {
			t.Fatal(err)
		}
		name := fmt.Sprintf("m%d", i)
		dir, err := os.MkdirTemp(parent, "etcd-"+name+"-")
		if err != nil {
			t.Fatal(err)
		}
		c.names, c.peers = append(c.names, name), append(c.peers, "http://127.0.0.1:"+peer)
		c.Members = append(c.Members, &Server{Endpoint: "http://127.0.0.1:" + client, DataDir: filepath.Join(dir, "data"), log: &buffer{}})
		initial = append(initial, name+"="+c.peers[i])
	}
	c.initial = strings.Join(initial, ",")
	for i := range c.Members {
		if err := c.run(i); err != nil {
			t.Fatal(err)
		}
	}
	for i, m := range c.Members {
		if err := m.waitReady(); err != nil {
			t.Fatalf("etcd member %s: %v\n%s", c.names[i], err, m.log)
		}
	}
	t.Cleanup(func() {
		for i, m := range c.Members {
			if m.cmd != nil {
				m.stop()
			}
			if t.Failed() {
				t.Logf("etcd member %s log:\n%s", c.names[i], m.log)
			}
		}
	})
	return c
}

// run starts member i's process on its data directory.
func (c *Cluster) run(i int) error {
	m := c.Members[i]
	m.exited = make(chan struct{})
	m.cmd = exec.Command(c.bin,
		"--name", c.names[i], "--data-dir", m.DataDir,
		"--listen-client-urls", m.Endpoint, "--advertise-client-urls", m.Endpoint,
		"--listen-peer-urls", c.peers[i], "--initial-advertise-peer-urls", c.peers[i],
		"--initial-cluster", c.initial, "--initial-cluster-state", "new", "--initial-cluster-token", "durable-test",
		"--logger", "zap", "--log-outputs", "stderr", "--log-level", "warn")
	m.cmd.Stdout, m.cmd.Stderr = m.log, m.log
	m.cmd.SysProcAttr = dieWithParent()
	if err := m.cmd.Start(); err != nil {
		return fmt.Errorf("start etcd member %s: %w", c.names[i], err)
	}
	cmd, exited := m.cmd, m.exited
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	return nil
}

// Kill ends member i with SIGKILL, its data kept.
func (c *Cluster) Kill(t testing.TB, i int) {
	t.Helper()
	c.Members[i].stop()
	c.Members[i].cmd = nil
}

// Restart starts member i again on its data and waits until it answers
// (with quorum: a lone member does not).
func (c *Cluster) Restart(t testing.TB, i int) {
	t.Helper()
	if err := c.run(i); err != nil {
		t.Fatal(err)
	}
}

// Endpoints are the members' client URLs, comma-separated, as durable run
// --etcd takes them.
func (c *Cluster) Endpoints() string {
	eps := make([]string, len(c.Members))
	for i, m := range c.Members {
		eps[i] = m.Endpoint
	}
	return strings.Join(eps, ",")
}

// Client is a client of every member, closed with the test.
func (c *Cluster) Client(t testing.TB) *clientv3.Client {
	t.Helper()
	cl, err := clientv3.New(clientv3.Config{Endpoints: strings.Split(c.Endpoints(), ","), DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cl.Close() })
	return cl
}
