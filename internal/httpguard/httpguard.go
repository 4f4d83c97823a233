// Package httpguard bounds HTTP requests to a dependency that may hang: a
// registry, a Prometheus, an admin API. A server that accepts and never
// answers fails the request after the header timeout; one that sends its
// headers and then stalls fails it once no byte came for the idle timeout,
// however long the body, so a slow but moving download of a large layer
// goes on. It imports nothing of the project: adapters and signing share it.
package httpguard

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// Timeouts of a guarded transport.
type Timeouts struct {
	// Connect bounds the TCP connection and the TLS handshake each.
	Connect time.Duration
	// Header bounds the wait for the response's headers once the request
	// is sent.
	Header time.Duration
	// Idle bounds the wait for each next byte of the body.
	Idle time.Duration
}

// Defaults are the timeouts to a registry: generous for a loaded one, far
// below a progress deadline.
var Defaults = Timeouts{Connect: 10 * time.Second, Header: 30 * time.Second, Idle: 60 * time.Second}

// ErrStalled is the cause of a request ended because its body stopped.
var ErrStalled = errors.New("httpguard: the server stopped sending")

// Transport returns net/http's default transport (proxies from the
// environment, keep-alives, HTTP/2) with the timeouts.
func Transport(t Timeouts) http.RoundTripper {
	base := http.DefaultTransport.(*http.Transport).Clone()
	base.DialContext = (&net.Dialer{Timeout: t.Connect, KeepAlive: 30 * time.Second}).DialContext
	base.TLSHandshakeTimeout = t.Connect
	base.ResponseHeaderTimeout = t.Header
	return &stallGuard{base: base, idle: t.Idle}
}

// stallGuard ends a response whose body gives no byte for idle.
type stallGuard struct {
	base http.RoundTripper
	idle time.Duration
}

func (g *stallGuard) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithCancelCause(req.Context())
	resp, err := g.base.RoundTrip(req.WithContext(ctx))
	if err != nil {
		cancel(nil)
		return nil, err
	}
	why := fmt.Errorf("%w: no byte of %s %s for %s", ErrStalled, req.Method, req.URL.Redacted(), g.idle)
	b := &guardedBody{body: resp.Body, idle: g.idle, cancel: cancel, ctx: ctx}
	b.timer = time.AfterFunc(g.idle, func() { cancel(why) })
	resp.Body = b
	return resp, nil
}

type guardedBody struct {
	body   io.ReadCloser
	idle   time.Duration
	timer  *time.Timer
	cancel context.CancelCauseFunc
	ctx    context.Context
}

func (b *guardedBody) Read(p []byte) (int, error) {
	n, err := b.body.Read(p)
	if n > 0 {
		b.timer.Reset(b.idle)
	}
	if cause := context.Cause(b.ctx); err != nil && err != io.EOF && errors.Is(cause, ErrStalled) {
		err = fmt.Errorf("%w (%v)", cause, err)
	}
	return n, err
}

func (b *guardedBody) Close() error {
	b.timer.Stop()
	err := b.body.Close()
	b.cancel(nil)
	return err
}
