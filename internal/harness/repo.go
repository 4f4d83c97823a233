package harness

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

// ExampleRouter is the router the quickstart example names: the host file
// (WriteHostConfig) maps it to a router that was started.
const ExampleRouter = "edge"

// Repo is a desired-state repository, driven with the git CLI as a person
// would.
type Repo struct {
	// Dir is the repository's working tree.
	Dir string
}

// NewRepo lays out the quickstart example's desired state in dir as a fresh
// Git repository; its target names the router ExampleRouter.
func NewRepo(ctx context.Context, dir string) (*Repo, error) {
	return NewRepoFrom(ctx, dir, examples.Quickstart(), nil)
}

// NewRepoFrom lays out the root .cue files and the policy/ folder of an
// example in dir as a fresh Git repository, replacing in each named file the one occurrence of each
// given string (an address that differs on this machine).
func NewRepoFrom(ctx context.Context, dir string, example fs.FS, replace map[string][][2]string) (*Repo, error) {
	r := &Repo{Dir: dir}
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
	if _, err := r.Git(ctx, "init", "-q", "-b", "main"); err != nil {
		return nil, err
	}
	for _, kv := range [][2]string{{"user.name", "Durable Demo"}, {"user.email", "demo@durable.invalid"}, {"commit.gpgsign", "false"}} {
		if _, err := r.Git(ctx, "config", kv[0], kv[1]); err != nil {
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

// SetArtifact writes the release file naming artifact.
func (r *Repo) SetArtifact(artifact string) error {
	text := fmt.Sprintf("package %s\n\n// The application release: the artifact, pinned by digest.\nservices: web: artifact: %q\n", r.Pkg(), artifact)
	return os.WriteFile(filepath.Join(r.Dir, "release.cue"), []byte(text), 0o644)
}

// Pkg is the CUE package of the repository's files, read from release.cue.
func (r *Repo) Pkg() string {
	b, err := os.ReadFile(filepath.Join(r.Dir, "release.cue"))
	if err != nil {
		return "quickstart"
	}
	first, _, _ := strings.Cut(string(b), "\n")
	return strings.TrimPrefix(first, "package ")
}

// Commit commits everything and returns the new head.
func (r *Repo) Commit(ctx context.Context, message string) (string, error) {
	if _, err := r.Git(ctx, "add", "-A"); err != nil {
		return "", err
	}
	if _, err := r.Git(ctx, "commit", "-q", "-m", message); err != nil {
		return "", err
	}
	return r.Head(ctx)
}

// SetPipeline replaces the example's one stage with two, staging then
// prod, each on this host's processes behind its own router, which the
// host file names stagingRouter and prodRouter.
func (r *Repo) SetPipeline(stagingRouter, prodRouter string) error {
	text := fmt.Sprintf(`package %s

// Two stages, each on this host's processes behind its own router: a release
// reaches prod only once staging has promoted it.
targets: staging: {zone: "staging", runtime: kind: "process", traffic: {kind: "router", admin: %q}}
targets: prod: {zone: "prod", runtime: kind: "process", traffic: {kind: "router", admin: %q}}
pipeline: stages: [{name: "staging", targets: ["staging"]}, {name: "prod", targets: ["prod"]}]
`, r.Pkg(), stagingRouter, prodRouter)
	return os.WriteFile(filepath.Join(r.Dir, "targets.cue"), []byte(text), 0o644)
}

// SetEnv writes env.cue, setting one environment variable of the service.
func (r *Repo) SetEnv(name, value string) error {
	text := fmt.Sprintf("package %s\n\nservices: web: run: env: %s: %q\n", r.Pkg(), name, value)
	return os.WriteFile(filepath.Join(r.Dir, "env.cue"), []byte(text), 0o644)
}

// RevertLast reverts the last n commits in one commit, as a person rolling
// back a few releases at once would.
func (r *Repo) RevertLast(ctx context.Context, n int, message string) (string, error) {
	if _, err := r.Git(ctx, "revert", "--no-commit", fmt.Sprintf("HEAD~%d..HEAD", n)); err != nil {
		return "", err
	}
	if _, err := r.Git(ctx, "commit", "-q", "-m", message); err != nil {
		return "", err
	}
	return r.Head(ctx)
}

// Revert reverts the head commit, as a person rolling back would.
func (r *Repo) Revert(ctx context.Context) (string, error) {
	if _, err := r.Git(ctx, "revert", "--no-edit", "HEAD"); err != nil {
		return "", err
	}
	return r.Head(ctx)
}

// Head is the commit checked out.
func (r *Repo) Head(ctx context.Context) (string, error) {
	out, err := r.Git(ctx, "rev-parse", "HEAD")
	return strings.TrimSpace(out), err
}

// Git runs git with args in the repository and returns its output.
func (r *Repo) Git(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = r.Dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}
