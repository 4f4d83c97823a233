package notify

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// The notifier's metrics, each labelled by sink.
var (
	notificationsDesc = prometheus.NewDesc("durable_notifications_total",
		"Events handled by a notification sink, by result: delivered, failed (every attempt failed or the receiver refused it), abandoned (queued or in flight when the drain after shutdown ended).",
		[]string{"sink", "result"}, nil)
	queueLengthDesc = prometheus.NewDesc("durable_notification_queue_length",
		"Events waiting in a notification sink's queue.", []string{"sink"}, nil)
	droppedDesc = prometheus.NewDesc("durable_notifications_dropped_total",
		"Events dropped from a notification sink's queue, the oldest first, because it was full.", []string{"sink"}, nil)
	retriesDesc = prometheus.NewDesc("durable_notification_retries_total",
		"Attempts after an event's first to a notification sink.", []string{"sink"}, nil)
)

// Describe implements prometheus.Collector.
func (n *Notifier) Describe(ch chan<- *prometheus.Desc) {
	ch <- notificationsDesc
	ch <- queueLengthDesc
	ch <- droppedDesc
	ch <- retriesDesc
}

// Collect implements prometheus.Collector.
func (n *Notifier) Collect(ch chan<- prometheus.Metric) {
	counter := func(d *prometheus.Desc, v *atomic.Uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v.Load()), labels...)
	}
	for _, s := range n.sinks {
		name := s.cfg.Name
		counter(notificationsDesc, &s.delivered, name, "delivered")
		counter(notificationsDesc, &s.failed, name, "failed")
		counter(notificationsDesc, &s.abandoned, name, "abandoned")
		counter(droppedDesc, &s.dropped, name)
		counter(retriesDesc, &s.retries, name)
		ch <- prometheus.MustNewConstMetric(queueLengthDesc, prometheus.GaugeValue, float64(s.q.len()), name)
	}
}
