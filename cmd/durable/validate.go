package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/durable-delivery/durable/policy"
	"github.com/durable-delivery/durable/schema"
)

// entryPoints names the entry points the policies define, for the summary.
func entryPoints(e *policy.Engine, src policy.Source) string {
	if src.Empty() {
		return ""
	}
	var names []string
	for _, ep := range policy.EntryPoints {
		if e.Defines(ep) {
			names = append(names, string(ep))
		}
	}
	if len(names) == 0 {
		return " (no entry point: durable.admission, durable.gate or durable.invariant)"
	}
	return " (" + strings.Join(names, ", ") + ")"
}

func newValidateCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "validate DIR",
		Short: "Check a desired-state directory against the schema",
		Long: `Loads every .cue file at the root of DIR through Durable's schema, compiles the Rego
policies of DIR/policy as the reconciler does, and prints each problem as
file:line:col: message. Exits 0 when the desired state is valid, 1 when not.`,
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
			src, err := policy.ReadDir(filepath.Join(args[0], "policy"), "repository")
			if err != nil {
				return err
			}
			engine, err := policy.Compile(cmd.Context(), policy.Options{}, src)
			if err != nil {
				return printPolicyErrors(cmd.ErrOrStderr(), err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: valid: %d service(s), %d target(s), %d stage(s), %d policy file(s)%s\n",
				args[0], len(ds.Services), len(ds.Targets), len(ds.Pipeline.Stages), len(src.Modules), entryPoints(engine, src))
			return nil
		},
	}
}
