package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/durable-delivery/durable/internal/hostfile"
	"github.com/durable-delivery/durable/signing"
)

// maxPredicateFile bounds an --attest predicate file.
const maxPredicateFile = 256 << 10

func newSignCmd() *cobra.Command {
	var key, passwordFile, format string
	var attest []string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "sign REF@DIGEST --key FILE [--format bundle|cosign-sig] [--attest TYPE=FILE]...",
		Short: "Sign an artifact with a cosign key, offline, in a format the reconciler verifies",
		Long: `Signs REF (pinned by digest, as durable pack prints it) with the cosign private key FILE (made
by durable keys new or cosign generate-key-pair; a file others may read is refused), decrypted
with the password of --password-file, else of $COSIGN_PASSWORD, else none. --format bundle (the
default) stores a Sigstore bundle as an OCI referrer, as cosign v3 does; cosign-sig stores the
classic sha256-<hex>.sig tag. Each --attest TYPE=FILE attaches a signed in-toto statement of
predicate type TYPE whose predicate is the JSON of FILE (what a trust rule's attestations
require), in the same format. Nothing goes to a transparency log: trust the key's .pub in the
reconciler's trust file (docs/trust.md), and check with durable verify.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ref := args[0]
			f, err := signFormat(format)
			if err != nil {
				return err
			}
			predicates, err := readPredicates(attest)
			if err != nil {
				return err
			}
			k, err := loadSigningKey(key, passwordFile)
			if err != nil {
				return err
			}
			opt := signing.WithTimeout(timeout)
			if err := k.SignAs(cmd.Context(), ref, f, opt); err != nil {
				return signError(err)
			}
			for _, p := range predicates {
				if err := k.Attest(cmd.Context(), ref, f, p, opt); err != nil {
					return signError(err)
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "signed %s (%s", ref, f)
			for _, p := range predicates {
				fmt.Fprintf(cmd.OutOrStdout(), ", attested %s", p.Type)
			}
			fmt.Fprintln(cmd.OutOrStdout(), ")")
			return nil
		},
	}
	cmd.Flags().StringVar(&key, "key", "", "cosign private key file (required)")
	cmd.Flags().StringVar(&passwordFile, "password-file", "", "file holding the key's password (default: $COSIGN_PASSWORD, else none)")
	cmd.Flags().StringVar(&format, "format", "bundle", "signature format: bundle (Sigstore bundle referrer) or cosign-sig (.sig tag)")
	cmd.Flags().StringArrayVar(&attest, "attest", nil, "TYPE=FILE: attach a signed attestation of predicate type TYPE, predicate FILE (JSON); repeat for several")
	cmd.Flags().DurationVar(&timeout, "timeout", time.Minute, "how long each signature or attestation may take")
	return cmd
}

// signFormat maps the flag to the signing package's format names.
func signFormat(f string) (string, error) {
	switch f {
	case "bundle", signing.FormatSigstoreBundle:
		return signing.FormatSigstoreBundle, nil
	case signing.FormatCosignSig:
		return signing.FormatCosignSig, nil
	}
	return "", usageError{fmt.Errorf("--format %q: use bundle or cosign-sig", f)}
}

// readPredicates reads each --attest TYPE=FILE.
func readPredicates(list []string) ([]signing.Predicate, error) {
	var out []signing.Predicate
	for _, a := range list {
		typ, file, ok := strings.Cut(a, "=")
		if !ok || typ == "" || file == "" {
			return nil, usageError{fmt.Errorf("--attest %q: write TYPE=FILE, e.g. https://slsa.dev/provenance/v1=provenance.json", a)}
		}
		data, err := hostfile.ReadText(file, "--attest predicate file", "attest something else in your name", "give the predicate's JSON", maxPredicateFile)
		if err != nil {
			return nil, fmt.Errorf("--attest %s: %w", file, err)
		}
		out = append(out, signing.Predicate{Type: typ, JSON: data})
	}
	return out, nil
}

// loadSigningKey reads --key, decrypted with the password of passwordFile,
// else of $COSIGN_PASSWORD.
func loadSigningKey(key, passwordFile string) (*signing.Key, error) {
	if key == "" {
		return nil, usageError{errors.New("--key FILE is required: the cosign private key (durable keys new makes one)")}
	}
	password, err := readPassword(passwordFile)
	if err != nil {
		return nil, err
	}
	return signing.LoadKey(key, password)
}

// readPassword is the password of file (its first line), or
// $COSIGN_PASSWORD when no file is given.
func readPassword(file string) ([]byte, error) {
	if file == "" {
		return []byte(os.Getenv("COSIGN_PASSWORD")), nil
	}
	data, err := hostfile.ReadSecret(file, "password file", "decrypt the signing key", 4<<10)
	if err != nil {
		return nil, err
	}
	line, _, _ := bytes.Cut(data, []byte("\n"))
	return bytes.TrimSuffix(line, []byte("\r")), nil
}

// signError is a usage error when the reference is not pinned.
func signError(err error) error {
	if errors.Is(err, signing.ErrNotPinned) {
		return usageError{err}
	}
	return err
}

func newKeysCmd() *cobra.Command {
	keys := &cobra.Command{Use: "keys", Short: "Make artifact signing keys"}
	var output, passwordFile string
	newCmd := &cobra.Command{
		Use:   "new --output PREFIX [--password-file FILE]",
		Short: "Make a cosign-compatible key pair: PREFIX.key (encrypted) and PREFIX.pub",
		Long: `Makes an ECDSA P-256 key pair as cosign generate-key-pair does, without a prompt: PREFIX.key,
the private key encrypted with the password of --password-file (else $COSIGN_PASSWORD, else
none), readable by you alone, and PREFIX.pub, the public key a trust file lists. Existing
files are never overwritten.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if output == "" {
				return usageError{errors.New("--output PREFIX is required: where to write PREFIX.key and PREFIX.pub")}
			}
			password, err := readPassword(passwordFile)
			if err != nil {
				return err
			}
			if err := signing.NewKeyFiles(output, password); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s.key (private, keep it secret) and %s.pub (list it in the trust file)\n", output, output)
			return nil
		},
	}
	newCmd.Flags().StringVar(&output, "output", "", "prefix of the files to write (required)")
	newCmd.Flags().StringVar(&passwordFile, "password-file", "", "file holding the password to encrypt the key with (default: $COSIGN_PASSWORD, else none)")
	keys.AddCommand(newCmd)
	return keys
}
