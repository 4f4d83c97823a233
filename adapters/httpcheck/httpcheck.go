// Package httpcheck runs the HTTP health check of an infra-set's instances,
// for the runtime adapters that check instances themselves. It must never
// keep a connection to an instance between checks.
package httpcheck

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/durable-delivery/durable/adapters"
)

// healthClient does not keep connections to instances: a check is a fresh
// connection, as a new request through the router would be.
var healthClient = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}

// Run checks every instance at once and records the verdicts in place.
func Run(ctx context.Context, instances []adapters.Instance, hc adapters.HealthCheck) {
	timeout := hc.Timeout
	if timeout <= 0 {
		timeout = time.Second
	}
	want := hc.ExpectStatus
	if want == 0 {
		want = http.StatusOK
	}
	var wg sync.WaitGroup
	for i := range instances {
		wg.Add(1)
		go func() {
			defer wg.Done()
			instances[i].Healthy, instances[i].Reason = check(ctx, "http://"+instances[i].Endpoint+hc.Path, want, timeout)
		}()
	}
	wg.Wait()
}

func check(ctx context.Context, url string, want int, timeout time.Duration) (bool, string) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false, err.Error()
	}
	resp, err := healthClient.Do(req)
	if err != nil {
		return false, "health check: " + err.Error()
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != want {
		return false, fmt.Sprintf("health check %s answered %d, want %d", url, resp.StatusCode, want)
	}
	return true, ""
}
