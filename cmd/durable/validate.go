package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/durable-delivery/durable/schema"
)

func newValidateCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "validate DIR",
		Short: "Check a desired-state directory against the schema",
		Long: `Loads every .cue file at the root of DIR through Durable's schema and prints each
problem as file:line:col: message. Exits 0 when the desired state is valid, 1 when not.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ds, err := schema.LoadDir(args[0])
			if err != nil {
				var errs schema.Errors
				if !errors.As(err, &errs) {
					return err
				}
				for _, e := range errs {
					fmt.Fprintln(cmd.ErrOrStderr(), e.String())
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "%d error(s)\n", len(errs))
				return errFailed
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: valid: %d service(s), %d target(s), %d stage(s)\n",
				args[0], len(ds.Services), len(ds.Targets), len(ds.Pipeline.Stages))
			return nil
		},
	}
}
