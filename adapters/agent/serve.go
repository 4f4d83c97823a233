package agent

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/durable-delivery/durable/internal/listener"
)

// Listen binds the agent's listener: TCP with TLS 1.3 and a client
// certificate required and verified against lc.ClientCA. An agent without
// them is refused: it changes what runs on the host.
func Listen(lc listener.Config) (*listener.Listener, error) {
	if lc.TLSCert == "" || lc.TLSKey == "" || lc.ClientCA == "" {
		return nil, errors.New("agent: give --tls-cert, --tls-key and --client-ca: the agent serves only over mutual TLS (durable certs makes a CA and certificates to try it)")
	}
	lc.TLSMinVersion = tls.VersionTLS13
	return listener.Listen(lc)
}

// Serve serves a's API on l until ctx ends, then lets calls in flight
// finish (within a grace) and releases the adapters.
func Serve(ctx context.Context, a *Agent, l net.Listener) error {
	srv := &http.Server{
		Handler:           a.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute, // a request is at most wire.MaxRequest

		IdleTimeout:    2 * time.Minute,
		MaxHeaderBytes: 64 << 10,
		// Refused handshakes (no certificate, an untrusted one) are the
		// server's to log: as warnings of the agent's own.
		ErrorLog:    slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
		BaseContext: func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		shutdown, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err = srv.Shutdown(shutdown)
		cancel()
		<-done
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	if cerr := a.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("agent: close adapters: %w", cerr)
	}
	return err
}
