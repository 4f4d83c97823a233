package source

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/durable-delivery/durable/internal/sshdtest"
)

// sshCredentials are a fresh key and an empty known hosts file, for tests
// that do not connect.
func sshCredentials(t *testing.T) Credentials {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	c := Credentials{SSHKey: filepath.Join(dir, "id_ed25519"), KnownHosts: filepath.Join(dir, "known_hosts")}
	if err := os.WriteFile(c.SSHKey, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(c.KnownHosts, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	return c
}

func assertNoSecret(t *testing.T, where, text string, secret []string) {
	t.Helper()
	for _, s := range secret {
		if strings.Contains(text, s) {
			t.Fatalf("%s holds the secret %q:\n%s", where, s, text)
		}
	}
}

// copyFile copies src to dst with mode.
func copyFile(t *testing.T, src, dst string, mode os.FileMode) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dst, mode); err != nil {
		t.Fatal(err)
	}
}

func TestFetchOverSSH(t *testing.T) {
	repo, head := newRepo(t, map[string]string{"app.cue": "x: 1\n"})
	srv := sshdtest.Start(t)
	s := newSource(t, Config{URL: srv.URL(t, repo), Credentials: Credentials{SSHKey: srv.Key, KnownHosts: srv.KnownHosts}})
	if snap := fetch(t, s); snap.Commit != head || readFile(t, snap.Files, "app.cue") != "x: 1\n" {
		t.Fatalf("Fetch over ssh = %s, want %s", snap.Commit, head)
	}
	next := commitFiles(t, repo, "second", map[string]string{"app.cue": "x: 2\n"})
	if snap := fetch(t, s); snap.Commit != next {
		t.Fatalf("second Fetch over ssh = %s, want %s", snap.Commit, next)
	}
	if strings.Contains(s.URL(), "id_ed25519") {
		t.Errorf("URL() = %s names the key file", s.URL())
	}
	assertNoSecret(t, "sshd's log", srv.Log.String(), sshdtest.KeyBody(t, srv.Key))
}

// TestFetchOverSSHRefusals covers each way a fetch over ssh must fail: the
// error names the file or host at fault and the fix, and never holds the
// key.
func TestFetchOverSSHRefusals(t *testing.T) {
	repo, _ := newRepo(t, map[string]string{"app.cue": "x: 1\n"})
	srv := sshdtest.Start(t)
	other := t.TempDir()
	// A key sshd does not accept, and another server's host key.
	sshdtest.Keygen(t, filepath.Join(other, "id_ed25519"))
	sshdtest.Keygen(t, filepath.Join(other, "host_ed25519"))
	hostPub, err := os.ReadFile(filepath.Join(other, "host_ed25519.pub"))
	if err != nil {
		t.Fatal(err)
	}
	impostor := filepath.Join(other, "known_hosts_impostor")
	line := "[127.0.0.1]:" + srv.Port + " " + strings.Join(strings.Fields(string(hostPub))[:2], " ") + "\n"
	if err := os.WriteFile(impostor, []byte(line), 0o644); err != nil {
		t.Fatal(err)
	}
	unknown := filepath.Join(other, "known_hosts_unknown")
	if err := os.WriteFile(unknown, []byte("[127.0.0.1]:1 "+strings.Join(strings.Fields(string(hostPub))[:2], " ")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	loose := filepath.Join(other, "loose_key")
	copyFile(t, srv.Key, loose, 0o644)
	groupKey := filepath.Join(other, "group_key")
	copyFile(t, srv.Key, groupKey, 0o640)
	writableHosts := filepath.Join(other, "known_hosts_writable")
	copyFile(t, srv.KnownHosts, writableHosts, 0o666)
	garbage := filepath.Join(other, "garbage_key")
	if err := os.WriteFile(garbage, []byte("-----BEGIN OPENSSH PRIVATE KEY-----\nTm90QUtleUJ1dEFTZWNyZXRCb2R5\n-----END OPENSSH PRIVATE KEY-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	huge := filepath.Join(other, "huge_key")
	if err := os.WriteFile(huge, []byte(strings.Repeat("A", maxKeyBytes+1)), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(other, "no_known_hosts")

	for _, tt := range []struct {
		name            string
		key, knownHosts string
		atFetch         bool     // refused by the server, not by New
		want            []string // in the error
	}{
		{name: "wrong key", key: filepath.Join(other, "id_ed25519"), knownHosts: srv.KnownHosts, atFetch: true,
			want: []string{"unable to authenticate", filepath.Join(other, "id_ed25519"), "ssh-keygen -y -f"}},
		{name: "host key mismatch", key: srv.Key, knownHosts: impostor, atFetch: true,
			want: []string{"127.0.0.1:" + srv.Port, impostor, "does not match", "impersonating", "ssh-keygen -R '[127.0.0.1]:" + srv.Port + "'"}},
		{name: "unknown host", key: srv.Key, knownHosts: unknown, atFetch: true,
			want: []string{"is not in known hosts file " + unknown, "ssh-keyscan -p " + srv.Port + " 127.0.0.1 >> " + unknown}},
		{name: "missing known hosts", key: srv.Key, knownHosts: missing,
			want: []string{missing + " does not exist", "ssh-keyscan -p " + srv.Port + " 127.0.0.1 >> " + missing}},
		{name: "world-readable key", key: loose, knownHosts: srv.KnownHosts, want: []string{loose, "(mode 0644)", "chmod 600 " + loose}},
		{name: "group-readable key", key: groupKey, knownHosts: srv.KnownHosts, want: []string{"(mode 0640)", "chmod 600"}},
		{name: "world-writable known hosts", key: srv.Key, knownHosts: writableHosts, want: []string{writableHosts, "impostor", "chmod go-w"}},
		{name: "not a key", key: garbage, knownHosts: srv.KnownHosts, want: []string{garbage, "not a private key"}},
		{name: "oversized key", key: huge, knownHosts: srv.KnownHosts, want: []string{huge, "larger than"}},
		{name: "missing key", key: filepath.Join(other, "nope"), knownHosts: srv.KnownHosts, want: []string{"ssh key", "no such file"}},
		{name: "no key", knownHosts: srv.KnownHosts, want: []string{"needs an ssh private key", "--git-ssh-key"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Config{URL: srv.URL(t, repo), Dir: filepath.Join(t.TempDir(), "cache"), Credentials: Credentials{SSHKey: tt.key, KnownHosts: tt.knownHosts}}
			s, err := New(cfg)
			if tt.atFetch {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				err = fetchErr(t, s)
			} else if err == nil {
				t.Fatal("New accepted the credentials, want an error")
			}
			t.Log(err)
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not say %q: %v", w, err)
				}
			}
			assertNoSecret(t, "the error", err.Error(), append(sshdtest.KeyBody(t, srv.Key), "Tm90QUtleUJ1dEFTZWNyZXRCb2R5", strings.Repeat("A", 64)))
		})
	}
	assertNoSecret(t, "sshd's log", srv.Log.String(), sshdtest.KeyBody(t, srv.Key))
}

// TestDefaultKnownHosts checks that without a known hosts file the one in
// the reconciler's home is used, and that none there is refused with the
// fix.
func TestDefaultKnownHosts(t *testing.T) {
	repo, head := newRepo(t, map[string]string{"app.cue": "x: 1\n"})
	srv := sshdtest.Start(t)
	home := t.TempDir()
	saved := homeDir
	homeDir = func() (string, error) { return home, nil }
	t.Cleanup(func() { homeDir = saved })
	cfg := Config{URL: srv.URL(t, repo), Credentials: Credentials{SSHKey: srv.Key}}
	want := filepath.Join(home, ".ssh", "known_hosts")
	_, err := New(Config{URL: cfg.URL, Dir: t.TempDir(), Credentials: cfg.Credentials})
	if err == nil || !strings.Contains(err.Error(), want+" does not exist") || !strings.Contains(err.Error(), "ssh-keyscan -p "+srv.Port+" 127.0.0.1 >> "+want) {
		t.Fatalf("New without a known hosts file: %v, want a refusal naming %s and ssh-keyscan", err, want)
	}
	if err := os.MkdirAll(filepath.Dir(want), 0o700); err != nil {
		t.Fatal(err)
	}
	copyFile(t, srv.KnownHosts, want, 0o644)
	if snap := fetch(t, newSource(t, cfg)); snap.Commit != head {
		t.Fatalf("Fetch with ~/.ssh/known_hosts = %s, want %s", snap.Commit, head)
	}
}
