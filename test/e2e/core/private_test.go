package core

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/durable-delivery/durable/internal/sshdtest"
	"github.com/durable-delivery/durable/test/e2e/e2etest"
)

// TestPrivateRepositoryOverSSH serves the fixture's repository through a
// real sshd: the reconciler, given the ssh:// URL, a key and a known hosts
// file, converges v1 then v2, and neither what it keeps and logs nor any
// command line holds the key. Given a key others can read it does not
// start; facing a host key other than the known one it fetches nothing; both
// say why, naming the file, and show no part of the key.
func TestPrivateRepositoryOverSSH(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	f := e2etest.New(t, ctx)
	srv := sshdtest.Start(t)
	url := srv.URL(t, f.Repo.Dir)
	// The last --repo wins: the fixture's path gives way to its ssh:// URL.
	f.ExtraArgs = append(f.ExtraArgs, "--repo", url, "--git-ssh-key", srv.Key, "--git-known-hosts", srv.KnownHosts)
	st, _ := f.ServeV1(ctx, "Deploy web v1 from a private repository")
	c2 := f.Commit(ctx, f.Artifacts["v2"], "", "Deploy v2, fetched over ssh")
	f.Converge(ctx, st, "deploy v2 over ssh", c2, "v2")
	st.AssertNoFailedRequests(t)

	body := keyBody(t, srv.Key)
	f.AssertNoSecretKept(ctx, t, body...)
	assertNoCommandLineHolds(t, body)

	dir := t.TempDir()
	loose := filepath.Join(dir, "id_loose")
	data, err := os.ReadFile(srv.Key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(loose, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(loose, 0o644); err != nil {
		t.Fatal(err)
	}
	out := runUntil(ctx, t, "chmod 600 "+loose, "--repo", url, "--git-ssh-key", loose, "--git-known-hosts", srv.KnownHosts, "--state", filepath.Join(dir, "s1"))
	assertNoneOf(t, "the output of durable run with a loose key", out, body)

	sshdtest.Keygen(t, filepath.Join(dir, "other_host"))
	pub, err := os.ReadFile(filepath.Join(dir, "other_host.pub"))
	if err != nil {
		t.Fatal(err)
	}
	impostor := filepath.Join(dir, "known_hosts")
	line := "[127.0.0.1]:" + srv.Port + " " + strings.Join(strings.Fields(string(pub))[:2], " ") + "\n"
	if err := os.WriteFile(impostor, []byte(line), 0o644); err != nil {
		t.Fatal(err)
	}
	out = runUntil(ctx, t, "does not match its key in known hosts file "+impostor, "--repo", url, "--git-ssh-key", srv.Key, "--git-known-hosts", impostor, "--state", filepath.Join(dir, "s2"))
	if !strings.Contains(out, "127.0.0.1:"+srv.Port) {
		t.Errorf("the mismatch does not name the host:\n%s", out)
	}
	assertNoneOf(t, "the output of durable run facing another host key", out, body)
}

// runUntil runs durable run with args until its output says want (or it
// exits, or 30s pass), then stops it and returns the output.
func runUntil(ctx context.Context, t *testing.T, want string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, e2etest.Bin, append([]string{"run", "--listen", "127.0.0.1:0", "--interval", "1s"}, args...)...)
	buf := &sshdtest.Buffer{}
	cmd.Stdout, cmd.Stderr = buf, buf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-done:
		case <-ctx.Done():
			<-done
		case <-tick.C:
			if !strings.Contains(buf.String(), want) {
				continue
			}
			_ = cmd.Process.Kill()
			<-done
		}
		text := buf.String()
		if !strings.Contains(text, want) {
			t.Fatalf("durable run %s did not say %q:\n%s", strings.Join(args, " "), want, text)
		}
		t.Logf("durable run refused, as wanted:\n%s", text)
		return text
	}
}

// keyBody is the base64 body of the private key in file, line by line.
func keyBody(t *testing.T, file string) []string {
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

func assertNoneOf(t *testing.T, what, text string, secrets []string) {
	t.Helper()
	for _, s := range secrets {
		if strings.Contains(text, s) {
			t.Errorf("%s holds part of the private key", what)
		}
	}
}

// assertNoCommandLineHolds checks the command line of every process.
func assertNoCommandLineHolds(t *testing.T, secrets []string) {
	t.Helper()
	files, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, f := range files {
		if data, err := os.ReadFile(f); err == nil {
			assertNoneOf(t, f, string(data), secrets)
		}
	}
}
