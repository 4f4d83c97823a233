package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/durable-delivery/durable/internal/listener"
	"github.com/durable-delivery/durable/queue"
	"github.com/durable-delivery/durable/server"
)

// serveQueueMetrics serves the queue's /metrics on addr (loopback or a
// Unix socket) until ctx ends, and returns what counts the proposals that
// end.
func serveQueueMetrics(ctx context.Context, addr string, st *queue.Store) (func(queue.Proposal), func() error, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m, err := queue.NewMetrics(reg, st)
	if err != nil {
		return nil, nil, err
	}
	l, err := listener.Listen(listener.Config{Address: addr, Flag: "--metrics-listen"})
	if err != nil {
		return nil, nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", server.MetricsHandler(reg))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	stop := func() error {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		err := srv.Shutdown(sctx)
		if serr := <-done; !errors.Is(serr, http.ErrServerClosed) {
			err = errors.Join(err, fmt.Errorf("--metrics-listen %s: %w", addr, serr))
		}
		return err
	}
	return m.Observe, stop, nil
}
