package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/durable-delivery/durable/api"
)

// canaryStatus is a service at its canary's first step, with the counters
// of a set id made again: cumulative 361 requests, 12 of them in the step.
func canaryStatus() api.Status {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	return api.Status{Ready: api.Condition{Reason: api.ReasonProgressing, Message: "rolling out revision c2"},
		Services: []api.ServiceStatus{{Name: "web", Release: "r2", Placements: []api.PlacementStatus{{Stage: "s", Target: "t",
			Serving: "web-r1-t", Split: &api.Split{Service: "web", Backends: []api.Backend{{Set: "web-r1-t", Weight: 90}, {Set: "web-r2-t", Weight: 10}}},
			Sets: []api.SetStatus{
				{ID: "web-r1-t", Release: "r1", State: api.SetServing, Metrics: &api.SetMetrics{Requests: 900}, Step: &api.SetMetrics{Requests: 100}},
				{ID: "web-r2-t", Release: "r2", State: api.SetCanary, Metrics: &api.SetMetrics{Requests: 361, ServerErrors: 300}, Step: &api.SetMetrics{Requests: 12}},
			},
			Rollout: &api.Rollout{Release: "r2", Phase: api.RolloutCanary, Step: 1, UpdatedAt: at, Message: "canary step 1/1"}}}}}}
}

func TestStatusShowsTheStepsWindow(t *testing.T) {
	var out bytes.Buffer
	printStatus(&out, canaryStatus())
	if want := "web-r2-t  release r2  361 requests, 300 5xx (this step: 12 requests, 0 5xx)"; !strings.Contains(out.String(), want) {
		t.Fatalf("status does not show the step's window %q:\n%s", want, out.String())
	}
}

// TestStatusNamesWhatFails: the failing dependencies and a placement's
// converge error are shown with since when.
func TestStatusNamesWhatFails(t *testing.T) {
	st := canaryStatus()
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	st.Failing = []api.Failure{{Dependency: "prometheus http://127.0.0.1:9090", Error: "query: connection refused", Since: at}}
	st.Services[0].Placements[0].Error = &api.Failure{Error: "read traffic split: router admin 127.0.0.1:9: connection refused", Since: at}
	var b bytes.Buffer
	printStatus(&b, st)
	for _, want := range []string{
		"Failing: prometheus http://127.0.0.1:9090 since " + at.Local().Format(time.RFC3339) + ": query: connection refused",
		"failing since " + at.Local().Format(time.RFC3339) + ": read traffic split: router admin 127.0.0.1:9: connection refused",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("status does not show %q:\n%s", want, b.String())
		}
	}
}
