package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/durable-delivery/durable/queue"
	"github.com/durable-delivery/durable/reconcile"
	"github.com/durable-delivery/durable/schema"
	"github.com/durable-delivery/durable/signing"
	"github.com/durable-delivery/durable/source"
)

// queueRunOptions are durable queue run's flags.
type queueRunOptions struct {
	queueFlags
	once               bool
	depth              int
	interval           time.Duration
	trustFile          string
	insecureSkipVerify bool
	commitKey          string
	checks             []string
	checkTimeout       time.Duration
	evaluationTimeout  time.Duration
	metricsListen      string
	// prefix is the pass flags' (addPassFlags), which errors name.
	prefix string
}

func newQueueRunCmd() *cobra.Command {
	var o queueRunOptions
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Process the queue: validate each proposal on top of those ahead and land it on main, or eject it",
		Long: `Each pass enqueues the branches pushed as queue/NAME, then applies the first --depth proposals
onto main (each on top of those ahead), validates them as the reconciler would, and lands those
that pass, in order, moving main by compare-and-swap. A commit the queue writes (a merge) is signed
with --commit-key, which the trust file's allowed signers must list. With --once it makes passes
until no proposal is left and exits 1 when one was ejected; else it runs until interrupted.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			run, stopMetrics, err := o.runner(ctx, cmd)
			if err != nil {
				return err
			}
			if o.once {
				err = queueOnce(ctx, run, o.queueFlags)
			} else {
				err = run.Run(ctx, o.interval)
			}
			return errors.Join(err, stopMetrics())
		},
	}
	o.add(cmd)
	f := cmd.Flags()
	f.BoolVar(&o.once, "once", false, "pass until the queue is empty, then exit")
	o.addPassFlags(f, "")
	f.StringVar(&o.trustFile, "trust", "", "trust file on this host: its commits section says which commits must be signed, and by whom (required, unless --insecure-skip-verify)")
	f.BoolVar(&o.insecureSkipVerify, "insecure-skip-verify", false, "verify no commit signature")
	f.StringVar(&o.commitKey, "commit-key", "", "SSH private key (readable by this user alone) that signs the commits the queue writes")
	f.DurationVar(&o.evaluationTimeout, "evaluation-timeout", schema.EvaluationLimit, "how long evaluating a candidate's desired state may take (in a child process, as durable run)")
	f.StringVar(&o.metricsListen, "metrics-listen", "", "serve the queue's /metrics here: a loopback HOST:PORT or unix:///PATH")
	return cmd
}

// addPassFlags adds the flags of how the queue passes, each name after
// prefix: durable queue run has them as they are, durable run with
// "queue-".
func (o *queueRunOptions) addPassFlags(f *pflag.FlagSet, prefix string) {
	o.prefix = prefix
	f.IntVar(&o.depth, prefix+"depth", 1, "how many proposals are validated at once, each on top of those ahead (1 to 16)")
	f.DurationVar(&o.interval, prefix+"interval", 5*time.Second, "time between the queue's passes")
	f.StringArrayVar(&o.checks, prefix+"check", nil, "a command line run (sh -c) in a copy of each candidate's tree; it passes when it exits 0 (repeatable)")
	f.DurationVar(&o.checkTimeout, prefix+"check-timeout", 5*time.Minute, "how long one --"+prefix+"check may run")
}

// runner checks the flags and builds the queue's runner, with its metrics
// served when asked; stop ends them.
func (o queueRunOptions) runner(ctx context.Context, cmd *cobra.Command) (run *queue.Runner, stop func() error, err error) {
	cfg, err := o.config()
	if err != nil {
		return nil, nil, err
	}
	stop = func() error { return nil }
	if o.metricsListen != "" {
		if cfg.Observe, stop, err = serveQueueMetrics(ctx, o.metricsListen, cfg.Store); err != nil {
			return nil, nil, err
		}
	}
	cfg.Log = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
	if run, err = queue.NewRunner(cfg); err != nil {
		return nil, nil, errors.Join(err, stop())
	}
	return run, stop, nil
}

// config checks the flags and reads the files they name.
func (o queueRunOptions) config() (queue.Config, error) {
	if o.evaluationTimeout < time.Second || o.evaluationTimeout > 10*time.Minute {
		return queue.Config{}, usageError{fmt.Errorf("--evaluation-timeout %s: use 1s to 10m", o.evaluationTimeout)}
	}
	checks, err := o.passCommands()
	if err != nil {
		return queue.Config{}, err
	}
	ck := queue.Checker{Checks: checks}
	switch {
	case o.trustFile != "" && o.insecureSkipVerify:
		return queue.Config{}, usageError{fmt.Errorf("give --trust FILE or --insecure-skip-verify, not both")}
	case o.trustFile != "":
		t, err := signing.LoadTrust(o.trustFile)
		if err != nil {
			return queue.Config{}, fmt.Errorf("--trust:\n%w", err)
		}
		ck.Commits = t.Commits
	case !o.insecureSkipVerify:
		return queue.Config{}, usageError{fmt.Errorf("--trust FILE is required (the commit signatures a proposal needs), or --insecure-skip-verify")}
	}
	isolation, err := evaluationIsolation(o.evaluationTimeout)
	if err != nil {
		return queue.Config{}, err
	}
	ck.Loader = reconcile.RevisionLoader{LoadState: isolation.Load}
	var signer git.Signer
	if o.commitKey != "" {
		if signer, err = source.CommitSigner(o.commitKey); err != nil {
			return queue.Config{}, fmt.Errorf("--commit-key: %w", err)
		}
	}
	st, err := o.store()
	if err != nil {
		return queue.Config{}, err
	}
	return queue.Config{Repo: o.repo, Main: o.main, Mirror: filepath.Join(o.state, "mirror.git"), Store: st, Checker: ck, Signer: signer, Depth: o.depth}, nil
}

// queueOnce makes passes until no proposal is live; errFailed when one
// was ejected on the way.
func queueOnce(ctx context.Context, run *queue.Runner, f queueFlags) error {
	st, err := f.store()
	if err != nil {
		return err
	}
	ps, err := st.List()
	if err != nil {
		return err
	}
	before := map[uint64]queue.State{}
	for _, p := range ps {
		before[p.Seq] = p.State
	}
	if ps, err = run.Drain(ctx); err != nil {
		return err
	}
	for _, p := range ps {
		if p.State == queue.Ejected && before[p.Seq] != queue.Ejected {
			return errFailed
		}
	}
	return nil
}

// passCommands checks the pass flags (addPassFlags) and parses the
// --check commands.
func (o queueRunOptions) passCommands() ([]queue.Command, error) {
	if o.interval < 100*time.Millisecond || o.interval > time.Hour {
		return nil, usageError{fmt.Errorf("--%sinterval %s: use 100ms to 1h", o.prefix, o.interval)}
	}
	if o.depth < 1 || o.depth > 16 {
		return nil, usageError{fmt.Errorf("--%sdepth %d: use 1 to 16", o.prefix, o.depth)}
	}
	var checks []queue.Command
	for _, line := range o.checks {
		c, err := queue.ParseCommand(line, o.checkTimeout)
		if err != nil {
			// The queue names its flags --check and --check-timeout.
			return nil, usageError{errors.New(strings.ReplaceAll(err.Error(), "--check", "--"+o.prefix+"check"))}
		}
		checks = append(checks, c)
	}
	return checks, nil
}
