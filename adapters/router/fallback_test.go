package router

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/durable-delivery/durable/adapters"
)

// closedPort returns a 127.0.0.1 address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// TestUnreachableSetFallsBackToOtherSetsWithTraffic: when no instance of the
// picked set can be reached, the request goes to another set with traffic,
// and the answer names the set that served it.
func TestUnreachableSetFallsBackToOtherSetsWithTraffic(t *testing.T) {
	r, url := newTestRouter(t, "")
	if err := r.SetSplit(split("web",
		adapters.Backend{Set: "a", Weight: 50, Endpoints: []string{closedPort(t), closedPort(t)}},
		adapters.Backend{Set: "b", Weight: 50, Endpoints: []string{backend(t, "b")}})); err != nil {
		t.Fatal(err)
	}
	for range 100 {
		if body, set, code := get(t, http.DefaultClient, url); code != 200 || body != "b" || set != "b" {
			t.Fatalf("got %d %q from set %q; want 200 from b", code, body, set)
		}
	}
	if a := r.metrics.of("web", "a").stats(); a.Requests != 0 || a.InFlight != 0 {
		t.Errorf("set a never answered but counts %+v", a)
	}
	if b := r.metrics.of("web", "b").stats(); b.Requests != 100 || b.InFlight != 0 {
		t.Errorf("set b served 100 requests but counts %+v", b)
	}
}

// TestFallbackNeverReachesASetAtWeightZero: a set the split took traffic
// from is not a fallback, even when it would answer.
func TestFallbackNeverReachesASetAtWeightZero(t *testing.T) {
	r, url := newTestRouter(t, "")
	if err := r.SetSplit(split("web",
		adapters.Backend{Set: "a", Weight: 100, Endpoints: []string{closedPort(t)}},
		adapters.Backend{Set: "warm", Weight: 0, Endpoints: []string{backend(t, "warm")}})); err != nil {
		t.Fatal(err)
	}
	body, set, code := get(t, http.DefaultClient, url)
	if code != http.StatusBadGateway || set != "a" || !strings.Contains(body, "no instance of service web answered") {
		t.Fatalf("got %d %q from set %q; want a 502 attributed to a", code, body, set)
	}
	if s := r.metrics.of("web", "a").stats(); s.Requests != 1 || s.ServerErrors != 1 {
		t.Fatalf("502 not counted against a: %+v", s)
	}
}

// TestRequestWithBodyIsResentWhenNeverSent: a POST whose first instance
// refuses the connection reaches another one with its whole body.
func TestRequestWithBodyIsResentWhenNeverSent(t *testing.T) {
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		_, _ = w.Write(b)
	}))
	defer echo.Close()
	r, url := newTestRouter(t, "")
	if err := r.SetSplit(split("web", adapters.Backend{Set: "a", Weight: 100,
		Endpoints: []string{closedPort(t), strings.TrimPrefix(echo.URL, "http://")}})); err != nil {
		t.Fatal(err)
	}
	payload := strings.Repeat("order-42;", 10000)
	for range 4 {
		resp, err := http.Post(url, "text/plain", strings.NewReader(payload))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(b) != payload {
			t.Fatalf("POST: %d, %d of %d bytes echoed", resp.StatusCode, len(b), len(payload))
		}
	}
}

// TestSetHeaderCannotBeForgedByABackend: the answer names exactly one set,
// the router's, whatever the instance wrote.
func TestSetHeaderCannotBeForgedByABackend(t *testing.T) {
	forger := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(setHeader, "forged")
	}))
	defer forger.Close()
	r, url := newTestRouter(t, "")
	if err := r.SetSplit(split("web", adapters.Backend{Set: "real", Weight: 100,
		Endpoints: []string{strings.TrimPrefix(forger.URL, "http://")}})); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Values(setHeader); len(got) != 1 || got[0] != "real" {
		t.Fatalf("%s = %q, want [real]", setHeader, got)
	}
}
