package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/reconcile"
)

// leadership is what the API shows of an elected reconciler: its role,
// who leads, and, while it leads, the reconciler of its term. It is the
// API's server.Reconciler under --etcd: a standby answers its status
// (Ready false, reason Standby) and ignores triggers.
type leadership struct {
	branch string
	mu     sync.Mutex
	state  api.Leadership
	rec    *reconcile.Reconciler
	// elected is 1 while this reconciler leads (durable_leader), and
	// terms counts the terms it won (durable_leader_terms_total).
	elected prometheus.Gauge
	terms   prometheus.Counter
	health  *etcdHealth
}

func newLeadership(self, branch string, reg prometheus.Registerer) (*leadership, error) {
	l := &leadership{branch: branch, state: api.Leadership{Role: api.RoleStandby, Self: self, Since: time.Now().UTC()},
		elected: prometheus.NewGauge(prometheus.GaugeOpts{Name: "durable_leader", Help: "1 while this reconciler leads its election (durable run --etcd) and acts, 0 while it stands by"}),
		terms:   prometheus.NewCounter(prometheus.CounterOpts{Name: "durable_leader_terms_total", Help: "Terms this reconciler won in its election (durable run --etcd)"})}
	for _, c := range []prometheus.Collector{l.elected, l.terms} {
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

// lead records that this reconciler won a term.
func (l *leadership) lead(self string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.state = api.Leadership{Role: api.RoleLeader, Self: self, Leader: self, Since: time.Now().UTC()}
	l.elected.Set(1)
	l.terms.Inc()
}

// serve sets the reconciler of the current term (nil when it ends).
func (l *leadership) serve(rec *reconcile.Reconciler) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.rec = rec
}

// standBy records that this reconciler stands by, leader leading ("" when
// unknown).
func (l *leadership) standBy(leader string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.state.Role != api.RoleStandby {
		l.state.Since = time.Now().UTC()
	}
	l.state.Role, l.state.Leader, l.rec = api.RoleStandby, leader, nil
	l.elected.Set(0)
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
	if state.Role == api.RoleLeader {
		return api.Status{Time: time.Now().UTC(), Services: []api.ServiceStatus{}, Leadership: &state,
			Ready: api.Condition{Reason: api.ReasonProgressing, Since: state.Since, Message: "elected leader: resuming from the journal"}}, nil
	}
	leader := state.Leader
	if leader == "" {
		leader = "no reconciler known yet"
	}
	return api.Status{Time: time.Now().UTC(), Services: []api.ServiceStatus{}, Leadership: &state,
		Ready: api.Condition{Reason: api.ReasonStandby, Since: state.Since,
			Message: fmt.Sprintf("standing by (leader: %s): this reconciler acts only once elected; ask the leader's API how the targets converge", leader)}}, nil
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
