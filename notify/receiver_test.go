package notify

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/durable-delivery/durable/api"
)

// delivery is one request a receiver got.
type delivery struct {
	header http.Header
	body   []byte
}

// receiver is a real HTTP server that records what it is sent and answers
// with status (200 when 0), or hangs until the client gives up when hang.
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	got    []delivery
	cut    int // requests the client cut while the receiver hung
	status int
	hang   bool
	// arrived has a value for each request, as it arrives.
	arrived chan struct{}
}

func newReceiver(t *testing.T, status int, hang bool) *receiver {
	r := &receiver{status: status, hang: hang, arrived: make(chan struct{}, 1<<20)}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got = append(r.got, delivery{req.Header.Clone(), body})
		r.mu.Unlock()
		r.arrived <- struct{}{}
		if r.hang {
			<-req.Context().Done() // the client's timeout, or the server closing
			r.mu.Lock()
			r.cut++
			r.mu.Unlock()
			return
		}
		if r.status != 0 {
			w.WriteHeader(r.status)
		}
	}))
	t.Cleanup(r.Close)
	return r
}

// deliveries is what the receiver got so far.
func (r *receiver) deliveries() []delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]delivery(nil), r.got...)
}

// await waits until the receiver got n requests in all.
func (r *receiver) await(t *testing.T, n int) []delivery {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for len(r.deliveries()) < n {
		select {
		case <-r.arrived:
		case <-deadline:
			t.Fatalf("the receiver got %d request(s); want %d", len(r.deliveries()), n)
		}
	}
	return r.deliveries()
}

// testSink is a sink of kind to url wanting types (all when none), retried
// quickly.
func testSink(name string, kind Kind, url string, types ...Type) Sink {
	s := Sink{Name: name, Kind: kind, URL: url, Source: defaultSource, Events: map[Type]bool{}, Timeout: 5 * time.Second,
		Attempts: 3, Backoff: 10 * time.Millisecond, Queue: 100}
	if kind != Slack {
		s.Secret = []byte(testSecret)
	}
	if len(types) == 0 {
		types = Types
	}
	for _, t := range types {
		s.Events[t] = true
	}
	return s
}

// running is a Notifier for sinks, running until the test ends; logs
// collects its log.
func running(t *testing.T, sinks ...Sink) (*Notifier, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	n := New(&Config{Sinks: sinks}, Options{Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})), Drain: 200 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		n.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return n, logs
}

// syncBuffer is a buffer the workers may log to at once.
type syncBuffer struct {
	mu sync.Mutex
	bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.Buffer.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.Buffer.String()
}

// metric is the value of the notifier's metric name with labels (sink
// first, then result), as a Prometheus registry gathers it.
func metric(t *testing.T, n *Notifier, name string, labels ...string) float64 {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(n)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if matches(m, labels) {
				if m.GetCounter() != nil {
					return m.GetCounter().GetValue()
				}
				return m.GetGauge().GetValue()
			}
		}
	}
	t.Fatalf("no metric %s%v", name, labels)
	return 0
}

func matches(m *dto.Metric, labels []string) bool {
	want := map[string]string{}
	for i, v := range labels {
		want[[]string{"sink", "result"}[i]] = v
	}
	for _, l := range m.GetLabel() {
		if w, ok := want[l.GetName()]; ok && w != l.GetValue() {
			return false
		}
	}
	return true
}

// waitMetric waits until the metric reaches at least v.
func waitMetric(t *testing.T, n *Notifier, v float64, name string, labels ...string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for metric(t, n, name, labels...) < v {
		if time.Now().After(deadline) {
			t.Fatalf("%s%v is %v; want %v", name, labels, metric(t, n, name, labels...), v)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// started is a rollout put for the first time.
func started(release string) (*api.Rollout, api.Rollout) {
	return nil, api.Rollout{ID: "web/prod/zone-a/" + release, Service: "web", Stage: "prod", Target: "zone-a", Release: release,
		Revision: "c0ffee", Phase: api.RolloutCreating, StartedAt: time.Now(), UpdatedAt: time.Now()}
}
