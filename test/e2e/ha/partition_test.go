package ha

import (
	"context"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/internal/etcdtest"
	"github.com/durable-delivery/durable/test/e2e/e2etest"
)

// TestLeaderPartitionedFromEtcdStopsFirst cuts the leader off from etcd,
// and from etcd only: it reaches etcd through a TCP proxy that, cut, stops
// passing bytes either way (no reset, as a partition drops packets), while
// the agent and the repository stay reachable. The leader stops acting —
// no renewal of its lease answered for two thirds of the TTL — before the
// standby, which reaches etcd directly, can take its lease's lock over:
// its log says so first. The new leader completes the canary; the journal
// in etcd passes journal.Check (nothing done twice), and no request
// failed. Reconnected, the old leader stands by.
func TestLeaderPartitionedFromEtcdStopsFirst(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	etcd := etcdtest.Start(t)
	client := etcd.Client(t)
	t.Cleanup(func() { checkEtcdJournal(t, client) })
	link := startLink(t, strings.TrimPrefix(etcd.Endpoint, "http://"))
	f := e2etest.New(t, ctx)
	fleet := startAgentOn(ctx, t, f)
	f.ExtraArgs = append([]string{"--etcd", "http://" + link.addr, "--lease-ttl", "3s"}, fleet...)
	st, _ := f.ServeV1(ctx, "Deploy web v1")
	oldLeader := f.API.Base
	f.ExtraArgs = append([]string{"--etcd", etcd.Endpoint, "--lease-ttl", "3s"}, fleet...)
	standby := startStandby(t, ctx, f, "standby.log")
	waitRole(ctx, t, standby, api.RoleStandby, strings.TrimPrefix(oldLeader, "http://"))

	c2 := f.Commit(ctx, f.Artifacts["v2"], "", "Deploy web v2")
	v2 := f.Judged(ctx, t, c2).Services[0].Release
	waitCanaryOf(ctx, t, f, v2)
	link.cut()
	cut := time.Now()
	waitRole(ctx, t, standby, api.RoleLeader, "")
	t.Logf("the standby leads %s after the leader was cut off from etcd (lease TTL 3s)", time.Since(cut).Round(10*time.Millisecond))
	stopped, elected := logTime(t, f.Logs(), "stops acting before the lease can expire"), logTime(t, readLog(t, f, "standby.log"), "elected leader")
	if !stopped.Before(elected) {
		t.Fatalf("the cut-off leader stopped acting at %s, not before the standby was elected at %s", stopped.Format(time.StampMilli), elected.Format(time.StampMilli))
	}
	t.Logf("the cut-off leader stopped acting %s before the standby was elected", elected.Sub(stopped).Round(time.Millisecond))
	f.API.Base = standby.Base
	f.Converge(ctx, st, "v2, completed by the new leader", c2, "v2")
	st.AssertNoFailedRequests(t)

	link.mend()
	old := *f.API
	old.Base = oldLeader
	waitRole(ctx, t, &old, api.RoleStandby, strings.TrimPrefix(standby.Base, "http://"))
	if !st.Promoted(ctx, "v2, still served after the old leader reconnected", c2, "v2") {
		t.Fatalf("v2 no longer serves once the old leader reconnected:\n%s", f.Logs())
	}
	st.AssertNoFailedRequests(t)
}

// waitCanaryOf waits until the fixture's service has a set of release at
// a canary step: its rollout is under way.
func waitCanaryOf(ctx context.Context, t *testing.T, f *e2etest.Fixture, release string) {
	t.Helper()
	e2etest.WaitFor(ctx, t, "the canary of "+release, func() bool {
		s, err := f.API.Status(ctx)
		if err != nil || len(s.Services) == 0 {
			return false
		}
		for _, p := range s.Services[0].Placements {
			for _, set := range p.Sets {
				if set.Release == release && set.State == api.SetCanary {
					return true
				}
			}
		}
		return false
	})
}

// logTime is the time of the first line of logs that holds what.
func logTime(t *testing.T, logs, what string) time.Time {
	t.Helper()
	for _, line := range strings.Split(logs, "\n") {
		if !strings.Contains(line, what) {
			continue
		}
		stamp, _, _ := strings.Cut(strings.TrimPrefix(line, "time="), " ")
		at, err := time.Parse(time.RFC3339Nano, stamp)
		if err != nil {
			t.Fatalf("log line without a time: %s", line)
		}
		return at
	}
	t.Fatalf("no log line says %q:\n%s", what, logs)
	return time.Time{}
}

// link is a TCP proxy to one address that can be cut: then it passes no
// byte either way and accepts connections it never serves, as a network
// partition drops packets; mended, it passes bytes again.
type link struct {
	addr string
	mu   sync.Mutex
	open chan struct{} // closed while the link passes bytes
}

func startLink(t *testing.T, to string) *link {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	l := &link{addr: ln.Addr().String(), open: make(chan struct{})}
	close(l.open)
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			go l.serve(in, to)
		}
	}()
	return l
}

func (l *link) serve(in net.Conn, to string) {
	defer in.Close()
	l.wait()
	out, err := net.Dial("tcp", to)
	if err != nil {
		return
	}
	defer out.Close()
	done := make(chan struct{}, 2)
	go func() { l.pipe(out, in); done <- struct{}{} }()
	go func() { l.pipe(in, out); done <- struct{}{} }()
	<-done
}

// pipe copies from src to dst, holding each chunk while the link is cut.
func (l *link) pipe(dst io.Writer, src io.Reader) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			l.wait()
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// wait blocks while the link is cut.
func (l *link) wait() {
	l.mu.Lock()
	open := l.open
	l.mu.Unlock()
	<-open
}

func (l *link) cut() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.open = make(chan struct{})
}

func (l *link) mend() {
	l.mu.Lock()
	defer l.mu.Unlock()
	close(l.open)
}
