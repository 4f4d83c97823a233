package router

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/durable-delivery/durable/internal/listener"
)

// Config configures Run.
type Config struct {
	// Listen is the address for the traffic.
	Listen string
	// Admin is where the admin API listens: a Unix socket by default.
	Admin listener.Config
	// AdminTokenFile holds the admin API's bearer tokens; a TCP admin API
	// needs one unless InsecureAdmin lets a loopback one go without.
	AdminTokenFile string
	InsecureAdmin  bool
	// MetricsListen, when not empty, serves the metrics alone on their own
	// address (a loopback HOST:PORT or unix:///PATH), which needs no
	// credential: Prometheus scrapes it without admin rights.
	MetricsListen string
	// AllowEndpoints are what endpoints a split may name (ParseAllow); the
	// loopback when empty.
	AllowEndpoints []string
	// StateFile keeps the splits across restarts; none when empty.
	StateFile string
	Logger    *slog.Logger
	// Drain bounds how long shutdown waits for in-flight requests before
	// closing their connections; 15s when zero.
	Drain time.Duration
}

// Addrs are where a started router listens; Metrics is nil without
// Config.MetricsListen.
type Addrs struct {
	Listen  net.Addr
	Admin   string // as a client names it: unix:///PATH or HOST:PORT
	Metrics net.Addr
}

// Run serves the proxy on cfg.Listen and the admin API on cfg.Admin until
// ctx is done, then shuts down, letting in-flight requests finish within
// cfg.Drain. ready, when not nil, is called once all listen.
func Run(ctx context.Context, cfg Config, ready func(Addrs)) error {
	addrs, wait, err := Start(ctx, cfg)
	if err != nil {
		return err
	}
	if ready != nil {
		ready(addrs)
	}
	return wait()
}

// Start is Run in the background: it returns once every address listens;
// wait, called once, returns Run's result after ctx is done.
func Start(ctx context.Context, cfg Config) (Addrs, func() error, error) {
	r, err := New(cfg.StateFile, cfg.Logger)
	if err != nil {
		return Addrs{}, nil, err
	}
	if r.allow, err = ParseAllow(cfg.AllowEndpoints); err != nil {
		return Addrs{}, nil, err
	}
	adminHandler, err := guardAdmin(r.AdminHandler(), cfg)
	if err != nil {
		return Addrs{}, nil, err
	}
	servers := &serverSet{}
	defer servers.closeUnlessStarted()
	pl, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return Addrs{}, nil, fmt.Errorf("router: listen for traffic: %w", err)
	}
	proxySrv := servers.add(r, pl)
	cfg.Admin.Flag = "--admin"
	al, err := listener.Listen(cfg.Admin)
	if err != nil {
		return Addrs{}, nil, fmt.Errorf("router: %w", err)
	}
	servers.add(adminHandler, al)
	addrs := Addrs{Listen: pl.Addr(), Admin: adminAddress(al)}
	if cfg.MetricsListen != "" {
		ml, err := listener.Listen(listener.Config{Flag: "--metrics-listen", Address: cfg.MetricsListen})
		if err != nil {
			return Addrs{}, nil, fmt.Errorf("router: %w", err)
		}
		servers.add(r.MetricsHandler(), ml)
		addrs.Metrics = ml.Addr()
	}
	servers.started = true
	return addrs, servers.serve(ctx, r.log, proxySrv, cfg.Drain), nil
}

// guardAdmin puts the admin API behind its credential: the socket's mode
// and group, or a bearer token.
func guardAdmin(h http.Handler, cfg Config) (http.Handler, error) {
	p := listener.Policy{Realm: "router admin API"}
	if cfg.AdminTokenFile != "" {
		t, err := listener.LoadTokens(cfg.AdminTokenFile)
		if err != nil {
			return nil, fmt.Errorf("router: %w", err)
		}
		p.Tokens = t
	}
	unix := strings.HasPrefix(cfg.Admin.Address, "unix://")
	switch {
	case unix && p.Tokens == nil:
		p.OpenWrites = true
	case p.Tokens == nil && cfg.InsecureAdmin:
		p.OpenWrites = true
	case p.Tokens == nil:
		return nil, fmt.Errorf("router: --admin %s is TCP and has no --token-file: any local user could change the traffic; "+
			"use --admin unix:///PATH (mode 0660, --socket-group GROUP), or give --token-file FILE", cfg.Admin.Address)
	}
	return listener.Guard(h, p), nil
}

func adminAddress(l *listener.Listener) string {
	if l.Kind == listener.Unix {
		return l.URL()
	}
	return l.Addr().String()
}

// serverSet owns the router's servers: closed together if Start fails,
// shut down together when ctx is done.
type serverSet struct {
	servers   []*http.Server
	listeners []net.Listener
	started   bool
	errs      chan error
}

func (s *serverSet) add(h http.Handler, l net.Listener) *http.Server {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	s.servers = append(s.servers, srv)
	s.listeners = append(s.listeners, l)
	return srv
}

func (s *serverSet) closeUnlessStarted() {
	if s.started {
		return
	}
	for _, l := range s.listeners {
		l.Close()
	}
}

// serve serves every server until ctx is done or one fails, then shuts
// them down, the proxy last so its in-flight requests may finish.
func (s *serverSet) serve(ctx context.Context, log *slog.Logger, proxy *http.Server, drain time.Duration) func() error {
	if drain <= 0 {
		drain = defaultDrain
	}
	s.errs = make(chan error, len(s.servers))
	for i, srv := range s.servers {
		go func() { s.errs <- srv.Serve(s.listeners[i]) }()
	}
	done := make(chan error, 1)
	// This goroutine owns the servers: it stops them when ctx is done or
	// one fails, and then the serving goroutines return.
	go func() {
		var err error
		select {
		case <-ctx.Done():
		case err = <-s.errs:
			err = fmt.Errorf("router: %w", err)
		}
		shutdownCtx, cancel := context.WithTimeout(context.Background(), drain)
		defer cancel()
		for _, srv := range s.servers {
			if srv != proxy {
				_ = srv.Shutdown(shutdownCtx)
			}
		}
		if serr := proxy.Shutdown(shutdownCtx); serr != nil {
			log.Warn("in-flight requests did not finish in time; closing their connections", "drain", drain, "err", serr)
			for _, srv := range s.servers {
				_ = srv.Close()
			}
		}
		done <- err
	}()
	return func() error { return <-done }
}

// defaultDrain bounds how long a stopping router waits for in-flight requests.
const defaultDrain = 15 * time.Second
