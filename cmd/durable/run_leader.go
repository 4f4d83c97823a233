package main

import (
	"context"
	"errors"
	"fmt"
	"github.com/durable-delivery/durable/adapters/remote"
	"net/http"
	"os"

	"github.com/durable-delivery/durable/internal/listener"
	"github.com/durable-delivery/durable/journal"
	"github.com/durable-delivery/durable/reconcile"
	"github.com/durable-delivery/durable/server"
)

// runOnEtcd is durable run --etcd: the API serves at once, from the journal
// in etcd, while the reconciler stands for election; it acts only during a
// term it won, on a journal fenced on that term. What only a journal file
// has (its size, POST /v1/journal/backup, the dashboard's writes) is
// turned off, and says so.
func runOnEtcd(ctx context.Context, p runParts, guard func(http.Handler, listener.Kind) http.Handler, l *listener.Listener) error {
	o, log := p.o, p.log
	client, err := o.etcd.client()
	if err != nil {
		return err
	}
	defer client.Close()
	if err := etcdReachable(ctx, client, o.etcd); err != nil {
		return err
	}
	// Reads are not fenced: the API and a standby read what the leader
	// writes.
	reads, err := journal.OpenEtcd(ctx, journal.EtcdConfig{Client: client, Prefix: o.etcd.journalPrefix()})
	if err != nil {
		return err
	}
	status := &lateStatus{}
	metrics, err := newReconcilerMetrics(status, nil)
	if err != nil {
		return err
	}
	self := electionName(l.URL())
	role, err := newLeadership(self, o.branch, metrics.reg)
	if err != nil {
		return err
	}
	go watchEtcd(ctx, client, role)
	status.reconciler = role
	observers, waitNotifier, err := journalObservers(ctx, log, p.in.notify, metrics)
	if err != nil {
		return err
	}
	defer waitNotifier()
	src, err := p.source(metrics)
	if err != nil {
		return err
	}
	log.Info("journal in etcd: no journal file, so no durable_journal_size_bytes, POST /v1/journal/backup or dashboard (back etcd up with etcdctl snapshot save)",
		"endpoints", o.etcd.endpoints, "prefix", o.etcd.journalPrefix())
	stopAPI := serveAPI(log, l, guard(server.WithMetrics(server.Handler(role, reads, server.Webhooks{Secrets: p.in.webhookSecrets}), metrics.handler), l.Kind))
	defer stopAPI()
	log.Info("reconciler running", "repo", src.URL(), "branch", o.branch, "state", o.stateDir, "api", l.URL(), "election", o.etcd.electionPrefix(), "self", self, "leaseTTL", o.etcd.leaseTTL)
	e := &elector{client: client, prefix: o.etcd.electionPrefix(), self: self, ttl: o.etcd.leaseTTL, log: log, role: role}
	return e.run(ctx, func(ctx context.Context, fence journal.Fence, lost func()) error {
		st, err := journal.OpenEtcd(ctx, journal.EtcdConfig{Client: client, Prefix: o.etcd.journalPrefix(), Fence: &fence})
		if err != nil {
			return fmt.Errorf("%w: %v", errLeadershipLost, err)
		}
		defer keepJournal(ctx, log, st, o.journalRetention)()
		cfg := p.config()
		// The agents refuse this term's actions once a later term's token
		// reached them: the election key's create revision, per deployment.
		cfg.Fleet.Fences = []remote.Fence{{Shard: o.etcd.electionPrefix(), Token: uint64(fence.Revision)}}
		cfg.RequireAgents = true
		rec, err := reconcile.New(ctx, cfg, journal.Observed(fenceWatch{st, lost}, observers...), src)
		if errors.Is(err, journal.ErrFenced) || ctx.Err() != nil {
			return fmt.Errorf("%w: %v", errLeadershipLost, err)
		}
		if err != nil {
			return err
		}
		role.serve(rec)
		return rec.Run(ctx)
	})
}

// electionName is this reconciler's name in the election, which standbys
// show as the leader: its host, process and API.
func electionName(api string) string {
	host, err := os.Hostname()
	if err != nil {
		host = "unknown-host"
	}
	return fmt.Sprintf("%s pid %d api %s", host, os.Getpid(), api)
}
