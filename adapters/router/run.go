package router

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Config configures Run.
type Config struct {
	// Listen is the address for the traffic; Admin for the admin API.
	Listen string
	Admin  string
	// StateFile keeps the splits across restarts; none when empty.
	StateFile string
	Logger    *slog.Logger
	// Drain bounds how long shutdown waits for in-flight requests before
	// closing their connections; 15s when zero.
	Drain time.Duration
}

// Run serves the proxy on cfg.Listen and the admin API on cfg.Admin until
// ctx is done, then shuts down, letting in-flight requests finish within
// cfg.Drain. ready, when not nil, is called once both listen.
func Run(ctx context.Context, cfg Config, ready func(listen, admin net.Addr)) error {
	listen, admin, wait, err := Start(ctx, cfg)
	if err != nil {
		return err
	}
	if ready != nil {
		ready(listen, admin)
	}
	return wait()
}

// Start is Run in the background: it returns once both addresses listen;
// wait, called once, returns Run's result after ctx is done.
func Start(ctx context.Context, cfg Config) (listen, admin net.Addr, wait func() error, err error) {
	r, err := New(cfg.StateFile, cfg.Logger)
	if err != nil {
		return nil, nil, nil, err
	}
	drain := cfg.Drain
	if drain <= 0 {
		drain = defaultDrain
	}
	pl, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("router: listen for traffic: %w", err)
	}
	al, err := listenLoopback(cfg.Admin)
	if err != nil {
		pl.Close()
		return nil, nil, nil, err
	}
	proxySrv := &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second}
	adminSrv := &http.Server{Handler: r.AdminHandler(), ReadHeaderTimeout: 10 * time.Second}
	errs := make(chan error, 2)
	go func() { errs <- proxySrv.Serve(pl) }()
	go func() { errs <- adminSrv.Serve(al) }()
	done := make(chan error, 1)
	// This goroutine owns both servers: it stops them when ctx is done or
	// one fails, and then the serving goroutines return.
	go func() {
		var err error
		select {
		case <-ctx.Done():
		case err = <-errs:
			err = fmt.Errorf("router: %w", err)
		}
		shutdownCtx, cancel := context.WithTimeout(context.Background(), drain)
		defer cancel()
		_ = adminSrv.Shutdown(shutdownCtx)
		if serr := proxySrv.Shutdown(shutdownCtx); serr != nil {
			r.log.Warn("in-flight requests did not finish in time; closing their connections", "drain", drain, "err", serr)
			_ = adminSrv.Close()
			_ = proxySrv.Close()
		}
		done <- err
	}()
	return pl.Addr(), al.Addr(), func() error { return <-done }, nil
}

// defaultDrain bounds how long a stopping router waits for in-flight requests.
const defaultDrain = 15 * time.Second

// listenLoopback listens for the admin API, which has no authentication and
// so must only be reachable from the machine itself.
func listenLoopback(addr string) (net.Listener, error) {
	notLoopback := fmt.Errorf("router: admin API address %q is not on loopback; the admin API has no authentication: use 127.0.0.1:PORT", addr)
	// Refuse what is plainly public before binding it even for a moment.
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("router: admin API address %q is not HOST:PORT: use 127.0.0.1:PORT", addr)
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && !ip.IsLoopback() {
		return nil, notLoopback
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("router: listen for the admin API: %w", err)
	}
	// A host name is checked by what it resolved to.
	if tcp, ok := l.Addr().(*net.TCPAddr); !ok || !tcp.IP.IsLoopback() {
		l.Close()
		return nil, notLoopback
	}
	return l, nil
}
