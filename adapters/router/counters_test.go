package router

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/durable-delivery/durable/adapters"
)

// crashingBackend is a real HTTP server whose every request finds the
// connection closed before any answer: an instance that crashed.
func crashingBackend(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
			conn.Close()
		}
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// seen is what clients observed of one infra-set: the answers naming it.
type seen struct{ requests, serverErrors uint64 }

// TestCountersEqualWhatClientsSaw generates splits (random weights, some
// sets at 0, sometimes all) over sets whose instances are healthy, refuse
// connections or crash mid-request, sends GETs and POSTs answered 200 or
// 500 to each split, and checks that every set's request and 5xx counters
// equal the answers that named it (X-Durable-Set), that none named a set
// at weight 0, and that nothing is left in flight. The seeds are fixed, so
// a failure replays.
func TestCountersEqualWhatClientsSaw(t *testing.T) {
	for seed := range uint64(4) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) { checkCounters(t, rand.New(rand.NewPCG(seed, 20))) })
	}
}

func checkCounters(t *testing.T, rng *rand.Rand) {
	r, err := New("", quiet)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(r)
	sets := []string{"a", "b", "c"}
	healthy := map[string]string{}
	for _, s := range sets {
		healthy[s] = backend(t, s)
	}
	dead, crashing := closedPort(t), crashingBackend(t)
	observed := map[string]*seen{}
	for _, s := range sets {
		observed[s] = &seen{}
	}
	for range 40 {
		sp := randomSplit(rng, sets, healthy, dead, crashing)
		if err := r.SetSplit(sp); err != nil {
			t.Fatalf("split %+v: %v", sp, err)
		}
		for _, a := range sendBatch(t, srv.URL, rng) {
			if a.set == "" {
				if a.code != http.StatusServiceUnavailable || sp.Weight("a")+sp.Weight("b")+sp.Weight("c") != 0 {
					t.Fatalf("answer %d names no set under split %+v", a.code, sp)
				}
				continue
			}
			if sp.Weight(a.set) == 0 {
				t.Fatalf("answer %d names set %q at weight 0 in split %+v", a.code, a.set, sp)
			}
			observed[a.set].requests++
			if a.code >= 500 {
				observed[a.set].serverErrors++
			}
		}
	}
	// Close waits for every request's handler to return, and so for its
	// counters.
	srv.Close()
	for _, s := range sets {
		got := r.metrics.of("web", s).stats()
		if got.Requests != observed[s].requests || got.ServerErrors != observed[s].serverErrors || got.InFlight != 0 {
			t.Errorf("set %s counted %d requests, %d 5xx, %d in flight; clients saw %d, %d",
				s, got.Requests, got.ServerErrors, got.InFlight, observed[s].requests, observed[s].serverErrors)
		}
	}
}

// randomSplit splits 100 (or, one time in ten, nothing) across the sets,
// each given a shuffled non-empty choice of its healthy instance, a dead
// one and a crashing one.
func randomSplit(rng *rand.Rand, sets []string, healthy map[string]string, dead, crashing string) adapters.Split {
	sp := adapters.Split{Service: "web"}
	left := 100
	if rng.IntN(10) == 0 {
		left = 0
	}
	for i, s := range sets {
		w := 0
		switch {
		case i == len(sets)-1:
			w = left
		case rng.IntN(3) > 0:
			w = rng.IntN(left + 1)
		}
		left -= w
		var eps []string
		for _, ep := range []string{healthy[s], dead, crashing} {
			if rng.IntN(2) == 0 {
				eps = append(eps, ep)
			}
		}
		if len(eps) == 0 {
			eps = []string{dead}
		}
		rng.Shuffle(len(eps), func(i, j int) { eps[i], eps[j] = eps[j], eps[i] })
		sp.Backends = append(sp.Backends, adapters.Backend{Set: s, Weight: w, Endpoints: eps})
	}
	return sp
}

// answer is what a client saw of one request.
type answer struct {
	set  string
	code int
}

// sendBatch sends 24 requests, 4 at a time: GETs and POSTs with a body,
// to a path the healthy instances answer 200 or 500.
func sendBatch(t *testing.T, url string, rng *rand.Rand) []answer {
	t.Helper()
	type call struct{ post, fail bool }
	calls := make([]call, 24)
	for i := range calls {
		calls[i] = call{post: rng.IntN(3) == 0, fail: rng.IntN(4) == 0}
	}
	out := make([]answer, len(calls))
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := w; i < len(calls); i += 4 {
				path := "/ok"
				if calls[i].fail {
					path = "/fail"
				}
				var resp *http.Response
				var err error
				if calls[i].post {
					resp, err = http.Post(url+path, "text/plain", strings.NewReader("payload"))
				} else {
					resp, err = http.Get(url + path)
				}
				if err != nil {
					t.Errorf("request %d: %v", i, err)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				out[i] = answer{set: resp.Header.Get(setHeader), code: resp.StatusCode}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	return out
}
