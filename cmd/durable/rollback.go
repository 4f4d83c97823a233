package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/durable-delivery/durable/api"
)

func newRollbackCmd() *cobra.Command {
	var (
		in     api.RollbackRequest
		output *outputFlag
		client clientFlags
	)
	cmd := &cobra.Command{
		Use:   "rollback SERVICE [--stage STAGE] [--to RELEASE]",
		Short: "Commit a service's fields back to an earlier release; a warm set switches at once",
		Long: `Asks the running reconciler (--api, with a write token) to commit, on the branch it follows,
SERVICE's fields as they were at RELEASE (other services untouched: not a revert of whole
commits), pushed with its own access as --revert-on-failure's commits are. Without --to, the
release is the one a warm set of the service runs (in --stage, when given); warm sets of it
take the traffic back on the pass after the commit, with no new set. It prints the commit and
what the reconciler will do. The commit is signed with the reconciler's --commit-key; a
trust file that wants signed commits makes a reconciler without one refuse: commit the
change yourself, signed.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			in.Service = args[0]
			if err := in.Check(); err != nil {
				return usageError{err}
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), time.Minute)
			defer cancel()
			c, err := client.client()
			if err != nil {
				return err
			}
			res, err := c.Rollback(ctx, in)
			if err != nil {
				return err
			}
			return printOutput(cmd.OutOrStdout(), output.value, view{value: res, text: func(w io.Writer) {
				fmt.Fprintf(w, "committed %s: %s back to release %s\n%s\n", res.Commit[:min(12, len(res.Commit))], res.Service, res.Release[:min(12, len(res.Release))], res.Message)
			}})
		},
	}
	addClientFlags(cmd.Flags(), &client)
	cmd.Flags().StringVar(&in.Stage, "stage", "", "look for the warm set in this stage (default: every stage)")
	cmd.Flags().StringVar(&in.Release, "to", "", "the release to go back to: its id, or 12 or more of its first digits when a warm set runs it (default: the one release a warm set runs)")
	output = addOutputFlag(cmd.Flags(), formatText, formatText, formatJSON)
	return cmd
}
