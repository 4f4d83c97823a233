package httpguard

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

var quick = Timeouts{Connect: time.Second, Header: 300 * time.Millisecond, Idle: 300 * time.Millisecond}

// TestHungServerFailsAtTheHeaderTimeout: a listener that accepts and never
// answers ends the request after the header timeout.
func TestHungServerFailsAtTheHeaderTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close() // held open, never answered
		}
	}()
	start := time.Now()
	_, err = (&http.Client{Transport: Transport(quick)}).Get("http://" + ln.Addr().String() + "/v2/")
	if err == nil || time.Since(start) > 5*time.Second {
		t.Fatalf("a hung server: %v after %s; want an error after the 300ms header timeout", err, time.Since(start))
	}
}

// TestStalledBodyFailsAtTheIdleTimeout: headers then nothing ends the read
// with ErrStalled; a slow but moving body is read whole though it takes
// longer than the idle timeout.
func TestStalledBodyFailsAtTheIdleTimeout(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000")
		w.WriteHeader(http.StatusOK)
		if r.URL.Path == "/slow" {
			for range 10 {
				w.Write([]byte(strings.Repeat("x", 100)))
				w.(http.Flusher).Flush()
				time.Sleep(100 * time.Millisecond)
			}
			return
		}
		w.Write([]byte("partial"))
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	defer srv.Close()
	client := &http.Client{Transport: Transport(quick)}

	resp, err := client.Get(srv.URL + "/stall")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !errors.Is(err, ErrStalled) || time.Since(start) > 5*time.Second {
		t.Fatalf("a stalled body: %v after %s; want ErrStalled after 300ms", err, time.Since(start))
	}

	resp, err = client.Get(srv.URL + "/slow")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || len(body) != 1000 {
		t.Fatalf("a slow but moving body (1 s, a byte every 100 ms): %d bytes, %v; want all 1000", len(body), err)
	}
}
