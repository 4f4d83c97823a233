package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/spf13/cobra"

	"github.com/durable-delivery/durable/schema"
	"github.com/durable-delivery/durable/signing"
	"github.com/durable-delivery/durable/source"
	"github.com/durable-delivery/durable/writeback"
)

// releaseOptions are durable release's flags.
type releaseOptions struct {
	repo, branch     string
	trust, key       string
	signCommit       bool
	commitKey        string
	queue            bool
	git              source.Credentials
	timeout          time.Duration
	service, ref     string
	verdict          signing.Verdict
	old, commit, dst string
	output           *outputFlag
}

// releaseResult is what durable release -o json prints.
type releaseResult struct {
	Service     string          `json:"service"`
	OldArtifact string          `json:"oldArtifact"`
	NewArtifact string          `json:"newArtifact"`
	Commit      string          `json:"commit"`
	Branch      string          `json:"branch"`
	Verdict     signing.Verdict `json:"verdict"`
}

func newReleaseCmd() *cobra.Command {
	var o releaseOptions
	cmd := &cobra.Command{
		Use:   "release SERVICE REF@DIGEST (--trust FILE | --key PUB) [--repo URL] [--sign-commit --commit-key KEY] [--queue]",
		Short: "Verify an artifact and commit it as a service's artifact in the desired-state repository",
		Long: `Verifies REF (pinned by digest) as the reconciler would (--trust FILE, or --key PUB for its
repository alone), then, in the branch's head of the desired-state repository (--repo, as durable
run takes it; default: the origin of the Git repository of the current directory), finds where
SERVICE's artifact is written (CUE or YAML, through the schema's positions), rewrites that value
alone, checks that the repository still validates as durable validate does, and pushes a
commit naming the service, the old and the new digest: to the branch (a fast-forward), or with
--queue to queue/release-SERVICE-<12 hex of the digest>, which enqueues it in the merge queue.
--sign-commit signs the commit with the SSH key --commit-key, as durable run --commit-key does.
It refuses an artifact that does not verify, an artifact written by a template, comprehension
or expression (naming the places), and a change after which the repository does not validate.`,
		Args: exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.service, o.ref = args[0], args[1]
			if err := o.check(); err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), o.timeout)
			defer cancel()
			if err := o.verify(ctx); err != nil {
				fmt.Fprintf(cmd.ErrOrStderr(), "%s: not verified, nothing committed: %v\n", o.ref, err)
				return errFailed
			}
			if err := o.run(ctx, cmd); err != nil {
				return err
			}
			res := releaseResult{Service: o.service, OldArtifact: o.old, NewArtifact: o.ref, Commit: o.commit, Branch: o.dst, Verdict: o.verdict}
			return printOutput(cmd.OutOrStdout(), o.output.value, view{value: res, text: func(w io.Writer) {
				fmt.Fprintf(w, "released %s: %s -> %s\ncommit %s pushed to %s\n", res.Service, res.OldArtifact, res.NewArtifact, res.Commit, res.Branch)
			}})
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.repo, "repo", "", "the desired-state repository: a path or a file://, https:// or ssh:// URL (default: origin of the current directory's repository)")
	f.StringVar(&o.branch, "branch", source.DefaultBranch, "the branch the reconciler follows")
	f.StringVar(&o.trust, "trust", "", "trust file to verify the artifact with, as durable run --trust takes")
	f.StringVar(&o.key, "key", "", "cosign public key to verify the artifact with")
	f.BoolVar(&o.signCommit, "sign-commit", false, "sign the commit with --commit-key")
	f.StringVar(&o.commitKey, "commit-key", "", "SSH private key (readable by you alone, no passphrase) that signs the commit, as durable run --commit-key")
	f.BoolVar(&o.queue, "queue", false, "push to queue/release-SERVICE-<12 hex> (enqueue in the merge queue) rather than to the branch")
	f.StringVar(&o.git.SSHKey, "git-ssh-key", "", "private key that logs in to an ssh:// --repo")
	f.StringVar(&o.git.KnownHosts, "git-known-hosts", "", "known_hosts file of the ssh server (default ~/.ssh/known_hosts)")
	f.StringVar(&o.git.TokenFile, "git-token-file", "", "file holding an access token for an https:// --repo")
	f.DurationVar(&o.timeout, "timeout", 2*time.Minute, "how long the whole release may take")
	o.output = addOutputFlag(f, formatText, formatText, formatJSON)
	return cmd
}

// check refuses contradictory flags and a reference not pinned.
func (o *releaseOptions) check() error {
	if (o.key == "") == (o.trust == "") {
		return usageError{errors.New("give exactly one of --trust FILE or --key PUB: the artifact is verified before it is committed")}
	}
	if o.signCommit != (o.commitKey != "") {
		return usageError{errors.New("--sign-commit and --commit-key KEY go together: the SSH key that signs the commit")}
	}
	if _, err := name.NewDigest(o.ref); err != nil {
		return usageError{fmt.Errorf("%s: %w; write REPOSITORY@sha256:<digest> (durable pack prints it)", o.ref, signing.ErrNotPinned)}
	}
	if o.repo == "" {
		url, err := originURL()
		if err != nil {
			return usageError{fmt.Errorf("no --repo, and %v; give --repo", err)}
		}
		o.repo = url
	}
	return nil
}

// originURL is the origin remote of the current directory's repository.
func originURL() (string, error) {
	repo, err := git.PlainOpenWithOptions(".", &git.PlainOpenOptions{DetectDotGit: true})
	if err != nil {
		return "", fmt.Errorf("the current directory is not in a Git repository")
	}
	remote, err := repo.Remote("origin")
	if err != nil || len(remote.Config().URLs) == 0 {
		return "", fmt.Errorf("the current directory's repository has no origin remote")
	}
	return remote.Config().URLs[0], nil
}

// verify checks the artifact as the reconciler would.
func (o *releaseOptions) verify(ctx context.Context) error {
	trust, err := verifyTrust(o.ref, o.key, o.trust)
	if err != nil {
		return err
	}
	v, err := signing.NewVerifier(trust)
	if err != nil {
		return err
	}
	o.verdict, err = v.Verify(ctx, o.ref)
	return err
}

// run edits the head of the branch, validates it and pushes the commit.
func (o *releaseOptions) run(ctx context.Context, cmd *cobra.Command) error {
	cache, err := os.MkdirTemp("", "durable-release-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(cache)
	src, err := source.New(source.Config{URL: o.repo, Branch: o.branch, Dir: cache, Credentials: o.git, CommitKey: o.commitKey})
	if err != nil {
		return usageError{err}
	}
	head, err := src.Fetch(ctx)
	if err != nil {
		return err
	}
	load := func(_ context.Context, files fs.FS) (*schema.DesiredState, error) { return schema.Load(files) }
	edits, old, err := writeback.Release(ctx, load, head.Files, o.service, o.ref)
	if err != nil {
		return fmt.Errorf("release %s in %s@%s: %w", o.service, src.URL(), head.Commit[:12], err)
	}
	o.old = old
	if err := validateEdited(cmd, head.Files, edits); err != nil {
		return err
	}
	o.dst = o.branch
	if o.queue {
		o.dst = queueBranch(o.service, o.ref)
	}
	o.commit, err = src.CommitFilesTo(ctx, head.Commit, o.dst, edits, o.message())
	return err
}

// queueBranch is the branch whose push enqueues the release in the merge
// queue: queue/release-SERVICE-<12 hex of the digest>.
func queueBranch(service, ref string) string {
	d, _ := name.NewDigest(ref)
	return "queue/release-" + service + "-" + strings.TrimPrefix(d.DigestStr(), "sha256:")[:12]
}

// message names the service, the old and the new digest, and the verdict.
func (o *releaseOptions) message() string {
	digest := func(ref string) string {
		if d, err := name.NewDigest(ref); err == nil {
			return d.DigestStr()
		}
		return ref
	}
	return fmt.Sprintf("release %s: %s -> %s\n\nService: %s\nOld-Artifact: %s\nNew-Artifact: %s\nVerified: signed by %s (%s, %s; trust rule %s)\n",
		o.service, short12(digest(o.old)), short12(digest(o.ref)), o.service, o.old, o.ref,
		o.verdict.Signer.Identity, o.verdict.Signer.Method, o.verdict.Format, o.verdict.Rule)
}

func short12(digest string) string {
	algo, hex, ok := strings.Cut(digest, ":")
	if !ok {
		return digest
	}
	return algo + ":" + hex[:min(12, len(hex))]
}

// validateEdited writes the edited tree to a temporary directory and
// validates it as durable validate does, refusing with its problems.
func validateEdited(cmd *cobra.Command, tree fs.FS, edits map[string][]byte) error {
	dir, err := os.MkdirTemp("", "durable-release-tree-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if err := os.CopyFS(dir, tree); err != nil {
		return fmt.Errorf("write the edited tree: %w", err)
	}
	for p, data := range edits {
		if err := os.WriteFile(filepath.Join(dir, filepath.FromSlash(p)), data, 0o644); err != nil {
			return fmt.Errorf("write the edited tree: %w", err)
		}
	}
	v, err := validateWithin(cmd, dir, nil, schema.EvaluationLimit)
	if err != nil {
		return err
	}
	if !v.Valid {
		var lines []string
		for _, e := range v.Errors {
			lines = append(lines, strings.ReplaceAll(e.Text, dir+string(filepath.Separator), ""))
		}
		return fmt.Errorf("with the new artifact the repository would not validate; nothing committed:\n%s", strings.Join(lines, "\n"))
	}
	return nil
}
