package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/durable-delivery/durable/demo"
)

func newDemoCmd() *cobra.Command {
	var (
		opts demo.Options
		out  *outputFlag
	)
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Show Durable's core promise on this machine: rollout, then git revert as an instant rollback",
		Long: `Builds the quickstart demo service in three versions, pushes them to an OCI registry on
127.0.0.1, creates a Git repository with the quickstart desired state, starts the router and
the reconciler, and under steady load deploys v1, then v2 (make-before-break, v1 kept warm),
then runs git revert: traffic is back on the warm v1 at once, with no failed request.

With --headless it runs unattended and exits 0 when every phase converged with no failed
request, 1 otherwise; -o json prints a summary (failedRequests, totalRequests,
rollbackSeconds, phases). Needs git and the Go toolchain on PATH.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			exe, err := os.Executable()
			if err != nil {
				return err
			}
			opts.Executable = exe
			opts.Out = cmd.OutOrStdout()
			if out.value == formatJSON {
				opts.Out = cmd.ErrOrStderr()
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			sum, err := demo.Run(ctx, opts)
			if out.value == formatJSON {
				_ = writeJSON(cmd.OutOrStdout(), sum)
			}
			if err != nil {
				return err
			}
			if !sum.Converged && ctx.Err() == nil {
				fmt.Fprintf(cmd.ErrOrStderr(), "demo: not every phase converged without failed requests (%d failed of %d); logs in %s\n",
					sum.FailedRequests, sum.TotalRequests, sum.Dir)
				return errFailed
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&opts.Headless, "headless", false, "run the story unattended and exit")
	out = addOutputFlag(cmd.Flags(), formatText, formatText, formatJSON)
	cmd.Flags().StringVar(&opts.Dir, "dir", "", "working directory (a temporary one, removed at the end, when empty)")
	cmd.Flags().BoolVar(&opts.Keep, "keep", false, "keep the temporary working directory")
	return cmd
}
