package main

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/journal"
	"github.com/durable-delivery/durable/reconcile"
)

// runningFlags say where a command reads what runs: the running
// reconciler's API, or, when it does not answer and --state is given, the
// journal under that directory, read-only.
type runningFlags struct {
	api      clientFlags
	stateDir string
}

// addRunningFlags adds --api (and its old name --server), the TLS and
// token flags, and --state.
func addRunningFlags(cmd *cobra.Command, f *runningFlags) {
	addClientFlags(cmd.Flags(), &f.api)
	cmd.Flags().StringVar(&f.api.cfg.Address, "server", defaultAPI, "old name of --api")
	_ = cmd.Flags().MarkDeprecated("server", "use --api")
	cmd.Flags().StringVar(&f.stateDir, "state", "", "the reconciler's state directory, whose journal is read when its API does not answer")
}

// status reads the reconciler's status from its API, else its journal.
func (f *runningFlags) status(ctx context.Context) (api.Status, error) {
	c, err := f.api.client()
	if err != nil {
		return api.Status{}, err
	}
	st, err := c.Status(ctx)
	if err != nil && f.stateDir != "" {
		err = f.withJournal(ctx, func(j journal.Store) error {
			st, err = reconcile.ReadStatus(ctx, j)
			return err
		})
	}
	if err != nil && f.stateDir == "" {
		return st, fmt.Errorf("%w\n(is `durable run` running with --listen %s? to read a stopped reconciler's journal, pass --state DIR)", err, f.api.cfg.Address)
	}
	return st, err
}

// withJournal opens the journal under --state read-only for fn.
func (f *runningFlags) withJournal(_ context.Context, fn func(journal.Store) error) error {
	st, err := journal.OpenBolt(filepath.Join(f.stateDir, "journal.db"), journal.BoltOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("--state %s: %w", f.stateDir, err)
	}
	defer st.Close()
	return fn(st)
}
