// Command app is the quickstart's demo web service: it answers every request
// with its version, so that a person (and the end-to-end tests) can see which
// release served it. Durable's adapters give it its port in PORT.
package main

import (
	"context"
	"crypto/sha256"
	"fmt"
	"log"
	"math"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// version is set at build time: -ldflags "-X main.version=v2".
var version = "dev"

func main() {
	a := newApp()
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", a.health)
	if os.Getenv("ALLOW_CHAOS") != "" {
		mux.HandleFunc("POST /chaos", a.setChaos)
	}
	mux.HandleFunc("/metrics", a.metrics)
	mux.HandleFunc("/", a.hello)
	serve(mux)
}

// app is the service's behaviour, set from its environment.
type app struct {
	// delay makes the health check fail for a while after start
	// (STARTUP_DELAY), as a service warming its caches would.
	delay   time.Duration
	started time.Time
	// dataProblem stands for a data migration (SCHEMA_VERSION, DATA_DIR):
	// at start the app upgrades the schema version recorded in DATA_DIR to
	// its own, and refuses to run (its health check fails) on data newer
	// than it knows, as a release that cannot be rolled back would.
	dataProblem string
	// chaos is math.Float64bits of the share of requests (0 to 1) that fail
	// with a 500, as a bad release would: exactly, every 1/rate-th request.
	// FAIL_RATE sets it; with ALLOW_CHAOS, POST /chaos?fail_rate=R changes
	// it while the instance runs, a service degrading by itself.
	chaos atomic.Uint64
	// silentRate is the share that fails inside while still answering 200
	// (SILENT_FAIL_RATE): only the internal errors metric shows it.
	silentRate float64
	// responseDelay makes every answer that much slower (RESPONSE_DELAY),
	// as a release with a performance regression would.
	responseDelay time.Duration
	// secretSum is SECRET's SHA-256, so that a test can tell which secret
	// an instance got without the value leaving it.
	secretSum string

	served, ok, failed, internal atomic.Uint64
}

func newApp() *app {
	a := &app{started: time.Now()}
	a.delay, _ = time.ParseDuration(os.Getenv("STARTUP_DELAY"))
	a.dataProblem = migrate(os.Getenv("DATA_DIR"), os.Getenv("SCHEMA_VERSION"))
	failRate, _ := strconv.ParseFloat(os.Getenv("FAIL_RATE"), 64)
	a.chaos.Store(math.Float64bits(failRate))
	a.silentRate, _ = strconv.ParseFloat(os.Getenv("SILENT_FAIL_RATE"), 64)
	a.responseDelay, _ = time.ParseDuration(os.Getenv("RESPONSE_DELAY"))
	if v, ok := os.LookupEnv("SECRET"); ok {
		a.secretSum = fmt.Sprintf("%x", sha256.Sum256([]byte(v)))
	}
	return a
}

func (a *app) health(w http.ResponseWriter, r *http.Request) {
	if a.dataProblem != "" {
		http.Error(w, a.dataProblem, http.StatusServiceUnavailable)
		return
	}
	if time.Since(a.started) < a.delay || os.Getenv("FAIL_HEALTH") != "" {
		http.Error(w, "not ready", http.StatusServiceUnavailable)
		return
	}
	fmt.Fprintln(w, "ok")
}

func (a *app) setChaos(w http.ResponseWriter, r *http.Request) {
	rate, err := strconv.ParseFloat(r.URL.Query().Get("fail_rate"), 64)
	if err != nil || rate < 0 || rate > 1 {
		http.Error(w, "fail_rate must be a number from 0 to 1", http.StatusBadRequest)
		return
	}
	a.chaos.Store(math.Float64bits(rate))
	fmt.Fprintf(w, "fail_rate %g\n", rate)
}

// metrics writes the counters in Prometheus' text format: the app stays one
// file of the standard library, so that durable demo builds it anywhere.
func (a *app) metrics(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	fmt.Fprintf(w, "# HELP quickstart_http_requests_total Requests served, by status code.\n# TYPE quickstart_http_requests_total counter\n")
	fmt.Fprintf(w, "quickstart_http_requests_total{code=\"200\"} %d\nquickstart_http_requests_total{code=\"500\"} %d\n", a.ok.Load(), a.failed.Load())
	fmt.Fprintf(w, "# HELP quickstart_internal_errors_total Requests that failed inside, whatever they answered.\n# TYPE quickstart_internal_errors_total counter\n")
	fmt.Fprintf(w, "quickstart_internal_errors_total %d\n", a.internal.Load())
}

func (a *app) hello(w http.ResponseWriter, r *http.Request) {
	time.Sleep(a.responseDelay)
	w.Header().Set("X-App-Version", version)
	if a.secretSum != "" {
		w.Header().Set("X-Secret-Sha256", a.secretSum)
	}
	n := float64(a.served.Add(1))
	hit := func(rate float64) bool { return math.Floor(n*rate) > math.Floor((n-1)*rate) }
	if hit(math.Float64frombits(a.chaos.Load())) {
		a.failed.Add(1)
		http.Error(w, "injected failure (FAIL_RATE)", http.StatusInternalServerError)
		return
	}
	if hit(a.silentRate) {
		a.internal.Add(1)
	}
	a.ok.Add(1)
	fmt.Fprintf(w, "hello from quickstart %s\n", version)
}

// serve listens on HOST:PORT (PORT from Durable's adapters; HOST loopback for
// a process on a shared host, all interfaces inside a container, where the
// Docker adapter sets it) until SIGTERM, finishing in-flight requests first:
// the router has already stopped sending new ones when Durable removes an
// instance.
func serve(h http.Handler) {
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	host := os.Getenv("HOST")
	if host == "" {
		host = "127.0.0.1"
	}
	srv := &http.Server{Addr: net.JoinHostPort(host, port), Handler: h, ReadHeaderTimeout: 5 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdownCtx)
	}()
	log.Printf("quickstart %s listening on %s", version, srv.Addr)
	if err := srv.ListenAndServe(); err != nil && err != http.ErrServerClosed {
		log.Fatal(err)
	}
}

// migrate records version in dir/schema-version when it is newer than what
// is there, and says what is wrong when the data is newer than version.
func migrate(dir, version string) string {
	if dir == "" || version == "" {
		return ""
	}
	mine, err := strconv.Atoi(version)
	if err != nil {
		return "SCHEMA_VERSION is not an integer"
	}
	file := filepath.Join(dir, "schema-version")
	stored := 0
	if b, err := os.ReadFile(file); err == nil {
		stored, _ = strconv.Atoi(strings.TrimSpace(string(b)))
	}
	switch {
	case stored > mine:
		return fmt.Sprintf("the data has schema version %d, newer than this release's %d: it cannot run on it", stored, mine)
	case mine > stored:
		if err := os.WriteFile(file, []byte(strconv.Itoa(mine)+"\n"), 0o644); err != nil {
			return "record the schema version: " + err.Error()
		}
	}
	return ""
}
