package demo

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"

	"github.com/durable-delivery/durable/examples"
)

// exampleRouterAdmin is the router admin address the quickstart example
// names; the demo points it at the router it started.
const exampleRouterAdmin = "127.0.0.1:7071"

// repo is the demo's desired-state repository, driven with the git CLI as a
// person would.
type repo struct {
	dir string
}

// newRepo lays out the quickstart example's desired state in dir as a fresh
// Git repository, pointing its target at routerAdmin.
func newRepo(ctx context.Context, dir, routerAdmin string) (*repo, error) {
	return newRepoFrom(ctx, dir, examples.Quickstart(), map[string][][2]string{
		"targets.cue": {{exampleRouterAdmin, routerAdmin}},
	})
}

// newRepoFrom lays out the root .cue files and the policy/ folder of an
// example in dir as a fresh Git repository, replacing in each named file the one occurrence of each
// given string (an address that differs on this machine).
func newRepoFrom(ctx context.Context, dir string, example fs.FS, replace map[string][][2]string) (*repo, error) {
	r := &repo{dir: dir}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	entries, err := fs.ReadDir(example, ".")
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if e.IsDir() || path.Ext(e.Name()) != ".cue" {
			continue
		}
		b, err := fs.ReadFile(example, e.Name())
		if err != nil {
			return nil, err
		}
		text := string(b)
		for _, rep := range replace[e.Name()] {
			if strings.Count(text, rep[0]) != 1 {
				return nil, fmt.Errorf("example %s must name %s exactly once", e.Name(), rep[0])
			}
			text = strings.Replace(text, rep[0], rep[1], 1)
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), []byte(text), 0o644); err != nil {
			return nil, err
		}
	}
	if err := copyPolicies(example, dir); err != nil {
		return nil, err
	}
	if _, err := r.git(ctx, "init", "-q", "-b", "main"); err != nil {
		return nil, err
	}
	for _, kv := range [][2]string{{"user.name", "Durable Demo"}, {"user.email", "demo@durable.invalid"}, {"commit.gpgsign", "false"}} {
		if _, err := r.git(ctx, "config", kv[0], kv[1]); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// copyPolicies copies the example's policy/ folder, tests included, as a
// team's repository holds it.
func copyPolicies(example fs.FS, dir string) error {
	return fs.WalkDir(example, "policy", func(p string, d fs.DirEntry, err error) error {
		switch {
		case errors.Is(err, fs.ErrNotExist) && p == "policy":
			return fs.SkipAll
		case err != nil:
			return err
		case d.IsDir():
			return os.MkdirAll(filepath.Join(dir, p), 0o755)
		}
		b, err := fs.ReadFile(example, p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, p), b, 0o644)
	})
}

// setArtifact writes the release file naming artifact.
func (r *repo) setArtifact(artifact string) error {
	text := fmt.Sprintf("package %s\n\n// The application release: the artifact, pinned by digest.\nservices: web: artifact: %q\n", r.pkg(), artifact)
	return os.WriteFile(filepath.Join(r.dir, "release.cue"), []byte(text), 0o644)
}

// pkg is the CUE package of the repository's files, read from release.cue.
func (r *repo) pkg() string {
	b, err := os.ReadFile(filepath.Join(r.dir, "release.cue"))
	if err != nil {
		return "quickstart"
	}
	first, _, _ := strings.Cut(string(b), "\n")
	return strings.TrimPrefix(first, "package ")
}

// commit commits everything and returns the new head.
func (r *repo) commit(ctx context.Context, message string) (string, error) {
	if _, err := r.git(ctx, "add", "-A"); err != nil {
		return "", err
	}
	if _, err := r.git(ctx, "commit", "-q", "-m", message); err != nil {
		return "", err
	}
	return r.head(ctx)
}

// setPipeline replaces the example's one stage with two, staging then
// prod, each on this host's processes behind its own router.
func (r *repo) setPipeline(stagingAdmin, prodAdmin string) error {
	text := fmt.Sprintf(`package %s

// Two stages, each on this host's processes behind its own router: a release
// reaches prod only once staging has promoted it.
targets: staging: {zone: "staging", runtime: kind: "process", traffic: {kind: "router", admin: %q}}
targets: prod: {zone: "prod", runtime: kind: "process", traffic: {kind: "router", admin: %q}}
pipeline: stages: [{name: "staging", targets: ["staging"]}, {name: "prod", targets: ["prod"]}]
`, r.pkg(), stagingAdmin, prodAdmin)
	return os.WriteFile(filepath.Join(r.dir, "targets.cue"), []byte(text), 0o644)
}

// setEnv writes env.cue, setting one environment variable of the service.
func (r *repo) setEnv(name, value string) error {
	text := fmt.Sprintf("package %s\n\nservices: web: run: env: %s: %q\n", r.pkg(), name, value)
	return os.WriteFile(filepath.Join(r.dir, "env.cue"), []byte(text), 0o644)
}

// revertLast reverts the last n commits in one commit, as a person rolling
// back a few releases at once would.
func (r *repo) revertLast(ctx context.Context, n int, message string) (string, error) {
	if _, err := r.git(ctx, "revert", "--no-commit", fmt.Sprintf("HEAD~%d..HEAD", n)); err != nil {
		return "", err
	}
	if _, err := r.git(ctx, "commit", "-q", "-m", message); err != nil {
		return "", err
	}
	return r.head(ctx)
}

// revert reverts the head commit, as a person rolling back would.
func (r *repo) revert(ctx context.Context) (string, error) {
	if _, err := r.git(ctx, "revert", "--no-edit", "HEAD"); err != nil {
		return "", err
	}
	return r.head(ctx)
}

func (r *repo) head(ctx context.Context) (string, error) {
	out, err := r.git(ctx, "rev-parse", "HEAD")
	return strings.TrimSpace(out), err
}

func (r *repo) git(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = r.dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}
