// Package router is the data plane of Durable's embedded default: a weighted
// HTTP reverse proxy, run as its own process (`durable router`) with a small
// admin API on loopback, so that restarting the reconciler drops no request.
// It also holds the client the reconciler drives it with, registered as the
// "router" traffic adapter, and reports per-infra-set metrics, the first
// health signal.
//
// A split change is atomic: once the admin call returns, no new request
// reaches a set at weight 0. In-flight requests on a set that left complete.
// The router must never know about Git, CUE, policies or the journal.
package router

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"sync"
	"sync/atomic"
	"time"

	"github.com/durable-delivery/durable/adapters"
)

// Router proxies requests to the infra-sets of each service by weight.
type Router struct {
	table   atomic.Pointer[table]
	metrics *metrics
	// prometheus serves the metrics in Prometheus' exposition format.
	prometheus http.Handler
	proxy      *httputil.ReverseProxy
	stateFile  string
	log        *slog.Logger
	// allow is what endpoints a split may name.
	allow *Allow
	// writeMu serialises split changes (and their persistence).
	writeMu sync.Mutex
}

// New returns a router with the splits kept in stateFile, if any.
func New(stateFile string, log *slog.Logger) (*Router, error) {
	if log == nil {
		log = slog.Default()
	}
	allow, err := ParseAllow(nil)
	if err != nil {
		return nil, err
	}
	m := newMetrics()
	r := &Router{metrics: m, prometheus: prometheusHandler(newRegistry(m)), stateFile: stateFile, log: log, allow: allow}
	t, err := loadState(stateFile, r.metrics)
	if err != nil {
		return nil, err
	}
	r.table.Store(t)
	dialer := &net.Dialer{Timeout: 2 * time.Second, KeepAlive: 30 * time.Second}
	transport := &http.Transport{
		DialContext: dialer.DialContext,
		// Every connection to an instance is kept for the next request
		// (as many as requests in flight at once, up to this bound).
		MaxIdleConnsPerHost:    maxIdlePerInstance,
		IdleConnTimeout:        idleTimeout,
		MaxResponseHeaderBytes: maxResponseHeaderBytes,
		// The client's Accept-Encoding goes through as it came: the
		// router neither asks for gzip on its behalf nor decompresses.
		DisableCompression: true,
	}
	base := &leanTransport{std: transport, dial: dialer.DialContext, maxIdle: maxIdlePerInstance,
		idleTimeout: idleTimeout, maxHeaderBytes: maxResponseHeaderBytes}
	r.proxy = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Scheme = "http"
			pr.SetXForwarded()
			pr.Out.Host = pr.In.Host
		},
		Transport:  &retryTransport{base: base},
		BufferPool: newBufferPool(),
		ModifyResponse: func(resp *http.Response) error {
			// The set's own one-value slice, shared: headers are copied
			// to the client value by value, never appended to.
			resp.Header[setHeader] = exchangeOf(resp.Request).served.header
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, req *http.Request, err error) {
			ex := exchangeOf(req)
			r.log.Warn("no instance answered", "service", ex.route.split.Service, "set", ex.picked.id, "err", err)
			w.Header().Set(setHeader, ex.picked.id)
			http.Error(w, fmt.Sprintf("bad gateway: no instance of service %s answered", ex.route.split.Service), http.StatusBadGateway)
		},
	}
	return r, nil
}

// The connections kept to the instances: at most maxIdlePerInstance each,
// closed after idleTimeout unused; an instance's answer header is at most
// maxResponseHeaderBytes (http.Transport's default).
const (
	maxIdlePerInstance     = 512
	idleTimeout            = 90 * time.Second
	maxResponseHeaderBytes = 10 << 20
)

// setHeader names, in every proxied answer, the infra-set that served it.
const setHeader = "X-Durable-Set"

// exchange follows one proxied request: the route and set it was given, and
// the set that really answered (another one when the picked set could not
// be reached). It is also the answer's writer, remembering its status for
// the metrics, so that a request costs one allocation for both.
type exchange struct {
	http.ResponseWriter
	status int
	wrote  bool
	start  time.Time
	route  *route
	picked *setRoute
	served *setRoute
}

type exchangeKey struct{}

func exchangeOf(req *http.Request) *exchange {
	return req.Context().Value(exchangeKey{}).(*exchange)
}

// ServeHTTP routes one request.
func (r *Router) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	rt := r.table.Load().lookup(req.Host)
	if rt == nil {
		http.Error(w, "no service is routed for host "+req.Host, http.StatusServiceUnavailable)
		return
	}
	set := rt.pick()
	if set == nil {
		http.Error(w, "service "+rt.split.Service+" has no infra-set with traffic", http.StatusServiceUnavailable)
		return
	}
	ex := &exchange{ResponseWriter: w, status: http.StatusOK, start: time.Now(), route: rt, picked: set}
	// Deferred, because ReverseProxy aborts with a panic when the client
	// goes away mid-answer; the counters must still come out right.
	defer ex.count()
	r.proxy.ServeHTTP(ex, req.WithContext(context.WithValue(req.Context(), exchangeKey{}, ex)))
}

// count records the finished request on the set that served it, or on the
// picked set when no instance answered (the 502 counts against it).
func (ex *exchange) count() {
	if ex.served == nil {
		ex.picked.counters.observe(ex.status, time.Since(ex.start))
		return
	}
	ex.served.counters.inFlight.Add(-1)
	ex.served.counters.observe(ex.status, time.Since(ex.start))
}

func (ex *exchange) WriteHeader(code int) {
	if !ex.wrote {
		ex.status, ex.wrote = code, true
	}
	ex.ResponseWriter.WriteHeader(code)
}

func (ex *exchange) Write(b []byte) (int, error) {
	ex.wrote = true
	return ex.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection, for flushing
// streamed answers and for protocol upgrades.
func (ex *exchange) Unwrap() http.ResponseWriter { return ex.ResponseWriter }

// Split returns the split of a service and whether it is routed.
func (r *Router) Split(service string) (adapters.Split, bool) {
	rt, ok := r.table.Load().routes[service]
	if !ok {
		return adapters.Split{}, false
	}
	return rt.split, true
}

// SetSplit validates and applies a split atomically, then persists the table.
func (r *Router) SetSplit(split adapters.Split) error {
	if err := validateSplit(split); err != nil {
		return err
	}
	return r.update(split.Service, &split)
}

// DeleteSplit stops routing a service.
func (r *Router) DeleteSplit(service string) error {
	return r.update(service, nil)
}

func (r *Router) update(service string, split *adapters.Split) error {
	r.writeMu.Lock()
	defer r.writeMu.Unlock()
	next := r.table.Load().with(service, split, r.metrics)
	if err := saveState(r.stateFile, next); err != nil {
		return err
	}
	r.table.Store(next)
	return nil
}
