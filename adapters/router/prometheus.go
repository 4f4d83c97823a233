package router

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// setsCollector exposes every set's counters to Prometheus. The series are
// made from the counters at scrape time (constant metrics): the proxy
// counts with atomic adds on a set's own counters, and nothing on its path
// hashes label values.
type setsCollector struct {
	m        *metrics
	requests *prometheus.Desc
	errors   *prometheus.Desc
	inFlight *prometheus.Desc
	latency  *prometheus.Desc
}

func newSetsCollector(m *metrics) *setsCollector {
	labels := []string{"service", "set"}
	return &setsCollector{m: m,
		requests: prometheus.NewDesc("durable_router_requests_total",
			"Requests the router answered for an infra-set, by status code (502: no instance answered).", append(labels, "code"), nil),
		errors: prometheus.NewDesc("durable_router_server_errors_total",
			"Requests of an infra-set answered 5xx or not at all.", labels, nil),
		inFlight: prometheus.NewDesc("durable_router_requests_in_flight",
			"Requests an infra-set has in flight.", labels, nil),
		latency: prometheus.NewDesc("durable_router_request_duration_seconds",
			"Time from a request's arrival to the end of its answer, by infra-set.", labels, nil),
	}
}

func (c *setsCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.requests
	ch <- c.errors
	ch <- c.inFlight
	ch <- c.latency
}

func (c *setsCollector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range c.m.all() {
		sc := s.counters
		for code, n := range sc.byCode() {
			ch <- valid(prometheus.NewConstMetric(c.requests, prometheus.CounterValue, float64(n), s.service, s.set, strconv.Itoa(code)))
		}
		ch <- valid(prometheus.NewConstMetric(c.errors, prometheus.CounterValue, float64(sc.serverErrors.Load()), s.service, s.set))
		ch <- valid(prometheus.NewConstMetric(c.inFlight, prometheus.GaugeValue, float64(sc.inFlight.Load()), s.service, s.set))
		// The count is the buckets' own sum, so that the histogram is
		// consistent though requests end while it is read.
		buckets := make(map[float64]uint64, len(latencyBounds)-1)
		var count uint64
		for i, le := range latencyBounds {
			count += sc.buckets[i].Load()
			if i < len(latencyBounds)-1 {
				buckets[le] = count
			}
		}
		sum := time.Duration(sc.latencyNanos.Load()).Seconds()
		ch <- valid(prometheus.NewConstHistogram(c.latency, count, sum, buckets, s.service, s.set))
	}
}

// newRegistry returns the router's Prometheus registry: its sets' counters,
// the Go runtime's and the process's.
func newRegistry(m *metrics) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(newSetsCollector(m), collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// prometheusHandler serves what reg gathers in Prometheus' exposition format.
func prometheusHandler(reg *prometheus.Registry) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// valid is m, or when a label value cannot be exposed (not UTF-8) an
// invalid metric: the scrape serves the other series and says why.
func valid(m prometheus.Metric, err error) prometheus.Metric {
	if err != nil {
		return prometheus.NewInvalidMetric(prometheus.NewInvalidDesc(err), err)
	}
	return m
}
