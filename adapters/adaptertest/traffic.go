package adaptertest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/durable-delivery/durable/adapters"
)

// TrafficHarness is what the traffic suite needs to know of one adapter.
// Backends are real HTTP servers on 127.0.0.1 that answer with their name.
type TrafficHarness struct {
	// New returns an adapter driving the data plane under test.
	New func(t *testing.T) adapters.Traffic
	// Send sends one request for service through the data plane and
	// returns the answer's body.
	Send func(t *testing.T, service string) (string, error)
}

// RunTraffic runs the traffic conformance suite.
func RunTraffic(t *testing.T, h TrafficHarness) {
	t.Run("AppliesAndReportsTheSplit", func(t *testing.T) { appliesAndReports(t, h) })
	t.Run("WeightZeroGetsNoNewRequest", func(t *testing.T) { weightZeroGetsNothing(t, h) })
	t.Run("WeightsMustSumTo100", func(t *testing.T) { weightsSumTo100(t, h) })
	t.Run("SplitIsFollowed", func(t *testing.T) { splitIsFollowed(t, h) })
	t.Run("InFlightRequestsDrain", func(t *testing.T) { inFlightDrains(t, h) })
	t.Run("ConcurrentCallsDoNotInterleave", func(t *testing.T) { concurrentCalls(t, h) })
	t.Run("ErrorsAreTyped", func(t *testing.T) { trafficErrorsAreTyped(t, h) })
	if _, ok := h.New(t).(adapters.SplitLister); ok {
		t.Run("ListedSplitsAgreeWithSplit", func(t *testing.T) { listedSplitsAgree(t, h) })
	}
}

// listedSplitsAgree: after each of a generated sequence of splits set,
// changed and removed, what Splits lists of the suite's services is what
// Split reports of each, and a service Split does not know is not listed.
func listedSplitsAgree(t *testing.T, h TrafficHarness) {
	ctx := context.Background()
	tr := h.New(t)
	lister := tr.(adapters.SplitLister)
	remover, canRemove := tr.(adapters.SplitRemover)
	a, b := nameServer(t, "a"), nameServer(t, "b")
	services := []string{"conformance-list-0", "conformance-list-1", "conformance-list-2"}
	rng := rand.New(rand.NewPCG(1, 2))
	for step := range 16 {
		service := services[rng.IntN(len(services))]
		if canRemove && rng.IntN(4) == 0 {
			if err := remover.RemoveSplit(ctx, service); err != nil && !errors.Is(err, adapters.ErrNotFound) {
				t.Fatalf("step %d: RemoveSplit %s: %v", step, service, err)
			}
		} else {
			wa := []int{0, 5, 50, 100}[rng.IntN(4)]
			mustSet(t, tr, twoSets(service, wa, 100-wa, a, b))
		}
		all, err := lister.Splits(ctx)
		if err != nil {
			t.Fatalf("step %d: Splits: %v", step, err)
		}
		listed := map[string]adapters.Split{}
		for _, split := range all {
			listed[split.Service] = split
		}
		for _, name := range services {
			one, err := tr.Split(ctx, name)
			got, ok := listed[name]
			switch {
			case errors.Is(err, adapters.ErrNotFound) && ok:
				t.Fatalf("step %d: Splits lists %s as %+v, Split does not know it", step, name, got)
			case err != nil && !errors.Is(err, adapters.ErrNotFound):
				t.Fatalf("step %d: Split %s: %v", step, name, err)
			case err == nil && !reflect.DeepEqual(got, one):
				t.Fatalf("step %d: Splits lists %s as %+v (listed: %v), Split reports %+v", step, name, got, ok, one)
			}
		}
	}
}

// nameServer starts a backend answering with name.
func nameServer(t *testing.T, name string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, name)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

func twoSets(service string, wa, wb int, a, b string) adapters.Split {
	return adapters.Split{Service: service, Backends: []adapters.Backend{
		{Set: "set-a", Weight: wa, Endpoints: []string{a}},
		{Set: "set-b", Weight: wb, Endpoints: []string{b}},
	}}
}

func mustSet(t *testing.T, tr adapters.Traffic, split adapters.Split) {
	t.Helper()
	if err := tr.SetSplit(context.Background(), split); err != nil {
		t.Fatalf("SetSplit %+v: %v", split, err)
	}
}

func sendN(t *testing.T, h TrafficHarness, service string, n int) map[string]int {
	t.Helper()
	counts := map[string]int{}
	for range n {
		body, err := h.Send(t, service)
		if err != nil {
			t.Fatalf("request through the data plane: %v", err)
		}
		counts[body]++
	}
	return counts
}

func appliesAndReports(t *testing.T, h TrafficHarness) {
	tr := h.New(t)
	a, b := nameServer(t, "a"), nameServer(t, "b")
	want := twoSets("conformance-apply", 100, 0, a, b)
	mustSet(t, tr, want)
	got, err := tr.Split(context.Background(), want.Service)
	if err != nil {
		t.Fatalf("Split: %v", err)
	}
	if got.Weight("set-a") != 100 || got.Weight("set-b") != 0 || len(got.Backends) != 2 {
		t.Fatalf("Split reports %+v, want %+v", got, want)
	}
	if counts := sendN(t, h, want.Service, 10); counts["a"] != 10 {
		t.Fatalf("served %v, want all by a", counts)
	}
}

func weightZeroGetsNothing(t *testing.T, h TrafficHarness) {
	tr := h.New(t)
	a, b := nameServer(t, "a"), nameServer(t, "b")
	service := "conformance-zero"
	for i := range 6 {
		wa := []int{100, 0}[i%2]
		mustSet(t, tr, twoSets(service, wa, 100-wa, a, b))
		want := map[bool]string{true: "a", false: "b"}[wa == 100]
		if counts := sendN(t, h, service, 10); counts[want] != 10 {
			t.Fatalf("after moving all traffic to %s, served %v", want, counts)
		}
	}
}

func weightsSumTo100(t *testing.T, h TrafficHarness) {
	tr := h.New(t)
	a, b := nameServer(t, "a"), nameServer(t, "b")
	service := "conformance-sum"
	mustSet(t, tr, twoSets(service, 100, 0, a, b))
	for _, w := range [][2]int{{50, 40}, {60, 60}, {-10, 110}} {
		err := tr.SetSplit(context.Background(), twoSets(service, w[0], w[1], a, b))
		if !errors.Is(err, adapters.ErrInvalid) {
			t.Errorf("weights %v: %v, want ErrInvalid", w, err)
		}
	}
	got, err := tr.Split(context.Background(), service)
	if err != nil || got.Weight("set-a") != 100 {
		t.Fatalf("a rejected split changed the split: %+v, %v", got, err)
	}
}

func splitIsFollowed(t *testing.T, h TrafficHarness) {
	tr := h.New(t)
	a, b := nameServer(t, "a"), nameServer(t, "b")
	service := "conformance-follow"
	mustSet(t, tr, twoSets(service, 25, 75, a, b))
	counts := sendN(t, h, service, 100)
	// Sequential requests over one cycle of the weights: within a few
	// requests of the split, for any fair weighted balancer.
	if counts["a"] < 20 || counts["a"] > 30 || counts["a"]+counts["b"] != 100 {
		t.Fatalf("split 25/75 served %v", counts)
	}
}

func inFlightDrains(t *testing.T, h TrafficHarness) {
	tr := h.New(t)
	release, entered := make(chan struct{}), make(chan struct{})
	var once sync.Once
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		once.Do(func() { close(entered) })
		<-release
		fmt.Fprint(w, "old")
	}))
	t.Cleanup(slow.Close)
	t.Cleanup(func() {
		select {
		case <-release:
		default:
			close(release)
		}
	})
	service := "conformance-drain"
	mustSet(t, tr, adapters.Split{Service: service, Backends: []adapters.Backend{
		{Set: "old", Weight: 100, Endpoints: []string{strings.TrimPrefix(slow.URL, "http://")}}}})
	done := make(chan string, 1)
	go func() {
		body, err := h.Send(t, service)
		if err != nil {
			body = "error: " + err.Error()
		}
		done <- body
	}()
	select {
	case <-entered:
	case <-time.After(time.Minute):
		t.Fatal("the slow request never reached its backend")
	}
	if n, err := tr.InFlight(context.Background(), service, "old"); err != nil || n != 1 {
		t.Fatalf("in flight on the old set: %d, %v; want 1", n, err)
	}
	mustSet(t, tr, adapters.Split{Service: service, Backends: []adapters.Backend{
		{Set: "new", Weight: 100, Endpoints: []string{nameServer(t, "new")}}}})
	if counts := sendN(t, h, service, 5); counts["new"] != 5 {
		t.Fatalf("new requests after the old set left: %v", counts)
	}
	close(release)
	if got := <-done; got != "old" {
		t.Fatalf("the in-flight request on the removed set got %q, want it completed", got)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		n, err := tr.InFlight(context.Background(), service, "old")
		if err == nil && n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("old set never drained: %d, %v", n, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func concurrentCalls(t *testing.T, h TrafficHarness) {
	tr := h.New(t)
	a, b := nameServer(t, "a"), nameServer(t, "b")
	service := "conformance-concurrent"
	var wg sync.WaitGroup
	for i := range 11 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := tr.SetSplit(context.Background(), twoSets(service, i*10, 100-i*10, a, b)); err != nil {
				t.Errorf("SetSplit %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	got, err := tr.Split(context.Background(), service)
	if err != nil {
		t.Fatal(err)
	}
	if got.Weight("set-a")+got.Weight("set-b") != 100 || got.Weight("set-a")%10 != 0 {
		t.Fatalf("concurrent calls left a split no call asked for: %+v", got)
	}
}

func trafficErrorsAreTyped(t *testing.T, h TrafficHarness) {
	tr := h.New(t)
	if _, err := tr.Split(context.Background(), "conformance-never-set"); !errors.Is(err, adapters.ErrNotFound) {
		t.Errorf("Split of an unknown service: %v, want ErrNotFound", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := tr.SetSplit(ctx, adapters.Split{Service: "conformance-cancelled"}); err == nil {
		t.Error("SetSplit with a cancelled context succeeded")
	}
}

// ReadAll is a Send helper: the body of a response, or an error for a
// status other than 200.
func ReadAll(resp *http.Response, err error) (string, error) {
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("status %d: %s", resp.StatusCode, b)
	}
	return string(b), nil
}
