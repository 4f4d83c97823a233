package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/spf13/cobra"

	"github.com/durable-delivery/durable/internal/approvals"
)

var (
	releaseArg = regexp.MustCompile(`^[a-f0-9]{12,64}$`)
	stageArg   = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
)

func newApproveCmd() *cobra.Command {
	var stage, by, reason, repo, stateDir string
	cmd := &cobra.Command{
		Use:   "approve RELEASE --stage STAGE",
		Short: "Approve a release for a stage with a commit in a local clone",
		Long: `Writes approvals/STAGE-RELEASE.json in the clone --repo (default: the current directory)
and commits it with git, so that your git configuration signs it if you sign commits. Push
the commit: policies see the approval as input.approvals once the reconciler fetches it.
Revoke an approval by reverting its commit. RELEASE is a release id (12 to 64 hex digits),
as durable status shows it.

STAGE must be a stage of the pipeline at the clone's HEAD, and RELEASE a release the
repository had: with --state DIR, one the journal of a stopped reconciler recorded; else one of the
services at HEAD or at one of the last 20 commits that changed more than approvals/ and
policy/. Anything else is refused, with the nearest name.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			release := args[0]
			switch {
			case !releaseArg.MatchString(release):
				return usageError{fmt.Errorf("release %q: write a release id, 12 to 64 lowercase hex digits (durable status shows them)", release)}
			case !stageArg.MatchString(stage):
				return usageError{fmt.Errorf("--stage %q: name the stage the release is approved for, e.g. --stage prod", stage)}
			}
			if err := checkApproval(cmd.Context(), repo, stateDir, stage, release); err != nil {
				return err
			}
			if by == "" {
				out, err := exec.Command("git", "-C", repo, "config", "user.email").Output()
				if err != nil || strings.TrimSpace(string(out)) == "" {
					return usageError{errors.New("--by is required when git config user.email is not set: say who approves")}
				}
				by = strings.TrimSpace(string(out))
			}
			file := approvalFile(repo, stage, release, by)
			body, err := json.MarshalIndent(approvals.File{Release: release, Stage: stage, By: by, Reason: reason}, "", "  ")
			if err != nil {
				return err
			}
			if err := os.MkdirAll(filepath.Join(repo, approvals.Dir), 0o755); err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(repo, file), append(body, '\n'), 0o644); err != nil {
				return err
			}
			msg := fmt.Sprintf("Approve release %s for stage %s", release[:12], stage)
			if reason != "" {
				msg += "\n\n" + reason
			}
			for _, git := range [][]string{{"add", "--", file}, {"commit", "-m", msg, "--", file}} {
				var stderr bytes.Buffer
				c := exec.Command("git", append([]string{"-C", repo}, git...)...)
				c.Stderr = &stderr
				if err := c.Run(); err != nil {
					return fmt.Errorf("git %s: %v: %s", git[0], err, strings.TrimSpace(stderr.String()))
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "committed %s: %s approves release %s for stage %s; push it to apply\n", file, by, release[:12], stage)
			return nil
		},
	}
	cmd.Flags().StringVar(&stage, "stage", "", "the stage the release is approved for")
	cmd.Flags().StringVar(&by, "by", "", "who approves (default: git config user.email)")
	cmd.Flags().StringVar(&reason, "reason", "", "why, for the record")
	cmd.Flags().StringVar(&repo, "repo", ".", "local clone of the desired-state repository")
	cmd.Flags().StringVar(&stateDir, "state", "", "a stopped reconciler's state directory: check RELEASE against the releases its journal recorded")
	return cmd
}

var notSlug = regexp.MustCompile(`[^a-z0-9]+`)

// approvalFile names the approval's file: approvals/STAGE-RELEASE.json, or,
// when another person's approval of the release holds that name (a stage
// gate may ask for several), approvals/STAGE-RELEASE-WHO.json.
func approvalFile(repo, stage, release, by string) string {
	file := filepath.Join(approvals.Dir, fmt.Sprintf("%s-%s.json", stage, release[:12]))
	var other approvals.File
	if b, err := os.ReadFile(filepath.Join(repo, file)); err != nil || json.Unmarshal(b, &other) != nil || strings.EqualFold(other.By, by) {
		return file
	}
	who := strings.Trim(notSlug.ReplaceAllString(strings.ToLower(by), "-"), "-")
	return filepath.Join(approvals.Dir, fmt.Sprintf("%s-%s-%s.json", stage, release[:12], who[:min(len(who), 40)]))
}
