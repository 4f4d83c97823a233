// Package sshdtest runs a real OpenSSH server (Debian's openssh-server) on
// 127.0.0.1 for tests: host keys and authorized_keys of its own in a
// temporary directory, the current user let in with one key, the
// repositories of this machine served through git over ssh. It works as
// root (CI) and as a developer's own user.
package sshdtest

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// NeedProgram finds program on PATH or in dirs; missing, it skips the test
// on a developer's machine and fails it under CI=true, where
// hack/install-deps.sh must have installed it.
func NeedProgram(t testing.TB, program string, dirs ...string) string {
	t.Helper()
	if p, err := exec.LookPath(program); err == nil {
		return p
	}
	for _, d := range dirs {
		if p := filepath.Join(d, program); isExecutable(p) {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not installed; run hack/install-deps.sh", program)
	}
	t.Skipf("%s is not installed; run hack/install-deps.sh", program)
	return ""
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

// Buffer collects a process's output while it runs.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Server is a real OpenSSH sshd on 127.0.0.1 that lets the current user
// in with one key and serves the repositories on this machine through git.
type Server struct {
	Host, Port string
	// Key is the private key it accepts; KnownHosts holds its host key,
	// as ssh-keyscan reports it.
	Key, KnownHosts string
	Log             *Buffer
}

// URL is the ssh:// URL of the repository at the absolute path repo.
func (s *Server) URL(t testing.TB, repo string) string {
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("ssh://%s@%s/%s", me.Username, net.JoinHostPort(s.Host, s.Port), strings.TrimPrefix(repo, "/"))
}

// Keygen makes an unencrypted ed25519 key pair at path (and path.pub).
func Keygen(t testing.TB, path string) {
	t.Helper()
	keygen := NeedProgram(t, "ssh-keygen")
	if out, err := exec.Command(keygen, "-q", "-t", "ed25519", "-N", "", "-C", "durable-test", "-f", path).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
}

// Start starts sshd with host keys and authorized_keys of its own in a
// temporary directory; it stops with the test.
func Start(t testing.TB) *Server {
	t.Helper()
	sshd := NeedProgram(t, "sshd", "/usr/sbin")
	dir := t.TempDir()
	s := &Server{Host: "127.0.0.1", Key: filepath.Join(dir, "id_ed25519"), KnownHosts: filepath.Join(dir, "known_hosts"), Log: &Buffer{}}
	Keygen(t, filepath.Join(dir, "host_ed25519"))
	Keygen(t, s.Key)
	pub, err := os.ReadFile(s.Key + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "authorized_keys"), pub, 0o600); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		// sshd run by root needs its privilege separation directory,
		// which Debian's service unit makes at start.
		if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
			t.Fatal(err)
		}
	}
	s.Port = FreePort(t)
	config := filepath.Join(dir, "sshd_config")
	// StrictModes would refuse the temporary directory's world-writable
	// parent; PAM is off so that a non-root sshd can let its user in.
	conf := fmt.Sprintf(`ListenAddress 127.0.0.1
HostKey %s/host_ed25519
AuthorizedKeysFile %s/authorized_keys
PidFile none
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin prohibit-password
LogLevel VERBOSE
`, dir, dir)
	if err := os.WriteFile(config, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(sshd, "-D", "-e", "-f", config, "-p", s.Port)
	cmd.Stdout, cmd.Stderr = s.Log, s.Log
	if err := cmd.Start(); err != nil {
		t.Fatalf("start sshd: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("sshd log:\n%s", s.Log)
		}
	})
	s.waitReady(t)
	scan := exec.Command(NeedProgram(t, "ssh-keyscan"), "-p", s.Port, s.Host)
	hosts, err := scan.Output()
	if err != nil || len(hosts) == 0 {
		t.Fatalf("ssh-keyscan -p %s %s: %v (%q)\nsshd log:\n%s", s.Port, s.Host, err, hosts, s.Log)
	}
	if err := os.WriteFile(s.KnownHosts, hosts, 0o644); err != nil {
		t.Fatal(err)
	}
	return s
}

// waitReady waits for sshd's banner.
func (s *Server) waitReady(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", net.JoinHostPort(s.Host, s.Port), time.Second)
		if err == nil {
			banner := make([]byte, 8)
			_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
			n, _ := c.Read(banner)
			c.Close()
			if strings.HasPrefix(string(banner[:n]), "SSH-2.0") {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("sshd did not start on %s:%s:\n%s", s.Host, s.Port, s.Log)
}

// FreePort is a TCP port free on 127.0.0.1 a moment ago.
func FreePort(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port
}

// KeyBody is the base64 body of the private key in file, line by line: no
// error, log or command line may hold any of it.
func KeyBody(t testing.TB, file string) []string {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var body []string
	for _, line := range strings.Split(string(data), "\n") {
		if line != "" && !strings.HasPrefix(line, "-----") {
			body = append(body, line)
		}
	}
	return body
}
