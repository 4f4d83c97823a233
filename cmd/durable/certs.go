package main

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/durable-delivery/durable/internal/fleetcerts"
)

func newCertsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "certs",
		Short: "Make a CA and certificates for a fleet to try mutual TLS between reconciler and agents",
		Long: `Makes an ECDSA P-256 certificate authority and certificates signed by it, for trying a fleet:
each agent's certificate names its host (as the inventory does), the reconciler's names the
reconciler (as the agents' --allow does). Real deployments bring their own PKI.

  durable certs ca --out ca/
  durable certs issue --ca ca/ --name a1 --host 10.0.0.11 --out a1/
  durable certs issue --ca ca/ --name reconciler --out reconciler/

A host added later is one more "issue". Keys are written mode 0600; no file is ever overwritten.`,
		Args: exactArgs(0),
	}
	cmd.AddCommand(newCertsCACmd(), newCertsIssueCmd())
	return cmd
}

func newCertsCACmd() *cobra.Command {
	var out, name string
	cmd := &cobra.Command{
		Use:   "ca",
		Short: "Make a certificate authority: DIR/ca.crt and DIR/ca.key",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return usageError{fmt.Errorf("give --out DIR, the directory the CA is written to")}
			}
			if err := fleetcerts.NewCA(out, name, time.Now()); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "CA written: %s (give it to agents as --client-ca and to the reconciler), %s (keep it off the fleet)\n",
				filepath.Join(out, fleetcerts.CACert), filepath.Join(out, fleetcerts.CAKey))
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "directory to write the CA to (created 0700)")
	cmd.Flags().StringVar(&name, "name", "durable-fleet-ca", "the CA's common name")
	return cmd
}

func newCertsIssueCmd() *cobra.Command {
	var caDir, out, name string
	var hosts []string
	cmd := &cobra.Command{
		Use:   "issue",
		Short: "Issue a certificate for an agent's host or a reconciler: DIR/NAME.crt and DIR/NAME.key",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if caDir == "" || out == "" || name == "" {
				return usageError{fmt.Errorf("give --ca DIR, --name NAME and --out DIR")}
			}
			ca, err := fleetcerts.LoadCA(caDir)
			if err != nil {
				return err
			}
			cert, err := fleetcerts.Issue(ca, out, name, hosts, time.Now())
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "certificate of %s written: %s, key %s\n", name, cert, filepath.Join(out, name+".key"))
			return nil
		},
	}
	cmd.Flags().StringVar(&caDir, "ca", "", "directory of the CA (durable certs ca --out)")
	cmd.Flags().StringVar(&name, "name", "", "the holder's name: an inventory host name (a1) or the reconciler's name")
	cmd.Flags().StringSliceVar(&hosts, "host", nil, "an IP address or DNS name the holder is reached at (repeat or comma-separate)")
	cmd.Flags().StringVar(&out, "out", "", "directory to write the certificate and key to (created 0700)")
	return cmd
}
