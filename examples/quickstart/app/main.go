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
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	// HOST is the address to listen on: loopback for a process on a shared
	// host, all interfaces inside a container (the Docker adapter sets it).
	host := os.Getenv("HOST")
	if host == "" {
		host = "127.0.0.1"
	}
	// STARTUP_DELAY makes the health check fail for a while after start, as
	// a service warming its caches would.
	delay, _ := time.ParseDuration(os.Getenv("STARTUP_DELAY"))
	started := time.Now()
	// SCHEMA_VERSION and DATA_DIR stand for a data migration: at start the
	// app upgrades the schema version recorded in DATA_DIR to its own, and
	// refuses to run (its health check fails) on data newer than it knows,
	// as a release that cannot be rolled back would.
	dataProblem := migrate(os.Getenv("DATA_DIR"), os.Getenv("SCHEMA_VERSION"))

	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		if dataProblem != "" {
			http.Error(w, dataProblem, http.StatusServiceUnavailable)
			return
		}
		if time.Since(started) < delay || os.Getenv("FAIL_HEALTH") != "" {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	// FAIL_RATE makes that share of requests (0 to 1) fail with a 500, as a
	// bad release would: exactly, every 1/FAIL_RATE-th request.
	// SILENT_FAIL_RATE makes that share fail inside while still answering
	// 200: only the internal errors metric shows it, as with a release that
	// swallows its errors.
	failRate, _ := strconv.ParseFloat(os.Getenv("FAIL_RATE"), 64)
	// With ALLOW_CHAOS set, POST /chaos?fail_rate=R changes FAIL_RATE of
	// this instance while it runs: a service degrading by itself, as tests
	// of the canary analysis need.
	var chaos atomic.Uint64 // math.Float64bits of the live fail rate
	chaos.Store(math.Float64bits(failRate))
	if os.Getenv("ALLOW_CHAOS") != "" {
		mux.HandleFunc("POST /chaos", func(w http.ResponseWriter, r *http.Request) {
			rate, err := strconv.ParseFloat(r.URL.Query().Get("fail_rate"), 64)
			if err != nil || rate < 0 || rate > 1 {
				http.Error(w, "fail_rate must be a number from 0 to 1", http.StatusBadRequest)
				return
			}
			chaos.Store(math.Float64bits(rate))
			fmt.Fprintf(w, "fail_rate %g\n", rate)
		})
	}
	silentRate, _ := strconv.ParseFloat(os.Getenv("SILENT_FAIL_RATE"), 64)
	var served atomic.Uint64
	// The metrics, in Prometheus' text format: the app stays one file of
	// the standard library, so that durable demo builds it anywhere.
	var ok, failed, internal atomic.Uint64
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		fmt.Fprintf(w, "# HELP quickstart_http_requests_total Requests served, by status code.\n# TYPE quickstart_http_requests_total counter\n")
		fmt.Fprintf(w, "quickstart_http_requests_total{code=\"200\"} %d\nquickstart_http_requests_total{code=\"500\"} %d\n", ok.Load(), failed.Load())
		fmt.Fprintf(w, "# HELP quickstart_internal_errors_total Requests that failed inside, whatever they answered.\n# TYPE quickstart_internal_errors_total counter\n")
		fmt.Fprintf(w, "quickstart_internal_errors_total %d\n", internal.Load())
	})
	// RESPONSE_DELAY makes every answer that much slower, as a release with
	// a performance regression would.
	responseDelay, _ := time.ParseDuration(os.Getenv("RESPONSE_DELAY"))
	// SECRET, when set, is shown only as its SHA-256, so that a test can
	// tell which secret an instance got without the value leaving it.
	secretSum := ""
	if v, ok := os.LookupEnv("SECRET"); ok {
		secretSum = fmt.Sprintf("%x", sha256.Sum256([]byte(v)))
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(responseDelay)
		w.Header().Set("X-App-Version", version)
		if secretSum != "" {
			w.Header().Set("X-Secret-Sha256", secretSum)
		}
		n := float64(served.Add(1))
		hit := func(rate float64) bool { return math.Floor(n*rate) > math.Floor((n-1)*rate) }
		if hit(math.Float64frombits(chaos.Load())) {
			failed.Add(1)
			http.Error(w, "injected failure (FAIL_RATE)", http.StatusInternalServerError)
			return
		}
		if hit(silentRate) {
			internal.Add(1)
		}
		ok.Add(1)
		fmt.Fprintf(w, "hello from quickstart %s\n", version)
	})

	srv := &http.Server{Addr: net.JoinHostPort(host, port), Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	go func() {
		<-ctx.Done()
		// Finish in-flight requests before exiting: the router has already
		// stopped sending new ones when Durable removes an instance.
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
