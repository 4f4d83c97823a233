package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/spf13/cobra"

	"github.com/durable-delivery/durable/signing"
)

func newVerifyCmd() *cobra.Command {
	var key, trustFile string
	var timeout time.Duration
	var out *outputFlag
	cmd := &cobra.Command{
		Use:   "verify REF (--key PUBKEY | --trust FILE)",
		Short: "Verify an artifact's signature as the reconciler would",
		Long: `Verifies the cosign signatures (classic .sig tag or Sigstore bundle referrer) and the
required attestations of REF, which must be pinned by digest (REPOSITORY@sha256:...), against
one public key (--key) or a trust file (--trust). Prints the verdict as JSON (-o text for a
line) and exits 0 when
verified; prints the reason and exits 1 when not.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ref := args[0]
			if (key == "") == (trustFile == "") {
				return usageError{errors.New("give exactly one of --key PUBKEY or --trust FILE")}
			}
			trust, err := verifyTrust(ref, key, trustFile)
			if err != nil {
				return err
			}
			v, err := signing.NewVerifier(trust, signing.WithTimeout(timeout))
			if err != nil {
				return err
			}
			verdict, err := v.Verify(cmd.Context(), ref)
			if err != nil {
				fmt.Fprintf(cmd.ErrOrStderr(), "%s: not verified: %v\n", ref, err)
				return errFailed
			}
			return printOutput(cmd.OutOrStdout(), out.value, view{value: verdict, text: func(w io.Writer) {
				fmt.Fprintf(w, "%s: verified, signed by %s (%s, %s; trust rule %s)\n", verdict.Ref, verdict.Signer.Identity, verdict.Signer.Method, verdict.Format, verdict.Rule)
			}})
		},
	}
	cmd.Flags().StringVar(&key, "key", "", "cosign public key (PEM) to verify with")
	cmd.Flags().StringVar(&trustFile, "trust", "", "trust file, as durable run --trust takes")
	cmd.Flags().DurationVar(&timeout, "timeout", 30*time.Second, "how long the verification may take")
	out = addOutputFlag(cmd.Flags(), formatJSON, formatJSON, formatText)
	return cmd
}

// verifyTrust is the trust file's, or, with --key, one that accepts that
// key for ref's repository alone.
func verifyTrust(ref, key, trustFile string) (*signing.Trust, error) {
	if trustFile != "" {
		return signing.LoadTrust(trustFile)
	}
	d, err := name.NewDigest(ref)
	if err != nil {
		return nil, usageError{fmt.Errorf("%s: %w; write REPOSITORY@sha256:<digest> (durable pin resolves tags)", ref, signing.ErrNotPinned)}
	}
	return signing.KeyTrust(d.Repository.Name(), key)
}

func newPinCmd() *cobra.Command {
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "pin FILE...",
		Short: "Resolve the tags of artifact references to digests, in place",
		Long: `Rewrites each artifact: "REPOSITORY:TAG" value of the given CUE files to
"REPOSITORY@sha256:<digest>", resolving the tag in its registry now, and prints each change as
file:line:col: old -> new. The reconciler only ever runs what is pinned by digest.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageError{errors.New("name at least one file to pin")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			resolve := func(ctx context.Context, ref string) (string, error) {
				return signing.Resolve(ctx, ref, signing.WithTimeout(timeout))
			}
			var failed []string
			for _, file := range args {
				changes, err := signing.PinFile(cmd.Context(), file, resolve)
				for _, c := range changes {
					fmt.Fprintln(cmd.OutOrStdout(), c.String())
				}
				if err != nil {
					failed = append(failed, err.Error())
				}
			}
			if len(failed) > 0 {
				fmt.Fprintln(cmd.ErrOrStderr(), strings.Join(failed, "\n"))
				return errFailed
			}
			return nil
		},
	}
	cmd.Flags().DurationVar(&timeout, "timeout", 30*time.Second, "how long resolving one tag may take")
	return cmd
}
