package router

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
)

// writePrometheus writes the metrics in Prometheus' text exposition format
// (version 0.0.4), one series per service and infra-set, in a stable order.
func writePrometheus(w io.Writer, all map[string]map[string]SetStats) {
	type series struct {
		labels string
		stats  SetStats
	}
	var list []series
	for svc, bySet := range all {
		for set, st := range bySet {
			list = append(list, series{labels: `service="` + escapeLabel(svc) + `",set="` + escapeLabel(set) + `"`, stats: st})
		}
	}
	sort.Slice(list, func(i, j int) bool { return list[i].labels < list[j].labels })
	fmt.Fprintln(w, "# HELP durable_router_requests_total Requests the router sent to an infra-set.")
	fmt.Fprintln(w, "# TYPE durable_router_requests_total counter")
	for _, s := range list {
		fmt.Fprintf(w, "durable_router_requests_total{%s} %d\n", s.labels, s.stats.Requests)
	}
	fmt.Fprintln(w, "# HELP durable_router_server_errors_total Requests of an infra-set answered 5xx or not at all.")
	fmt.Fprintln(w, "# TYPE durable_router_server_errors_total counter")
	for _, s := range list {
		fmt.Fprintf(w, "durable_router_server_errors_total{%s} %d\n", s.labels, s.stats.ServerErrors)
	}
	fmt.Fprintln(w, "# HELP durable_router_in_flight Requests an infra-set has in flight.")
	fmt.Fprintln(w, "# TYPE durable_router_in_flight gauge")
	for _, s := range list {
		fmt.Fprintf(w, "durable_router_in_flight{%s} %d\n", s.labels, s.stats.InFlight)
	}
	fmt.Fprintln(w, "# HELP durable_router_request_duration_seconds Latency of an infra-set's requests.")
	fmt.Fprintln(w, "# TYPE durable_router_request_duration_seconds histogram")
	for _, s := range list {
		for _, b := range s.stats.LatencyBuckets {
			le := strconv.FormatFloat(b.UpperBound, 'g', -1, 64) // +Inf for the last
			fmt.Fprintf(w, "durable_router_request_duration_seconds_bucket{%s,le=%q} %d\n", s.labels, le, b.Count)
		}
		fmt.Fprintf(w, "durable_router_request_duration_seconds_count{%s} %d\n", s.labels, s.stats.Requests)
	}
}

// escapeLabel escapes a label value as the text format requires.
func escapeLabel(v string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(v)
}
