// Package hangtest gives tests a dependency that is down or hung: a TCP
// port nothing listens on, and TCP or Unix listeners that accept every
// connection and never answer. Adapter tests use them to show a call to a
// registry, an admin API, a socket or a Git remote ends within its bound.
// It is for tests only and imports nothing of the project.
package hangtest

import (
	"net"
	"path/filepath"
	"sync"
	"testing"
)

// FakeHungTCP listens on 127.0.0.1, accepts every connection and never
// answers; it returns the HOST:PORT. Connections are held open, unread,
// until the test ends.
func FakeHungTCP(t testing.TB) string {
	t.Helper()
	return fakeHung(t, "tcp", "127.0.0.1:0")
}

// FakeHungUnix listens on a Unix socket in a temporary directory, accepts
// every connection and never answers; it returns the socket's path.
func FakeHungUnix(t testing.TB) string {
	t.Helper()
	return fakeHung(t, "unix", filepath.Join(t.TempDir(), "hung.sock"))
}

// FakeDownTCP returns a 127.0.0.1 HOST:PORT that refuses connections: a
// port that was free a moment ago.
func FakeDownTCP(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("hangtest: listen: %v", err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func fakeHung(t testing.TB, network, addr string) string {
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Fatalf("hangtest: listen on %s %s: %v", network, addr, err)
	}
	var mu sync.Mutex
	var held []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			c.Close()
		}
	})
	return ln.Addr().String()
}
