package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/durable-delivery/durable/examples"
	"github.com/durable-delivery/durable/internal/registrytest"
)

// gitOut runs git in dir and returns its output.
func gitOut(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// quickstartRemote makes a bare repository whose main holds the
// quickstart example, with extra files, and returns its path.
func quickstartRemote(t *testing.T, dir string, extra map[string]string) string {
	t.Helper()
	work := filepath.Join(dir, "work")
	if err := os.CopyFS(work, examples.Quickstart()); err != nil {
		t.Fatal(err)
	}
	writeFiles(t, work, extra)
	gitOut(t, work, "init", "-q", "-b", "main")
	gitOut(t, work, "add", "-A")
	gitOut(t, work, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "quickstart")
	bare := filepath.Join(dir, "desired.git")
	gitOut(t, dir, "clone", "-q", "--bare", work, bare)
	return bare
}

// durable release verifies, edits the one line, validates and pushes a
// commit naming the service and both digests, signed with --commit-key
// when asked, or to a queue/ branch with --queue; an unsigned or wrongly
// signed artifact, a tag and broken flags change nothing.
func TestReleaseCommand(t *testing.T) {
	host, _ := registrytest.Start(t)
	dir := t.TempDir()
	bare := quickstartRemote(t, dir, nil)
	bin := filepath.Join(dir, "web")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	pw := filepath.Join(dir, "pw")
	if err := os.WriteFile(pw, []byte("pw"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"release", "other"} {
		if code, out, errOut := durable(t, "", "keys", "new", "--output", filepath.Join(dir, k), "--password-file", pw); code != exitOK {
			t.Fatalf("keys new: %s%s", out, errOut)
		}
	}
	packed := func(tag, key string) string {
		_, ref, errOut := durable(t, "", "pack", bin, "--env", "TAG="+tag, "--push", host+"/quickstart/web:"+tag)
		ref = strings.TrimSpace(ref)
		if ref == "" {
			t.Fatalf("pack %s: %s", tag, errOut)
		}
		if key != "" {
			if code, out, errOut := durable(t, "", "sign", ref, "--key", filepath.Join(dir, key+".key"), "--password-file", pw); code != exitOK {
				t.Fatalf("sign %s: %s%s", tag, out, errOut)
			}
		}
		return ref
	}
	good, unsigned, wrong, queued := packed("v2", "release"), packed("v3", ""), packed("v4", "other"), packed("v5", "release")
	pub := filepath.Join(dir, "release.pub")
	before := gitOut(t, bare, "rev-parse", "main")

	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"release", "web", unsigned, "--repo", bare, "--key", pub}, exitFailed, "not signed"},
		{[]string{"release", "web", wrong, "--repo", bare, "--key", pub}, exitFailed, "signed by no trusted key"},
		{[]string{"release", "web", host + "/quickstart/web:v2", "--repo", bare, "--key", pub}, exitUsage, "not pinned by digest"},
		{[]string{"release", "web", good, "--repo", bare}, exitUsage, "exactly one of --trust FILE or --key PUB"},
		{[]string{"release", "web", good, "--repo", bare, "--key", pub, "--sign-commit"}, exitUsage, "go together"},
		{[]string{"release", "api", good, "--repo", bare, "--key", pub}, exitFailed, `no service "api"`},
		{[]string{"release", "web", good, "--repo", filepath.Join(dir, "missing"), "--key", pub}, exitFailed, "missing"},
	} {
		code, _, errOut := durable(t, "", c.args...)
		if code != c.code || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, stderr %s; want %d and %q", c.args[:2], code, errOut, c.code, c.want)
		}
	}
	if after := gitOut(t, bare, "rev-parse", "main"); after != before {
		t.Fatalf("a refused release moved main: %s -> %s", before, after)
	}

	commitKey := filepath.Join(dir, "commit_ed25519")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", commitKey).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	code, out, errOut := durable(t, "", "release", "web", good, "--repo", bare, "--key", pub, "--sign-commit", "--commit-key", commitKey)
	if code != exitOK || !strings.Contains(out, "released web") {
		t.Fatalf("release: exit %d, %s%s", code, out, errOut)
	}
	commit := gitOut(t, bare, "cat-file", "-p", "main")
	digest := good[strings.Index(good, "@")+1:]
	for _, want := range []string{"-----BEGIN SSH SIGNATURE-----", "release web: sha256:000000000000 -> " + digest[:19], "New-Artifact: " + good} {
		if !strings.Contains(commit, want) {
			t.Errorf("the commit lacks %q:\n%s", want, commit)
		}
	}
	diff := gitOut(t, bare, "diff", "--unified=0", "main~1", "main")
	if strings.Count(diff, "\n+") != 2 || !strings.Contains(diff, "+services: web: artifact: \""+good+"\"") {
		t.Errorf("the commit changes more than the artifact's line:\n%s", diff)
	}

	// Without --repo, the current directory's origin, when there is one.
	t.Chdir(dir)
	if code, _, errOut := durable(t, "", "release", "web", queued, "--key", pub); code != exitUsage || !strings.Contains(errOut, "not in a Git repository") {
		t.Fatalf("outside a repository: exit %d, %s", code, errOut)
	}
	clone := filepath.Join(dir, "clone")
	gitOut(t, dir, "clone", "-q", bare, clone)
	t.Chdir(filepath.Join(clone, "policy"))
	code, out, errOut = durable(t, "", "release", "web", queued, "--key", pub, "--queue", "-o", "json")
	branch := "queue/release-web-" + strings.TrimPrefix(queued[strings.Index(queued, "@")+1:], "sha256:")[:12]
	var res releaseResult
	if err := json.Unmarshal([]byte(out), &res); code != exitOK || err != nil || res.Branch != branch || res.OldArtifact != good || res.NewArtifact != queued {
		t.Fatalf("release --queue -o json: exit %d, %s%s (%v)", code, out, errOut, err)
	}
	if q, m := gitOut(t, bare, "rev-parse", branch+"~1"), gitOut(t, bare, "rev-parse", "main"); q != m {
		t.Errorf("the queued commit is not on main's head: %s, main %s", q, m)
	}
}

// A repository that would not validate with the new artifact (here, a
// policy that does not compile) is refused with its problems, positioned,
// and nothing is pushed.
func TestReleaseRefusesARepositoryThatWouldNotValidate(t *testing.T) {
	host, _ := registrytest.Start(t)
	dir := t.TempDir()
	bare := quickstartRemote(t, dir, map[string]string{"policy/broken.rego": "package durable.admission\n\ndeny contains msg if {\n"})
	before := gitOut(t, bare, "rev-parse", "main")
	bin := filepath.Join(dir, "web")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("COSIGN_PASSWORD", "")
	durable(t, "", "keys", "new", "--output", filepath.Join(dir, "release"))
	_, ref, _ := durable(t, "", "pack", bin, "--push", host+"/quickstart/web:v2")
	ref = strings.TrimSpace(ref)
	if code, out, errOut := durable(t, "", "sign", ref, "--key", filepath.Join(dir, "release.key")); code != exitOK {
		t.Fatalf("sign: %s%s", out, errOut)
	}
	code, _, errOut := durable(t, "", "release", "web", ref, "--repo", bare, "--key", filepath.Join(dir, "release.pub"))
	if code != exitFailed || !strings.Contains(errOut, "would not validate") || !strings.Contains(errOut, "policy/broken.rego:") {
		t.Fatalf("exit %d, stderr %s", code, errOut)
	}
	if after := gitOut(t, bare, "rev-parse", "main"); after != before {
		t.Fatalf("main moved: %s -> %s", before, after)
	}
}
