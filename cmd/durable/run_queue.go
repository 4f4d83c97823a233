package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/pflag"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/policy"
	"github.com/durable-delivery/durable/queue"
	"github.com/durable-delivery/durable/reconcile"
	"github.com/durable-delivery/durable/schema"
	"github.com/durable-delivery/durable/server"
)

// runQueueOptions are durable run's flags of the merge queue it may
// process beside the reconciler: --queue, and durable queue run's pass
// flags named --queue-….
type runQueueOptions struct {
	on   bool
	pass queueRunOptions
}

// runQueueFlags are the pass flags' names under durable run.
var runQueueFlags = []string{"queue-depth", "queue-interval", "queue-check", "queue-check-timeout"}

func addRunQueueFlags(fs *pflag.FlagSet, o *runQueueOptions) {
	fs.BoolVar(&o.on, "queue", false, "also process the merge queue of --repo (docs/queue.md): branches pushed as queue/NAME land on --branch once validated as a revision is, in FIFO order; the commits it writes are signed with --commit-key; its state is STATE/queue.db")
	o.pass.addPassFlags(fs, "queue-")
}

// checkRunQueue refuses, before anything starts, the queue's flags where
// they cannot work.
func checkRunQueue(fs *pflag.FlagSet, o runOptions) error {
	if !o.queue.on {
		for _, name := range runQueueFlags {
			if fs.Changed(name) {
				return usageError{fmt.Errorf("--%s needs --queue", name)}
			}
		}
		return nil
	}
	if o.etcd.on() {
		return usageError{errors.New("--queue cannot go with --etcd: the queue's state is a file of one host (STATE/queue.db), which the other reconcilers cannot see; run `durable queue run` on one host beside them instead")}
	}
	if o.git.SSHKey != "" || o.git.TokenFile != "" {
		return usageError{errors.New("--queue cannot go with --git-ssh-key or --git-token-file yet: the queue reaches the repository as this user's git command does (SSH agent, credential helpers); give it access that way and drop those flags, or run `durable queue run`")}
	}
	_, err := o.queue.pass.passCommands()
	return err
}

// startQueue starts, with --queue, the merge queue of the repository rec
// follows, through the code of durable queue run: the same repository
// and branch, trust file, commit key and evaluation, and this host's host
// file and host policies, its state in STATE/queue.db. Its metrics join
// reg, and each landing asks rec to fetch at once. It returns what the API
// shows (rec, with the queue in its status) and a stop that waits for the
// queue's end.
func startQueue(ctx context.Context, p runParts, rec *reconcile.Reconciler, reg prometheus.Registerer) (server.Reconciler, func(), error) {
	if !p.o.queue.on {
		return rec, func() {}, nil
	}
	cfg, err := p.queueConfig()
	if err != nil {
		return nil, nil, err
	}
	m, err := queue.NewMetrics(reg, cfg.Store)
	if err != nil {
		return nil, nil, fmt.Errorf("register the queue's metrics: %w", err)
	}
	cfg.Observe = func(pr queue.Proposal) {
		m.Observe(pr)
		if pr.State == queue.Landed {
			rec.Trigger()
		}
	}
	cfg.Log = p.log.With("part", "queue")
	run, err := queue.NewRunner(cfg)
	if err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = run.Run(ctx, p.o.queue.pass.interval)
	}()
	if len(cfg.Checker.Checks) > 0 {
		p.log.Warn("--queue-check runs what committers wrote as this reconciler's user, who can read its journal, secrets and keys; run checks of the repository's code in a standalone durable queue run under a user of its own (docs/queue.md)")
	}
	p.log.Info("merge queue running", "main", cfg.Main, "state", filepath.Join(p.stateDir, queue.StateFile), "depth", cfg.Depth)
	return queuedReconciler{Reconciler: rec, queue: cfg.Store, repo: p.o.repo, main: cfg.Main}, func() { cancel(); <-done }, nil
}

// queueConfig is durable queue run's configuration made from durable run's
// flags, its loader checking what the reconciler's does.
func (p runParts) queueConfig() (queue.Config, error) {
	o := p.o.queue.pass
	o.queueFlags = queueFlags{repo: p.o.repo, main: p.o.branch, state: p.stateDir}
	o.trustFile, o.insecureSkipVerify, o.commitKey = p.o.trustFile, p.o.insecureSkipVerify, p.o.commitKey
	o.evaluationTimeout = p.o.evaluationTimeout
	cfg, err := o.config()
	if err != nil {
		return cfg, err
	}
	ld := &cfg.Checker.Loader
	ld.HostNames = func(ds *schema.DesiredState) error { return reconcile.CheckHostNames(ds, p.in.hostConfig) }
	ld.HostPolicies, ld.Policy = p.in.policies, policy.Options{Timeout: p.o.policyTimeout}
	loc := p.o.location
	cfg.Checker.Now = func() policy.Now { return policy.NowIn(time.Now(), loc) }
	return cfg, nil
}

// queuedReconciler is the reconciler whose status shows the merge queue
// processed beside it, and whose webhook receivers enqueue the pull
// requests marked ready (server.Enqueuer).
type queuedReconciler struct {
	*reconcile.Reconciler
	queue      *queue.Store
	repo, main string
}

// Enqueue adds branch to the queue at the commit the repository's branch
// points at now, as durable queue add does.
func (q queuedReconciler) Enqueue(ctx context.Context, branch string) (string, error) {
	p, err := q.queue.Enqueue(ctx, q.repo, q.main, branch, time.Now().UTC())
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("proposal #%d, %s at %s", p.Seq, p.Branch, abbrev(p.Head)), nil
}

func (q queuedReconciler) Status(ctx context.Context) (api.Status, error) {
	s, err := q.Reconciler.Status(ctx)
	if err != nil {
		return s, err
	}
	qs := q.queue.Status()
	s.Queue = &qs
	return s, nil
}
