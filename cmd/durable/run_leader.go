package main

import (
	"context"
	"errors"
	"fmt"
	"github.com/durable-delivery/durable/adapters/remote"
	"net/http"
	"os"

	"github.com/durable-delivery/durable/cluster"
	"github.com/durable-delivery/durable/internal/listener"
	"github.com/durable-delivery/durable/journal"
	"github.com/durable-delivery/durable/reconcile"
	"github.com/durable-delivery/durable/server"
)

// runOnEtcd is durable run --etcd: the API serves at once, from the journal
// in etcd, while the reconciler registers as a member of the deployment
// (package cluster); it acts only on the shards of the services it owns,
// during a term on that ownership, on a journal fenced on it. What only a journal file
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
	log.Info("reconciler running", "repo", src.URL(), "branch", o.branch, "state", o.stateDir, "api", l.URL(), "deployment", o.etcd.base(), "self", self, "shards", o.etcd.shards, "leaseTTL", o.etcd.leaseTTL)
	member := cluster.Config{Client: client, Prefix: o.etcd.base(), Self: self, TTL: o.etcd.leaseTTL, Shards: o.etcd.shards, Log: log, Seen: role.saw}
	return cluster.Run(ctx, member, func(ctx context.Context, own cluster.Ownership, lost func()) error {
		st, err := journal.OpenEtcd(ctx, journal.EtcdConfig{Client: client, Prefix: o.etcd.journalPrefix(), FenceFor: own.FenceFor})
		if err != nil {
			return fmt.Errorf("%w: %v", cluster.ErrLost, err)
		}
		if own.Leads() {
			defer keepJournal(ctx, log, st, o.journalRetention)()
		}
		rec, err := reconcile.New(ctx, termConfig(p.config(), own), journal.Observed(fenceWatch{st, lost}, observers...), src)
		if errors.Is(err, journal.ErrFenced) || ctx.Err() != nil {
			return fmt.Errorf("%w: %v", cluster.ErrLost, err)
		}
		if err != nil {
			return err
		}
		role.serve(rec)
		defer role.serve(nil)
		return rec.Run(ctx)
	})
}

// termConfig is cfg for a term on own: the services of its shards only,
// the revisions taken in by the leader alone (the others follow the
// journal), and every call to an agent carrying the tokens of its shards —
// an agent refuses the term's actions once a later owner's token of one
// reached it.
func termConfig(cfg reconcile.Config, own cluster.Ownership) reconcile.Config {
	for _, i := range own.Owned() {
		cfg.Fleet.Fences = append(cfg.Fleet.Fences, remote.Fence{Shard: own.ShardName(i), Token: uint64(own.Shards[i].Revision)})
	}
	cfg.RequireAgents = true
	cfg.Owns = own.Owns
	cfg.Follow = !own.Leads()
	return cfg
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
