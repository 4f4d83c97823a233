package router

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/durable-delivery/durable/adapters"
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
	addrs := make(chan [2]net.Addr, 1)
	ran := make(chan error, 1)
	go func() {
		ran <- Run(ctx, Config{Listen: "127.0.0.1:0", Admin: "127.0.0.1:0", Logger: quiet}, func(listen, admin net.Addr) {
			addrs <- [2]net.Addr{listen, admin}
		})
	}()
	a := <-addrs
	if err := NewClient(a[1].String()).SetSplit(ctx, split("web", adapters.Backend{Set: "a", Weight: 100,
		Endpoints: []string{strings.TrimPrefix(slow.URL, "http://")}})); err != nil {
		t.Fatal(err)
	}
	answer := make(chan string, 1)
	go func() {
		resp, err := http.Get("http://" + a[0].String())
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
	listen, admin, wait, err := Start(ctx, Config{Listen: "127.0.0.1:0", Admin: "127.0.0.1:0", Logger: quiet, Drain: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := NewClient(admin.String()).SetSplit(ctx, split("web", adapters.Backend{Set: "a", Weight: 100,
		Endpoints: []string{strings.TrimPrefix(stuck.URL, "http://")}})); err != nil {
		t.Fatal(err)
	}
	failed := make(chan error, 1)
	go func() {
		resp, err := http.Get("http://" + listen.String())
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

func TestAdminAPIMustBeOnLoopback(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "192.0.2.1:7071", "[::]:0", "no-port"} {
		_, _, _, err := Start(context.Background(), Config{Listen: "127.0.0.1:0", Admin: addr, Logger: quiet})
		if err == nil || !strings.Contains(err.Error(), "127.0.0.1:PORT") {
			t.Errorf("admin %q: %v", addr, err)
		}
	}
}

func TestStartFailsOnABadStateFile(t *testing.T) {
	state := t.TempDir() + "/router.json"
	if err := os.WriteFile(state, []byte("[]"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := Start(context.Background(), Config{Listen: "127.0.0.1:0", Admin: "127.0.0.1:0", StateFile: state, Logger: quiet}); err == nil || !strings.Contains(err.Error(), state) {
		t.Fatalf("state file holding a list: %v", err)
	}
}
