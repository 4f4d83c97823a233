package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// durable run and durable router refuse hostile listener flags and token
// files, saying which flag and how to fix it, and never show a token.
func TestListenerFlagsRefuseHostileValues(t *testing.T) {
	dir := t.TempDir()
	const token = "write 0123456789abcdef0123456789abcdef\n"
	loose := filepath.Join(dir, "loose")
	if err := os.WriteFile(loose, []byte(token), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(loose, 0o666); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	huge := filepath.Join(dir, "huge")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(huge, bytes.Repeat([]byte("# padding\n"), 100000), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "big.pem"), bytes.Repeat([]byte("A"), 2<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	foreign := filepath.Join(dir, "foreign")
	if err := os.WriteFile(foreign, []byte(token), 0o600); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		if err := os.Chown(foreign, 65534, 65534); err != nil {
			t.Fatal(err)
		}
	}
	run := func(extra ...string) []string {
		return append([]string{"run", "--insecure-skip-verify", "--repo", dir, "--state", t.TempDir()}, extra...)
	}
	router := func(extra ...string) []string { return append([]string{"router", "--listen", "127.0.0.1:0"}, extra...) }
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"run on all interfaces", run("--listen", "0.0.0.0:0"), "--listen 0.0.0.0:0 is not a loopback address and has no TLS"},
		{"run on a relative socket", run("--listen", "unix://api.sock"), "must be absolute"},
		{"run with a world-writable token file", run("--listen", "127.0.0.1:0", "--token-file", loose), "writable by group or others"},
		{"run with an empty token file", run("--listen", "127.0.0.1:0", "--token-file", empty), "holds no token"},
		{"run with a huge token file", run("--listen", "127.0.0.1:0", "--token-file", huge), "over 65536 bytes"},
		{"run with a missing token file", run("--listen", "127.0.0.1:0", "--token-file", filepath.Join(dir, "nope")), "nope"},
		{"run with a cert and no key", run("--listen", "0.0.0.0:0", "--tls-cert", loose), "--tls-cert and --tls-key together"},
		{"run with an unknown socket group", run("--listen", "unix://"+dir+"/a.sock", "--socket-group", "no-such-group-durable"), "--socket-group"},
		{"run with a foreign-owned token file", run("--listen", "127.0.0.1:0", "--token-file", foreign), "is owned by uid 65534"},
		{"router TCP admin without a token", router("--admin", "127.0.0.1:0"), "has no --token-file"},
		{"router admin on all interfaces", router("--admin", "0.0.0.0:0", "--token-file", loose), "writable by group or others"},
		{"router public admin without TLS", router("--admin", "0.0.0.0:0", "--insecure-admin"), "has no TLS"},
		{"router bad allow-endpoints", router("--admin", "127.0.0.1:0", "--insecure-admin", "--allow-endpoints", "not-an-endpoint"), "--allow-endpoints"},
		{"router too many allow-endpoints", router("--admin", "127.0.0.1:0", "--insecure-admin", "--allow-endpoints", strings.Repeat("10.0.0.0/8,", 2000)+"10.0.0.0/8"), "at most 1024"},
		{"router huge socket group", router("--admin", "unix://"+dir+"/r.sock", "--socket-group", strings.Repeat("g", 100000)), "--socket-group"},
		{"router bad port range", router("--admin", "127.0.0.1:0", "--insecure-admin", "--allow-endpoints", "10.0.0.1:9000-80"), "LOW-HIGH"},
		{"router public metrics", router("--admin", "127.0.0.1:0", "--insecure-admin", "--metrics-listen", "0.0.0.0:0"), "--metrics-listen"},
		{"status with a loose token file", []string{"status", "--token-file", loose}, "writable by group or others"},
		{"status with a bad address", []string{"status", "--api", "unix://relative"}, "absolute"},
		{"status with a huge address", []string{"status", "--api", strings.Repeat("h", 5000) + ":1"}, "is not HOST:PORT"},
		{"status with a missing CA", []string{"status", "--tls-ca", filepath.Join(dir, "nope.pem")}, "--tls-ca"},
		{"status with an empty CA", []string{"status", "--tls-ca", empty}, "no PEM certificate"},
		{"status with a client cert and no key", []string{"status", "--api", "https://127.0.0.1:1", "--tls-cert", empty}, "together"},
		{"status with an oversized CA", []string{"status", "--tls-ca", filepath.Join(dir, "big.pem")}, "over 1048576 bytes"},
		{"status with TLS flags on http://", []string{"status", "--api", "http://127.0.0.1:1", "--tls-ca", empty}, "need https://"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if strings.Contains(tc.want, "owned by") && os.Geteuid() != 0 {
				if os.Getenv("CI") == "true" {
					t.Fatal("giving a file to another user needs root, which CI has")
				}
				t.Skip("giving a file to another user needs root; CI runs it")
			}
			var stderr bytes.Buffer
			code := executeWith(tc.args, strings.NewReader(""), io.Discard, &stderr)
			if code == exitOK || !strings.Contains(stderr.String(), tc.want) {
				t.Fatalf("exit %d, stderr:\n%s\nwant %q", code, stderr.String(), tc.want)
			}
			if strings.Contains(stderr.String(), "0123456789abcdef0123456789abcdef") {
				t.Fatalf("stderr shows the token:\n%s", stderr.String())
			}
		})
	}
}
