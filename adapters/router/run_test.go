package router

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/durable-delivery/durable/adapters"
	"github.com/durable-delivery/durable/internal/listener"
)

// TestRunDrainsInFlightRequestsOnShutdown: stopping the router lets a
// request already in flight finish, and Run returns cleanly.
func TestRunDrainsInFlightRequestsOnShutdown(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
		fmt.Fprint(w, "finished")
	}))
	defer slow.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addrs := make(chan Addrs, 1)
	ran := make(chan error, 1)
	admin := listener.Config{Address: socketURL(t, "admin.sock")}
	go func() {
		ran <- Run(ctx, Config{Listen: "127.0.0.1:0", Admin: admin, Logger: quiet}, func(a Addrs) { addrs <- a })
	}()
	a := <-addrs
	if err := newClient(t, a.Admin, "").SetSplit(ctx, split("web", adapters.Backend{Set: "a", Weight: 100,
		Endpoints: []string{strings.TrimPrefix(slow.URL, "http://")}})); err != nil {
		t.Fatal(err)
	}
	answer := make(chan string, 1)
	go func() {
		resp, err := http.Get("http://" + a.Listen.String())
		if err != nil {
			answer <- "error: " + err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		answer <- fmt.Sprintf("%d %s", resp.StatusCode, b)
	}()
	<-entered
	cancel()
	close(release)
	if got := <-answer; got != "200 finished" {
		t.Fatalf("in-flight request during shutdown: %q", got)
	}
	if err := <-ran; err != nil {
		t.Fatalf("Run: %v", err)
	}
}

// TestRunBoundsTheDrain: a request that never finishes does not keep the
// router from stopping.
func TestRunBoundsTheDrain(t *testing.T) {
	entered := make(chan struct{})
	stuck := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-r.Context().Done()
	}))
	defer stuck.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addrs, wait, err := Start(ctx, Config{Listen: "127.0.0.1:0", Admin: listener.Config{Address: socketURL(t, "admin.sock")}, Logger: quiet, Drain: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := newClient(t, addrs.Admin, "").SetSplit(ctx, split("web", adapters.Backend{Set: "a", Weight: 100,
		Endpoints: []string{strings.TrimPrefix(stuck.URL, "http://")}})); err != nil {
		t.Fatal(err)
	}
	failed := make(chan error, 1)
	go func() {
		resp, err := http.Get("http://" + addrs.Listen.String())
		if err == nil {
			resp.Body.Close()
		}
		failed <- err
	}()
	<-entered
	cancel()
	if err := wait(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if err := <-failed; err == nil {
		t.Fatal("a request cut at the end of the drain got an answer")
	}
}

func TestAdminAPIOffLoopbackNeedsTLS(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "192.0.2.1:7071", "[::]:0"} {
		_, _, err := Start(context.Background(), Config{Listen: "127.0.0.1:0", Admin: listener.Config{Address: addr}, InsecureAdmin: true, Logger: quiet})
		if err == nil || !strings.Contains(err.Error(), "--tls-cert") {
			t.Errorf("admin %q: %v", addr, err)
		}
	}
	_, _, err := Start(context.Background(), Config{Listen: "127.0.0.1:0", Admin: listener.Config{Address: "no-port"}, InsecureAdmin: true, Logger: quiet})
	if err == nil || !strings.Contains(err.Error(), "is not HOST:PORT") {
		t.Errorf("admin no-port: %v", err)
	}
}

func TestStartFailsOnABadStateFile(t *testing.T) {
	state := t.TempDir() + "/router.json"
	if err := os.WriteFile(state, []byte("[]"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Start(context.Background(), Config{Listen: "127.0.0.1:0", Admin: listener.Config{Address: "127.0.0.1:0"}, InsecureAdmin: true, StateFile: state, Logger: quiet}); err == nil || !strings.Contains(err.Error(), state) {
		t.Fatalf("state file holding a list: %v", err)
	}
}
