package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/journal"
	"github.com/durable-delivery/durable/reconcile"
)

// maxNameArg bounds a service or stage name given on the command line.
const maxNameArg = 253

func newHistoryCmd() *cobra.Command {
	var (
		stage string
		src   journalSource
		out   *outputFlag
	)
	cmd := &cobra.Command{
		Use:   "history [SERVICE] [--stage STAGE]",
		Short: "List the releases each stage ran over time, with commit, outcome and durations",
		Long: `Reads the journal and lists every rollout, oldest first: the release, the commit that asked for
it, its outcome (succeeded, rolledBack, failed, abandoned, inFlight), how long it took and how long
the release then served. SERVICE and --stage narrow the list.

Reads a copy of STATE/journal.db (--state, default .durable) when no reconciler holds it, else a
copy taken through the running reconciler's API, as durable journal backup does (a write token).`,
		Args: maxArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			q := reconcile.HistoryQuery{Stage: stage, Now: time.Now().UTC()}
			if len(args) == 1 {
				q.Service = args[0]
			}
			for _, n := range []struct{ what, v string }{{"SERVICE", q.Service}, {"--stage", q.Stage}} {
				if err := checkNameArg(n.v); err != nil {
					return usageError{fmt.Errorf("%s: %w", n.what, err)}
				}
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
			defer cancel()
			var h api.History
			err := withJournalCopy(ctx, &src, func(st journal.Store) (err error) {
				h, err = reconcile.ReadHistory(ctx, st, q)
				return err
			})
			if err != nil {
				return err
			}
			return printOutput(cmd.OutOrStdout(), out.value, view{value: h,
				text: func(w io.Writer) { printHistory(w, h, q) }, table: func() table { return historyTable(h) }})
		},
	}
	cmd.Flags().StringVar(&stage, "stage", "", "only this stage's releases")
	src.addFlags(cmd, defaultStateDir, "the reconciler's state directory: its journal file is read when no reconciler holds it")
	out = addOutputFlag(cmd.Flags(), formatText)
	return cmd
}

// withJournalCopy copies the journal (the file, or through the running
// reconciler's API) into a temporary folder and opens the copy read-only
// for fn, so that reading never holds the journal's lock longer than a
// copy.
func withJournalCopy(ctx context.Context, src *journalSource, fn func(journal.Store) error) error {
	copy, from, closeSource, err := src.open()
	if err != nil {
		return err
	}
	defer closeSource()
	dir, err := os.MkdirTemp("", "durable-journal-read-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, "journal.db")
	f, err := os.OpenFile(file, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	_, err = copy(ctx, f)
	if closeErr := f.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		return fmt.Errorf("copy the journal of %s: %w", from, err)
	}
	st, err := journal.OpenBolt(file, journal.BoltOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("the journal of %s: %w", from, err)
	}
	defer st.Close()
	return fn(st)
}

// checkNameArg refuses a name no service or stage has: oversized, or
// holding control characters.
func checkNameArg(s string) error {
	if len(s) > maxNameArg {
		return fmt.Errorf("%d bytes long; a name is at most %d", len(s), maxNameArg)
	}
	if strings.IndexFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 {
		return fmt.Errorf("%q holds a control character", s)
	}
	return nil
}

// printHistory prints the releases grouped by stage, in the order the
// stages first ran one.
func printHistory(w io.Writer, h api.History, q reconcile.HistoryQuery) {
	if len(h.Releases) == 0 {
		what := "any service"
		if q.Service != "" {
			what = "service " + q.Service
		}
		if q.Stage != "" {
			what += " in stage " + q.Stage
		}
		fmt.Fprintf(w, "no rollout of %s in the journal\n", what)
		return
	}
	var stages []string
	by := map[string][]api.HistoryRelease{}
	for _, r := range h.Releases {
		if _, ok := by[r.Stage]; !ok {
			stages = append(stages, r.Stage)
		}
		by[r.Stage] = append(by[r.Stage], r)
	}
	for i, s := range stages {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "Stage %s:\n", s)
		for _, r := range by[s] {
			fmt.Fprintf(w, "  %s  %s on %s: %s %s%s\n", r.StartedAt.Local().Format(time.RFC3339), r.Service, r.Target,
				releaseKind(r), abbrev(r.Release), outcomeLine(r))
			fmt.Fprintf(w, "      commit %s %q\n", abbrev(r.Commit), r.Message)
			if r.Reason != "" && r.Outcome != api.OutcomeSucceeded {
				fmt.Fprintf(w, "      %s\n", strings.TrimSpace(r.Reason))
			}
		}
	}
}

func releaseKind(r api.HistoryRelease) string {
	if r.Rollback {
		return "rollback to"
	}
	return "release"
}

// outcomeLine is ": succeeded in 45s, served 2h0m0s".
func outcomeLine(r api.HistoryRelease) string {
	s := fmt.Sprintf(" %s after %s", r.Outcome, r.Took)
	if r.Outcome == api.OutcomeInFlight {
		s = fmt.Sprintf(" in flight for %s", r.Took)
	}
	if r.Served.Duration > 0 {
		s += fmt.Sprintf(", served %s", r.Served)
	}
	return s
}

// historyTable is one row per rollout.
func historyTable(h api.History) table {
	t := table{header: []string{"STARTED", "SERVICE", "STAGE", "TARGET", "RELEASE", "COMMIT", "OUTCOME", "TOOK", "SERVED", "MESSAGE"}}
	for _, r := range h.Releases {
		served := ""
		if r.Served.Duration > 0 {
			served = r.Served.String()
		}
		t.rows = append(t.rows, []string{r.StartedAt.Local().Format(time.RFC3339), r.Service, r.Stage, r.Target,
			abbrev(r.Release), abbrev(r.Commit), string(r.Outcome), r.Took.String(), served, r.Message})
	}
	return t
}
