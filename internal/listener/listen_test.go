package listener

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// shortDir is a fresh directory with a path short enough for a socket.
func shortDir(t *testing.T, mode os.FileMode) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "lst")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, mode); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestListenRefusesHostileConfigs(t *testing.T) {
	dir := shortDir(t, 0o700)
	shared := shortDir(t, 0o777)
	file := filepath.Join(dir, "plain")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	loose := filepath.Join(dir, "loose.key")
	if err := os.WriteFile(loose, []byte("-----BEGIN PRIVATE KEY-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(loose, 0o666); err != nil {
		t.Fatal(err)
	}
	huge := filepath.Join(dir, "huge.crt")
	if err := os.WriteFile(huge, make([]byte, maxPEM+1), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		c    Config
		want string
	}{
		{"world-writable key", Config{Address: "0.0.0.0:0", TLSCert: file, TLSKey: loose}, "writable by group or others"},
		{"oversized cert", Config{Address: "0.0.0.0:0", TLSCert: huge, TLSKey: file}, "over 1048576 bytes"},
		{"all interfaces", Config{Address: "0.0.0.0:0"}, "is not a loopback address and has no TLS"},
		{"empty host", Config{Address: ":0"}, "is not a loopback address"},
		{"IPv6 any", Config{Address: "[::]:0"}, "is not a loopback address"},
		{"public IP", Config{Address: "192.0.2.1:7070"}, "give --tls-cert and --tls-key"},
		{"empty", Config{Address: ""}, "is not HOST:PORT or unix:///PATH"},
		{"no port", Config{Address: "localhost"}, "is not HOST:PORT"},
		{"huge", Config{Address: strings.Repeat("a", 4096) + ":1"}, "address of 4098 bytes"},
		{"NUL", Config{Address: "127.0.0.1:0\x00"}, "is not HOST:PORT"},
		{"relative socket", Config{Address: "unix://api.sock"}, "must be absolute"},
		{"unclean socket", Config{Address: "unix://" + dir + "/../x.sock"}, "must be absolute and clean"},
		{"socket in a world-writable directory", Config{Address: "unix://" + shared + "/api.sock"}, "writable by group or others"},
		{"socket over a file", Config{Address: "unix://" + file}, "not a socket"},
		{"missing directory", Config{Address: "unix://" + dir + "/nope/api.sock"}, "install -d"},
		{"unknown group", Config{Address: "unix://" + dir + "/g.sock", SocketGroup: "no-such-group-durable"}, "--socket-group"},
		{"group on TCP", Config{Address: "127.0.0.1:0", SocketGroup: "root"}, "is for a Unix socket"},
		{"cert without key", Config{Address: "0.0.0.0:0", TLSCert: file}, "together"},
		{"client CA without TLS", Config{Address: "127.0.0.1:0", ClientCA: file}, "needs --tls-cert"},
		{"TLS on a socket", Config{Address: "unix://" + dir + "/t.sock", TLSCert: file, TLSKey: file}, "TLS is for a TCP address"},
		{"missing cert", Config{Address: "0.0.0.0:0", TLSCert: dir + "/none.crt", TLSKey: dir + "/none.key"}, "--tls-cert"},
		{"empty cert", Config{Address: "0.0.0.0:0", TLSCert: file, TLSKey: file}, "give a PEM certificate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := Listen(tc.c)
			if err == nil {
				l.Close()
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}

func TestListenOnASocket(t *testing.T) {
	dir := shortDir(t, 0o755)
	path := filepath.Join(dir, "api.sock")
	// A stale socket, left by a process that died, is replaced.
	stale, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	stale.(*net.UnixListener).SetUnlinkOnClose(false)
	stale.Close()
	l, err := Listen(Config{Address: "unix://" + path, SocketGroup: "0"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o660 || fi.Sys().(*syscall.Stat_t).Gid != 0 {
		t.Fatalf("socket mode %v gid %v, %v; want 0660 and group 0", fi.Mode(), fi.Sys().(*syscall.Stat_t).Gid, err)
	}
	if l.Kind != Unix || l.URL() != "unix://"+path {
		t.Fatalf("kind %v url %s", l.Kind, l.URL())
	}
	// A second listener does not steal a live socket.
	if _, err := Listen(Config{Address: "unix://" + path}); err == nil || !strings.Contains(err.Error(), "another process listens") {
		t.Fatalf("second listener: %v", err)
	}
}

func TestListenOnLoopback(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:0", "localhost:0", "[::1]:0"} {
		l, err := Listen(Config{Address: addr})
		if err != nil {
			if addr == "[::1]:0" {
				continue // no IPv6 on this host
			}
			t.Fatalf("%s: %v", addr, err)
		}
		if l.Kind != Loopback || !strings.HasPrefix(l.URL(), "http://") {
			t.Errorf("%s: kind %v url %s", addr, l.Kind, l.URL())
		}
		l.Close()
	}
}
