package main

import (
	"context"
	"errors"
	"net/http"
	"os"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/server"
)

// reconcilerMetrics are durable run's Prometheus metrics: the reconciler's
// own (server.Metrics) and the Go runtime's and the process's, on one
// registry of their own.
type reconcilerMetrics struct {
	*server.Metrics
	reg     *prometheus.Registry
	handler http.Handler
}

// newReconcilerMetrics registers the metrics; journalSize is called at each
// scrape (nil: the journal has no size to tell). status is set once the
// reconciler exists (the journal, which the metrics observe, is handed to
// it first).
func newReconcilerMetrics(status server.StatusReader, journalSize func() (int64, error)) (*reconcilerMetrics, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m, err := server.NewMetrics(reg, server.MetricsSources{Status: status, JournalSize: journalSize})
	if err != nil {
		return nil, err
	}
	return &reconcilerMetrics{Metrics: m, reg: reg, handler: server.MetricsHandler(reg)}, nil
}

// fileSize is the size of a journal file, stat'ed at each call.
func fileSize(file string) func() (int64, error) {
	return func() (int64, error) {
		fi, err := os.Stat(file)
		if err != nil {
			return 0, err
		}
		return fi.Size(), nil
	}
}

// lateStatus is the reconciler's status once it is set: the metrics are
// made before the reconciler, which needs the journal they observe. It is
// set before the API serves.
type lateStatus struct{ reconciler server.StatusReader }

func (l *lateStatus) Status(ctx context.Context) (api.Status, error) {
	if l.reconciler == nil {
		return api.Status{}, errors.New("the reconciler is starting")
	}
	return l.reconciler.Status(ctx)
}
