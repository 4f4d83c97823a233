package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/durable-delivery/durable/journal"
)

// journalTimeout bounds a backup or a check: a journal is at most some
// gigabytes, copied at disk or loopback speed.
const journalTimeout = 30 * time.Minute

func newJournalCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "journal",
		Short: "Back up and check the reconciler's journal",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return usageError{errors.New("name a subcommand: backup or check")}
		},
	}
	cmd.AddCommand(newJournalBackupCmd(), newJournalCheckCmd())
	return cmd
}

// journalSource is where a journal is read from: the file under --state
// when no reconciler holds it, else the running reconciler's API.
type journalSource struct {
	stateDir string
	api      clientFlags
}

func (s *journalSource) addFlags(cmd *cobra.Command, stateDefault, stateUsage string) {
	addClientFlags(cmd.Flags(), &s.api)
	cmd.Flags().StringVar(&s.stateDir, "state", stateDefault, stateUsage)
}

// open returns what copies the journal and where from: the file under
// --state, opened read-only, unless a running reconciler holds it (or no
// --state is given): then the reconciler's API. close releases the file.
func (s *journalSource) open() (copy func(context.Context, io.Writer) (int64, error), from string, close func(), err error) {
	if s.stateDir != "" {
		path := filepath.Join(s.stateDir, "journal.db")
		st, err := journal.OpenBolt(path, journal.BoltOptions{ReadOnly: true, LockTimeout: 200 * time.Millisecond})
		switch {
		case err == nil:
			return func(ctx context.Context, w io.Writer) (int64, error) {
				return st.WriteBackup(ctx, func(int64) io.Writer { return w })
			}, path, func() { st.Close() }, nil
		case !errors.Is(err, journal.ErrJournalInUse):
			return nil, "", nil, fmt.Errorf("--state %s: %w", s.stateDir, err)
		}
	}
	c, err := s.api.client()
	if err != nil {
		return nil, "", nil, err
	}
	return c.Backup, "the reconciler's API at " + c.Base, func() {}, nil
}

func newJournalBackupCmd() *cobra.Command {
	var src journalSource
	cmd := &cobra.Command{
		Use:   "backup FILE",
		Short: "Write a consistent copy of the journal to FILE, while the reconciler runs or not",
		Long: `Copies the journal into FILE (mode 0600): through the running reconciler's API (POST
/v1/journal/backup, which needs a write token or the API's socket), or, when --state is given
and no reconciler holds it, from STATE/journal.db directly. The copy is one consistent state of
the journal; it is written beside FILE, synced, opened and checked (durable journal check)
before it replaces FILE, so FILE is either the old file or a good copy.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if args[0] == "" {
				return usageError{errors.New("FILE is empty: name the file to write the copy to")}
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), journalTimeout)
			defer cancel()
			copy, from, closeSource, err := src.open()
			if err != nil {
				return err
			}
			defer closeSource()
			got, err := journal.SaveBackup(ctx, args[0], func(w io.Writer) (int64, error) { return copy(ctx, w) })
			if err != nil && src.stateDir == "" {
				return fmt.Errorf("%w\n(is durable run running with --listen %s? to copy a stopped reconciler's journal, pass --state DIR)", err, src.api.cfg.Address)
			}
			if err != nil {
				return fmt.Errorf("%w (copied from %s)", err, from)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "journal copied from %s to %s: %d bytes, %d entries (the newest #%d), checked\n",
				from, got.File, got.Bytes, got.Entries, got.LastSeq)
			return nil
		},
	}
	src.addFlags(cmd, "", "the reconciler's state directory: its journal file is copied directly when no reconciler holds it")
	return cmd
}

func newJournalCheckCmd() *cobra.Command {
	src := journalSource{}
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Replay the journal against its invariants and list every breach",
		Long: `Checks the journal (journal.Check): entries in sequence but for compacted ranges, every
action allowed by an earlier decision and answered at most once, every state change one its state
machine allows. Reads STATE/journal.db (--state, default .durable) when no reconciler holds it,
else a copy taken through the running reconciler's API (as durable journal backup does). Exits 1
when it finds a breach.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), journalTimeout)
			defer cancel()
			copy, from, closeSource, err := src.open()
			if err != nil {
				return err
			}
			defer closeSource()
			dir, err := os.MkdirTemp("", "durable-journal-check-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(dir)
			problems, err := checkCopyOf(ctx, filepath.Join(dir, "journal.db"), copy)
			if err != nil {
				return fmt.Errorf("check the journal of %s: %w", from, err)
			}
			for _, p := range problems {
				fmt.Fprintln(cmd.OutOrStdout(), p)
			}
			if len(problems) > 0 {
				fmt.Fprintf(cmd.ErrOrStderr(), "durable: the journal of %s breaks its invariants %d time(s)\n", from, len(problems))
				return errFailed
			}
			fmt.Fprintf(cmd.OutOrStdout(), "journal of %s: no breach of its invariants\n", from)
			return nil
		},
	}
	src.addFlags(cmd, defaultStateDir, "the reconciler's state directory: its journal file is read directly when no reconciler holds it")
	return cmd
}

// checkCopyOf copies the journal to file and checks the copy, so that a
// check never holds the journal's lock longer than a copy.
func checkCopyOf(ctx context.Context, file string, copy func(context.Context, io.Writer) (int64, error)) ([]string, error) {
	f, err := os.OpenFile(file, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, err
	}
	_, err = copy(ctx, f)
	if closeErr := f.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		return nil, err
	}
	st, err := journal.OpenBolt(file, journal.BoltOptions{ReadOnly: true})
	if err != nil {
		return nil, err
	}
	defer st.Close()
	return journal.Check(ctx, st)
}
