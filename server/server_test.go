package server

import (
	"context"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/durable-delivery/durable/adapters"
	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/journal"
	"github.com/durable-delivery/durable/reconcile"
)

// journalOnly answers status from a real journal, as a stopped reconciler's
// records would, and counts triggers.
type journalOnly struct {
	st       journal.Store
	triggers atomic.Int32
	// live adds to the journal's status what a running reconciler would.
	live func(*api.Status)
}

func (j *journalOnly) Status(ctx context.Context) (api.Status, error) {
	s, err := reconcile.ReadStatus(ctx, j.st)
	if err == nil && j.live != nil {
		j.live(&s)
	}
	return s, err
}
func (j *journalOnly) Trigger()       { j.triggers.Add(1) }
func (j *journalOnly) Branch() string { return "main" }

func newAPI(t *testing.T) (*journalOnly, *httptest.Server) {
	t.Helper()
	st, err := journal.OpenBolt(filepath.Join(t.TempDir(), "journal.db"), journal.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	for range 5 {
		if _, err := st.Append(context.Background(), journal.Entry{Kind: api.EntryEvent, Message: "hello"}); err != nil {
			t.Fatal(err)
		}
	}
	j := &journalOnly{st: st}
	srv := httptest.NewServer(Handler(j, st, Webhooks{}))
	t.Cleanup(srv.Close)
	return j, srv
}

func TestAPI(t *testing.T) {
	j, srv := newAPI(t)
	c := NewClient(srv.URL)
	ctx := context.Background()

	s, err := c.Status(ctx)
	if err != nil || s.Ready.Reason != api.ReasonNoRevision || s.LastSeq != 5 {
		t.Fatalf("status %+v, %v", s, err)
	}
	es, err := c.Journal(ctx, 2, 2)
	if err != nil || len(es) != 2 || es[0].Seq != 3 || es[1].Seq != 4 {
		t.Fatalf("journal %+v, %v", es, err)
	}
	if es, err := c.Journal(ctx, 5, 10); err != nil || len(es) != 0 {
		t.Fatalf("journal past the end %+v, %v", es, err)
	}
	if err := c.Trigger(ctx); err != nil || j.triggers.Load() != 1 {
		t.Fatalf("trigger: %v (%d)", err, j.triggers.Load())
	}
}

// A running reconciler's status carries latency histograms whose last bound
// is +Inf, which plain JSON cannot hold; the API must still answer it.
func TestStatusCarriesInfiniteLatencyBound(t *testing.T) {
	j, srv := newAPI(t)
	m := adapters.SetMetrics{Requests: 2, LatencyBuckets: []adapters.LatencyBucket{{UpperBound: 0.1, Count: 1}, {UpperBound: math.Inf(1), Count: 2}}}
	j.live = func(s *api.Status) {
		s.Services = []api.ServiceStatus{{Name: "web", Placements: []api.PlacementStatus{{Sets: []api.SetStatus{{ID: "web-1", Metrics: &m}}}}}}
	}
	s, err := NewClient(srv.URL).Status(context.Background())
	if err != nil {
		t.Fatalf("status: %v", err)
	}
	got := s.Services[0].Placements[0].Sets[0].Metrics
	if got == nil || len(got.LatencyBuckets) != 2 || !math.IsInf(got.LatencyBuckets[1].UpperBound, 1) {
		t.Fatalf("metrics came back as %+v", got)
	}
}

func TestAPIRejectsBadRequests(t *testing.T) {
	_, srv := newAPI(t)
	for _, tc := range []struct {
		method, path, body, want string
		code                     int
	}{
		{"GET", "/v1/journal?after=-1", "", "not a non-negative integer", 400},
		{"GET", "/v1/journal?after=abc", "", "after=", 400},
		{"GET", "/v1/journal?limit=0", "", "limit must be", 400},
		{"GET", "/v1/journal?limit=1001", "", "limit must be", 400},
		{"GET", "/v1/journal?limit=99999999999999999999999", "", "limit must be", 400},
		{"GET", "/v1/trigger", "", "", 405},
		{"DELETE", "/v1/status", "", "", 405},
		{"GET", "/v1/nope", "", "", 404},
		{"POST", "/v1/trigger", strings.Repeat("x", 1<<20), "", 202},
	} {
		req, _ := http.NewRequest(tc.method, srv.URL+tc.path, strings.NewReader(tc.body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.code || !strings.Contains(string(b), tc.want) {
			t.Errorf("%s %s: %d %s; want %d containing %q", tc.method, tc.path, resp.StatusCode, b, tc.code, tc.want)
		}
	}
}

func TestClientReportsUnreachableAPI(t *testing.T) {
	if _, err := NewClient("127.0.0.1:1").Status(context.Background()); err == nil || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Fatalf("unreachable API: %v", err)
	}
}

// The client presents its token as a bearer token, and shows the API's
// JSON error when a call is refused.
func TestClientSendsItsToken(t *testing.T) {
	var got atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.Store(r.Header.Get("Authorization"))
		w.Header().Set("WWW-Authenticate", `Bearer realm="durable API"`)
		writeError(w, http.StatusUnauthorized, "durable API: this call needs a write token: pass --token-file FILE")
	}))
	defer srv.Close()
	c := NewClient(srv.URL)
	c.Token = "0123456789abcdef"
	err := c.Trigger(context.Background())
	if got.Load() != "Bearer 0123456789abcdef" || err == nil || !strings.Contains(err.Error(), "--token-file") {
		t.Fatalf("Authorization %q, error %v", got.Load(), err)
	}
}
