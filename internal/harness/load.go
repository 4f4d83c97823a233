package harness

import (
	"context"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// sample is one request of the load, as its client saw it.
type sample struct {
	start   time.Time
	version string
	err     string
}

// Load sends a steady stream of requests through the routers from a few
// workers and records what served each one.
type Load struct {
	urls    []string
	sent    atomic.Uint64 // picks the URL of the next request
	host    string        // the Host header, when not the URL's
	workers int

	mu      sync.Mutex
	samples []sample

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// StartLoad sends requests to url from workers, each pausing between two.
func StartLoad(ctx context.Context, url string, workers int, pause time.Duration) *Load {
	return StartLoadOn(ctx, []string{url}, "", workers, pause)
}

// StartLoadOn spreads the requests over several URLs in turn (the routers
// of several stages), with a Host header when host is not "" (a router
// serving several services routes by it).
func StartLoadOn(ctx context.Context, urls []string, host string, workers int, pause time.Duration) *Load {
	ctx, cancel := context.WithCancel(ctx)
	l := &Load{urls: urls, host: host, workers: workers, cancel: cancel}
	transport := &http.Transport{MaxIdleConnsPerHost: workers}
	client := &http.Client{Transport: transport, Timeout: 10 * time.Second}
	for range workers {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for ctx.Err() == nil {
				l.record(l.once(ctx, client))
				select {
				case <-ctx.Done():
				case <-time.After(pause):
				}
			}
		}()
	}
	return l
}

func (l *Load) once(ctx context.Context, client *http.Client) sample {
	s := sample{start: time.Now()}
	url := l.urls[int(l.sent.Add(1))%len(l.urls)]
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if l.host != "" {
		req.Host = l.host
	}
	resp, err := client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return sample{} // stopped, not failed
		}
		s.err = err.Error()
		return s
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		s.err = resp.Status
		return s
	}
	s.version = resp.Header.Get("X-App-Version")
	return s
}

func (l *Load) record(s sample) {
	if s.start.IsZero() {
		return
	}
	l.mu.Lock()
	l.samples = append(l.samples, s)
	l.mu.Unlock()
}

// Stop ends the load and waits for its workers.
func (l *Load) Stop() {
	l.cancel()
	l.wg.Wait()
}

// Stats counts requests and failures so far, with the last failure.
func (l *Load) Stats() (total, failed int, lastErr string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range l.samples {
		total++
		if s.err != "" {
			failed++
			lastErr = s.err
		}
	}
	return total, failed, lastErr
}

// LastServedBy returns the start of the newest request served by version,
// and whether there was one.
func (l *Load) LastServedBy(version string) (time.Time, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var last time.Time
	for _, s := range l.samples {
		if s.version == version && s.start.After(last) {
			last = s.start
		}
	}
	return last, !last.IsZero()
}

// ServingOnly reports whether every request started after since was served
// by version, and at least one was.
func (l *Load) ServingOnly(version string, since time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	seen := false
	for _, s := range l.samples {
		if s.start.Before(since) || s.err != "" {
			continue
		}
		if s.version != version {
			return false
		}
		seen = true
	}
	return seen
}
