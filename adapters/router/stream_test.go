package router

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/durable-delivery/durable/adapters"
)

// routeTo routes service web, one set "a", to the instance at url.
func routeTo(t *testing.T, r *Router, url string) {
	t.Helper()
	if err := r.SetSplit(split("web", adapters.Backend{Set: "a", Weight: 100, Endpoints: []string{strings.TrimPrefix(url, "http://")}})); err != nil {
		t.Fatal(err)
	}
}

// TestStreamedAnswerGoesThroughAsWritten: a GET's answer streamed by the
// instance (server-sent events) reaches the client event by event; the
// instance writes the second only once the client has read the first, so
// a router that held the answer back would fail after the client's timeout.
func TestStreamedAnswerGoesThroughAsWritten(t *testing.T) {
	got := make(chan struct{})
	inst := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "data: one\n\n")
		w.(http.Flusher).Flush()
		select {
		case <-got:
		case <-req.Context().Done():
			return
		}
		fmt.Fprint(w, "data: two\n\n")
	}))
	defer inst.Close()
	r, url := newTestRouter(t, "")
	routeTo(t, r, inst.URL)
	// The timeout ends a router that holds the answer back; it times nothing.
	client := &http.Client{Timeout: time.Minute}
	resp, err := client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	for _, want := range []string{"data: one\n", "\n", "data: two\n", "\n"} {
		line, err := br.ReadString('\n')
		if err != nil || line != want {
			t.Fatalf("read %q, %v; want %q", line, err, want)
		}
		if want == "data: one\n" {
			close(got)
		}
	}
}

// TestClientGoneCancelsTheInstancesRequest: when the client goes away
// while the instance is still working, the instance's request is cancelled
// (its connection closed), and the set has nothing left in flight.
func TestClientGoneCancelsTheInstancesRequest(t *testing.T) {
	entered, cancelled, end := make(chan struct{}), make(chan struct{}), make(chan struct{})
	inst := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		close(entered)
		select {
		case <-req.Context().Done():
			close(cancelled)
		case <-end:
		}
	}))
	defer inst.Close()
	r, err := New("", quiet)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(r)
	defer srv.Close()
	// First of all, end the instance's handler: both Closes wait for it.
	defer close(end)
	routeTo(t, r, inst.URL)
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	<-entered
	cancel()
	select {
	case <-cancelled:
	case <-time.After(time.Minute): // a guard against hanging, not a timing check
		t.Fatal("the instance's request was not cancelled when the client went away")
	}
	if err := <-done; err == nil {
		t.Fatal("the cancelled request got an answer")
	}
	srv.Close() // waits for the router's handler to return
	if n := r.metrics.of("web", "a").inFlight.Load(); n != 0 {
		t.Fatalf("%d requests still in flight on set a", n)
	}
}

// TestUpgradeGoesThrough: a protocol upgrade (as WebSocket's) reaches the
// instance, whose 101 and the bytes after it go both ways.
func TestUpgradeGoesThrough(t *testing.T) {
	inst := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Header.Get("Upgrade") != "echo" {
			http.Error(w, "upgrade to echo", http.StatusBadRequest)
			return
		}
		conn, brw, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		fmt.Fprint(brw, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
		brw.Flush()
		line, _ := brw.ReadString('\n')
		fmt.Fprint(brw, "echo: "+line)
		brw.Flush()
	}))
	defer inst.Close()
	r, url := newTestRouter(t, "")
	routeTo(t, r, inst.URL)
	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(conn, "GET / HTTP/1.1\r\nHost: web\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade answered %v, %v", resp, err)
	}
	fmt.Fprint(conn, "hello\n")
	line, err := br.ReadString('\n')
	if err != nil || line != "echo: hello\n" {
		t.Fatalf("after the upgrade read %q, %v", line, err)
	}
}
