package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/durable-delivery/durable/queue"
)

// queueFlags are what every queue command names: the repository, its
// main branch and the queue's state directory.
type queueFlags struct {
	repo, main, state string
}

func (f *queueFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.repo, "repo", ".", "the desired-state Git repository: a directory of this host (bare, or a work tree), or a URL the queue mirrors under --state and pushes to")
	cmd.Flags().StringVar(&f.main, "main", "main", "the branch proposals land on")
	cmd.Flags().StringVar(&f.state, "state", "", "the queue's state directory (required): its proposals in queue.db")
}

func (f *queueFlags) store() (*queue.Store, error) {
	if f.state == "" {
		return nil, usageError{fmt.Errorf("--state is required: the directory where the queue keeps its state")}
	}
	return queue.OpenStore(f.state)
}

func newQueueCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "queue",
		Short: "The merge queue: proposals land on main in FIFO order, each validated on top of those ahead",
		Long: `A proposal is a branch of the desired-state repository. durable queue add enqueues one, and so
does pushing a branch named queue/NAME. durable queue run applies each proposal onto main plus
every proposal ahead of it (merging by field path where Git's merge conflicts), checks the result as
the reconciler would (commit signatures, schema, policies and their tests, admission, plan, and the
operator's --check commands) and lands it, or ejects it with the reasons. See docs/queue.md.`,
	}
	cmd.AddCommand(newQueueAddCmd(), newQueueListCmd(), newQueueRemoveCmd(), newQueueRunCmd())
	return cmd
}

func newQueueAddCmd() *cobra.Command {
	var f queueFlags
	cmd := &cobra.Command{
		Use:   "add BRANCH",
		Short: "Enqueue a branch at the commit it points at now",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := f.store()
			if err != nil {
				return err
			}
			p, err := st.Enqueue(cmd.Context(), f.repo, f.main, args[0], time.Now())
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "queued %s\n", p)
			return nil
		},
	}
	f.add(cmd)
	return cmd
}

func newQueueRemoveCmd() *cobra.Command {
	var f queueFlags
	cmd := &cobra.Command{
		Use:   "remove BRANCH",
		Short: "Take a branch's proposal out of the queue (unless it is landing)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := f.store()
			if err != nil {
				return err
			}
			p, err := st.Remove(args[0], time.Now())
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "removed %s\n", p)
			return nil
		},
	}
	f.add(cmd)
	return cmd
}

func newQueueListCmd() *cobra.Command {
	var f queueFlags
	var out *outputFlag
	cmd := &cobra.Command{
		Use:   "list",
		Short: "Show the proposals, in queue order, with their state and reasons",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := f.store()
			if err != nil {
				return err
			}
			ps, err := st.List()
			if err != nil {
				return err
			}
			if ps == nil {
				ps = []queue.Proposal{}
			}
			return printOutput(cmd.OutOrStdout(), out.value, view{value: ps,
				text: func(w io.Writer) { printProposals(w, ps) }, table: func() table { return proposalTable(ps) }})
		},
	}
	f.add(cmd)
	out = addOutputFlag(cmd.Flags(), formatTable)
	return cmd
}

// printProposals prints one line per proposal, its reasons indented below.
func printProposals(w io.Writer, ps []queue.Proposal) {
	for _, p := range ps {
		fmt.Fprintf(w, "%s %s since %s", p, p.State, p.Since.Format(time.RFC3339))
		if p.Candidate != "" {
			fmt.Fprintf(w, " as %.12s by %s", p.Candidate, p.Method)
		}
		fmt.Fprintln(w)
		for _, r := range p.Reasons {
			fmt.Fprintf(w, "    %s\n", r)
		}
	}
}

func proposalTable(ps []queue.Proposal) table {
	t := table{header: []string{"SEQ", "BRANCH", "HEAD", "STATE", "SINCE", "LANDED AS", "REASON"}}
	for _, p := range ps {
		why := string(p.Reason)
		if len(p.Reasons) > 0 {
			why += ": " + strings.Join(p.Reasons, "; ")
		}
		t.rows = append(t.rows, []string{fmt.Sprint(p.Seq), p.Branch, p.Head[:min(12, len(p.Head))], string(p.State),
			p.Since.Format(time.RFC3339), p.Candidate[:min(12, len(p.Candidate))], why})
	}
	return t
}
