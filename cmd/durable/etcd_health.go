package main

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/durable-delivery/durable/api"
)

// etcdProbeEvery is how often a reconciler on etcd checks that the
// cluster answers a linearizable read, which needs a quorum.
const etcdProbeEvery = 2 * time.Second

// etcdDependency names etcd in a status's failing dependencies.
const etcdDependency = "etcd"

// etcdHealth is what a reconciler last found of its etcd cluster: status
// lists it as failing (with since when) and durable_etcd_up is 0 while a
// quorum read fails, on the leader and the standbys alike.
type etcdHealth struct {
	up      prometheus.Gauge
	failure *api.Failure // nil while etcd answers; guarded by the leadership's mu
}

func newEtcdHealth(reg prometheus.Registerer) (*etcdHealth, error) {
	h := &etcdHealth{up: prometheus.NewGauge(prometheus.GaugeOpts{Name: "durable_etcd_up",
		Help: "1 while the etcd cluster answers a quorum read (durable run --etcd), 0 while it does not"})}
	return h, reg.Register(h.up)
}

// watchEtcd probes client every etcdProbeEvery until ctx ends, recording
// each outcome in l.
func watchEtcd(ctx context.Context, client *clientv3.Client, l *leadership) {
	t := time.NewTicker(etcdProbeEvery)
	defer t.Stop()
	for {
		probe, cancel := context.WithTimeout(ctx, etcdProbeEvery)
		_, err := client.Get(probe, "durable-health-probe") // linearizable: a quorum answers
		cancel()
		if ctx.Err() != nil {
			return
		}
		l.noteEtcd(err)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// noteEtcd records a probe's outcome.
func (l *leadership) noteEtcd(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err == nil {
		l.health.failure = nil
		l.health.up.Set(1)
		return
	}
	l.health.up.Set(0)
	since := time.Now().UTC()
	if l.health.failure != nil {
		since = l.health.failure.Since
	}
	l.health.failure = &api.Failure{Dependency: etcdDependency, Error: err.Error(), Since: since}
}

// addEtcd lists etcd among s's failing dependencies while it fails.
func (l *leadership) addEtcd(s *api.Status) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.health.failure != nil {
		s.Failing = append(s.Failing, *l.health.failure)
	}
}
