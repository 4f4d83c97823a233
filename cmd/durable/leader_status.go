package main

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/cluster"
	"github.com/durable-delivery/durable/reconcile"
)

// leadership is what the API shows of a reconciler sharing its journal in
// etcd: its role and shards, who leads, every member's shards, and, while
// it owns shards, the reconciler of its term. It is the API's
// server.Reconciler under --etcd: a standby answers its status (Ready
// false, reason Standby) and ignores triggers.
type leadership struct {
	branch string
	mu     sync.Mutex
	state  api.Leadership
	rec    *reconcile.Reconciler
	// elected is 1 while this reconciler leads (durable_leader), terms
	// counts the times it became the leader (durable_leader_terms_total),
	// and owned is how many shards it owns (durable_shards_owned).
	elected prometheus.Gauge
	terms   prometheus.Counter
	owned   prometheus.Gauge
	health  *etcdHealth
}

func newLeadership(self, branch string, reg prometheus.Registerer) (*leadership, error) {
	l := &leadership{branch: branch, state: api.Leadership{Role: api.RoleStandby, Self: self, Since: time.Now().UTC()},
		elected: prometheus.NewGauge(prometheus.GaugeOpts{Name: "durable_leader", Help: "1 while this reconciler leads (owns shard 0, takes the revisions in; durable run --etcd), 0 otherwise"}),
		terms:   prometheus.NewCounter(prometheus.CounterOpts{Name: "durable_leader_terms_total", Help: "Times this reconciler became the leader (durable run --etcd)"}),
		owned:   prometheus.NewGauge(prometheus.GaugeOpts{Name: "durable_shards_owned", Help: "Shards of the services this reconciler owns and converges (durable run --etcd --shards)"})}
	for _, c := range []prometheus.Collector{l.elected, l.terms, l.owned} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register the leadership's metrics: %w", err)
		}
	}
	h, err := newEtcdHealth(reg)
	if err != nil {
		return nil, fmt.Errorf("register the leadership's metrics: %w", err)
	}
	l.health = h
	return l, nil
}

// saw records what a read of the deployment showed and what this
// reconciler owns then.
func (l *leadership) saw(v cluster.View, own cluster.Ownership) {
	role := api.RoleStandby
	switch {
	case own.Leads():
		role = api.RoleLeader
	case len(own.Shards) > 0:
		role = api.RoleMember
	}
	leader := ""
	if lease, ok := v.Holders[0]; ok {
		leader = v.Name(lease)
	}
	if role == api.RoleLeader {
		leader = l.state.Self
	}
	owners := v.Owners()
	members := make([]api.Member, 0, len(owners))
	for _, name := range slices.Sorted(maps.Keys(owners)) {
		members = append(members, api.Member{Name: name, Shards: owners[name]})
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if role != l.state.Role {
		l.state.Since = time.Now().UTC()
		if role == api.RoleLeader {
			l.terms.Inc()
		}
	}
	l.state.Role, l.state.Leader, l.state.Shards, l.state.Count, l.state.Members = role, leader, own.Owned(), own.Count, members
	l.elected.Set(0)
	if role == api.RoleLeader {
		l.elected.Set(1)
	}
	l.owned.Set(float64(len(own.Shards)))
}

// serve sets the reconciler of the current term (nil when it ends).
func (l *leadership) serve(rec *reconcile.Reconciler) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.rec = rec
}

// Status is the leader's reconciler's status, or a standby's, with etcd
// among the failing dependencies while it does not answer.
func (l *leadership) Status(ctx context.Context) (api.Status, error) {
	s, err := l.status(ctx)
	l.addEtcd(&s)
	return s, err
}

func (l *leadership) status(ctx context.Context) (api.Status, error) {
	l.mu.Lock()
	state, rec := l.state, l.rec
	l.mu.Unlock()
	if rec != nil {
		s, err := rec.Status(ctx)
		s.Leadership = &state
		return s, err
	}
	if state.Role != api.RoleStandby {
		return api.Status{Time: time.Now().UTC(), Services: []api.ServiceStatus{}, Leadership: &state,
			Ready: api.Condition{Reason: api.ReasonProgressing, Since: state.Since, Message: fmt.Sprintf("owns shards %v: resuming from the journal", state.Shards)}}, nil
	}
	leader := state.Leader
	if leader == "" {
		leader = "no reconciler known yet"
	}
	return api.Status{Time: time.Now().UTC(), Services: []api.ServiceStatus{}, Leadership: &state,
		Ready: api.Condition{Reason: api.ReasonStandby, Since: state.Since,
			Message: fmt.Sprintf("standing by (leader: %s): this reconciler owns no shard of the services and acts on nothing until it does; ask the leader's API how the targets converge", leader)}}, nil
}

// Trigger asks the leader's source to fetch; a standby fetches nothing.
func (l *leadership) Trigger() {
	l.mu.Lock()
	rec := l.rec
	l.mu.Unlock()
	if rec != nil {
		rec.Trigger()
	}
}

// Branch is the branch followed.
func (l *leadership) Branch() string { return l.branch }
