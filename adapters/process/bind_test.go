package process

import (
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/durable-delivery/durable/adapters"
)

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// TestBindAddressMustBeAnAddressOthersReach: a bind address is an IP
// address of the host, not all of them, a multicast group or a name.
func TestBindAddressMustBeAnAddressOthersReach(t *testing.T) {
	for _, addr := range []string{"0.0.0.0", "::", "224.0.0.1", "fe80::1%eth0", "host.example", "10.0.0.1:80", " 10.0.0.1"} {
		if _, err := New(Config{Root: t.TempDir(), BindAddress: addr, Logger: discard}); !errors.Is(err, adapters.ErrInvalid) {
			t.Errorf("bind address %q: %v, want ErrInvalid", addr, err)
		}
	}
	for addr, want := range map[string]string{"": "127.0.0.1", "127.0.0.2": "127.0.0.2", "::ffff:10.0.0.1": "10.0.0.1", "::1": "::1"} {
		rt, err := New(Config{Root: t.TempDir(), BindAddress: addr, Logger: discard})
		if err != nil {
			t.Fatalf("bind address %q: %v", addr, err)
		}
		if rt.bind.String() != want {
			t.Errorf("bind address %q is %s, want %s", addr, rt.bind, want)
		}
		rt.Close()
	}
}

// TestEndpointIsWhereTheInstanceWasToldToServe: an instance's endpoint is
// the HOST it was given; one started before the runtime gave HOST, or
// whose HOST is no address of the host's, served on loopback.
func TestEndpointIsWhereTheInstanceWasToldToServe(t *testing.T) {
	environ := func(vars ...string) []byte {
		base := []string{envRoot + "=/r", envSet + "=s", envInstance + "=0", envPort + "=8080"}
		return []byte(strings.Join(append(base, vars...), "\x00"))
	}
	for _, tc := range []struct {
		vars []string
		want string
		ok   bool
	}{
		{nil, "127.0.0.1:8080", true},
		{[]string{envHost + "=10.0.0.11"}, "10.0.0.11:8080", true},
		{[]string{envHost + "=::1"}, "[::1]:8080", true},
		{[]string{envHost + "=0.0.0.0"}, "127.0.0.1:8080", true},
		{[]string{envHost + "=not-an-address"}, "", false},
	} {
		p, ok := parseEnviron(environ(tc.vars...), "/r")
		if ok != tc.ok || ok && p.endpoint() != tc.want {
			t.Errorf("%v: %s, %v; want %s, %v", tc.vars, p.endpoint(), ok, tc.want, tc.ok)
		}
	}
}
