package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/journal"
	"github.com/durable-delivery/durable/policy"
	"github.com/durable-delivery/durable/reconcile"
	"github.com/durable-delivery/durable/schema"
	"github.com/durable-delivery/durable/source"
)

func newPlanCmd() *cobra.Command {
	var (
		from      runningFlags
		repo      string
		timezone  string
		evalLimit time.Duration
		exitCode  bool
		out       *outputFlag
	)
	cmd := &cobra.Command{
		Use:   "plan [REV]",
		Short: "Show what a revision would do against what runs now, before it is pushed",
		Long: `Loads REV (a commit, branch or tag of the Git repository at --repo; HEAD by default) as durable run
loads a revision (its desired state evaluated in a child process, within --evaluation-timeout), classifies its change and asks the admission policy as the reconciler does, and
compares it with what runs: the running reconciler's status (--api), or, when it does not answer
and --state is given, its journal. Prints per stage, target and service the infra-sets to create,
to switch back to, to keep warm and to remove, the traffic steps of the strategy, the change
classes and the admission verdict with its reasons.

Exits 1 when the revision would be rejected (it does not load, or admission denies it), 2 on a
usage error, else 0; with --exit-code, 3 when it would change what runs. With --api, the applied
revision is read from the local repository: git fetch first.`,
		Args: maxArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rev := "HEAD"
			if len(args) == 1 {
				rev = args[0]
			}
			if from.stateDir != "" && (cmd.Flags().Changed("api") || cmd.Flags().Changed("server")) {
				return usageError{fmt.Errorf("give --api ADDR or --state DIR, not both")}
			}
			if evalLimit < time.Second || evalLimit > 10*time.Minute {
				return usageError{fmt.Errorf("--evaluation-timeout %s: use 1s to 10m", evalLimit)}
			}
			loc, err := time.LoadLocation(timezone)
			if err != nil || len(timezone) > maxNameArg {
				return usageError{fmt.Errorf("--timezone %.60q: use an IANA name such as Europe/Paris or UTC, as durable run --timezone", timezone)}
			}
			self, err := os.Executable()
			if err != nil {
				return fmt.Errorf("find this program to evaluate the revision in a child process: %w", err)
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), 2*evalLimit+time.Minute)
			defer cancel()
			pl := planner{from: from, repo: repo, now: policy.NowIn(time.Now(), loc),
				loader: reconcile.RevisionLoader{LoadState: schema.Isolation{Command: []string{self, "schema", "serve-isolated"}, Timeout: evalLimit}.Load}}
			p, err := pl.plan(ctx, rev)
			if err != nil {
				return err
			}
			if err := printOutput(cmd.OutOrStdout(), out.value, planView(p)); err != nil {
				return err
			}
			switch {
			case p.Rejected():
				return errFailed
			case exitCode && p.Changed:
				return errChanges
			}
			return nil
		},
	}
	addRunningFlags(cmd, &from)
	cmd.Flags().Lookup("state").Usage = "plan against the journal of this state directory (read-only) instead of the API"
	cmd.Flags().StringVar(&repo, "repo", ".", "the desired-state Git repository (or a directory inside its work tree)")
	cmd.Flags().DurationVar(&evalLimit, "evaluation-timeout", schema.EvaluationLimit, "how long evaluating a revision's desired state may take (in a child process, as durable run)")
	cmd.Flags().StringVar(&timezone, "timezone", "UTC", "timezone of the clock given to policies (input.now): the reconciler's --timezone")
	cmd.Flags().BoolVar(&exitCode, "exit-code", false, "exit 3 when the revision would change what runs (0 when not)")
	out = addOutputFlag(cmd.Flags(), formatText)
	return cmd
}

// planner is how durable plan reads a revision and what runs: the
// loader durable run loads with (its desired state evaluated in a child
// process, bounded), the local repository, where what runs is read, and
// the clock policies see.
type planner struct {
	loader reconcile.RevisionLoader
	from   runningFlags
	repo   string
	now    policy.Now
}

// plan reads rev and what runs, and plans the one against the other.
func (pl planner) plan(ctx context.Context, rev string) (api.Plan, error) {
	snap, err := source.ReadLocal(pl.repo, rev)
	if err != nil {
		return api.Plan{}, err
	}
	running, err := pl.readRunning(ctx)
	if err != nil {
		return api.Plan{}, err
	}
	commit := reconcile.SnapshotCommit(snap, nil)
	loaded, err := pl.loader.Load(ctx, reconcile.RevisionFiles{Files: snap.Files, Commit: commit, Approved: running.Approvals})
	if err != nil {
		return rejected(commit, pl.repo, running, err)
	}
	return reconcile.Plan(ctx, reconcile.PlanRequest{Revision: loaded, Commit: commit, Running: running, Now: pl.now}), nil
}

// rejected is the plan of a revision that does not load: its positioned
// errors.
func rejected(commit policy.Commit, repo string, running reconcile.Running, err error) (api.Plan, error) {
	var v validation
	if !v.addErrors(repo, err) {
		return api.Plan{}, err
	}
	p := api.Plan{Revision: api.PlanRevision{Commit: commit.ID, Message: firstLine(commit.Message)}, Classes: []string{},
		Services: []api.PlanServiceChange{}, Stages: []api.PlanStage{}}
	if a := running.Status.Applied; a != nil {
		p.Against = a.Commit
	}
	for _, e := range v.Errors {
		p.Errors = append(p.Errors, e.Text)
	}
	return p, nil
}

// readRunning reads what runs: the journal under --state, else the
// status from the API with the applied revision's desired state loaded
// from the local repository.
func (pl planner) readRunning(ctx context.Context) (reconcile.Running, error) {
	from := pl.from
	if from.stateDir != "" {
		var r reconcile.Running
		err := from.withJournal(ctx, func(j journal.Store) (err error) {
			r, err = reconcile.ReadRunning(ctx, j)
			return err
		})
		return r, err
	}
	c, err := from.api.client()
	if err != nil {
		return reconcile.Running{}, err
	}
	st, apiErr := c.Status(ctx)
	if apiErr != nil {
		return reconcile.Running{}, fmt.Errorf("%w\n(is `durable run` running with --listen %s? to plan against a stopped reconciler's journal, pass --state DIR)", apiErr, from.api.cfg.Address)
	}
	r := reconcile.Running{Status: st}
	if st.Applied == nil {
		return r, nil
	}
	snap, err := source.ReadLocal(pl.repo, st.Applied.Commit)
	if err != nil {
		return r, fmt.Errorf("the applied revision: %w", err)
	}
	applied, err := pl.loader.Load(ctx, reconcile.RevisionFiles{Files: snap.Files, Commit: reconcile.SnapshotCommit(snap, nil)})
	if err != nil {
		return r, fmt.Errorf("the applied revision %s no longer loads here:\n%w", abbrev(snap.Commit), err)
	}
	r.Desired = applied.Desired
	return r, nil
}

// planView is a plan in each output format.
func planView(p api.Plan) view {
	v := view{value: p, text: func(w io.Writer) { printPlan(w, p) }}
	if len(p.Errors) == 0 {
		v.table = func() table { return planTable(p) }
	}
	return v
}
