// Package remote is the adapter that drives another host's adapters through
// its durable agent (package agent, API in package wire): a Runtime, and a
// Traffic that is also a SplitLister, a SplitRemover and a HealthSource,
// each naming the adapter kind and configuration the agent builds on its
// host. The reconciler cannot tell it from a local adapter.
//
// It speaks only mutual TLS 1.3: it presents the reconciler's certificate,
// trusts only the given CA (never the system's roots) and checks that the
// agent's certificate names the host the caller expects (an inventory host
// name), wherever the address leads. Every call has a deadline (the
// caller's, or DefaultTimeout) that the agent is told as well, and every
// call is idempotent, so that a retry after a timeout is safe. It must
// never import reconcile, schema, policy or source.
package remote

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/durable-delivery/durable/adapters"
	"github.com/durable-delivery/durable/adapters/agent/wire"
	"github.com/durable-delivery/durable/internal/listener"
)

// DefaultTimeout bounds a call whose context has no deadline.
const DefaultTimeout = 2 * time.Minute

// dialTimeout bounds connecting to an agent; keepAlive probes a
// connection silent for 2s every second, and gives it up after 3 probes
// unanswered: a cut-off agent is found within about 5s.
const dialTimeout = 3 * time.Second

var keepAlive = net.KeepAliveConfig{Enable: true, Idle: 2 * time.Second, Interval: time.Second, Count: 3}

// maxTimeout bounds any call, whatever its context: the agent's own bound.
const maxTimeout = 10 * time.Minute

// Config says how to reach one agent.
type Config struct {
	// Address is the agent's HOST:PORT.
	Address string
	// Host is the name the agent's certificate must carry: the host's name
	// in the inventory ("a1").
	Host string
	// CA is the PEM bundle the agent's certificate must chain to; Cert and
	// Key the reconciler's client certificate and key.
	CA, Cert, Key string
	// Fences, when any is given, go with every call: the agent refuses the
	// call once it saw a higher token of one of their shards (a newer
	// owner's).
	Fences []Fence
}

// Fence is a caller's fencing token in a shard: the create revision of
// the key through which it owns the shard.
type Fence struct {
	Shard string
	Token uint64
}

// Agent is a connection to one agent, shared by the adapters of every
// target on its host. It is safe for concurrent use.
type Agent struct {
	host  string
	base  string
	http  *http.Client
	fence string // the FenceHeader value, or ""
}

// New returns a client of the agent cfg names. It reads the certificate
// files now; it does not connect until the first call.
func New(cfg Config) (*Agent, error) {
	if cfg.Host == "" {
		return nil, fmt.Errorf("remote: no host name: give the name the agent's certificate carries: %w", adapters.ErrInvalid)
	}
	if cfg.CA == "" || cfg.Cert == "" || cfg.Key == "" {
		return nil, fmt.Errorf("remote: agent %s: give the fleet's CA and the reconciler's certificate and key: an agent is reached only over mutual TLS: %w", cfg.Host, adapters.ErrInvalid)
	}
	if _, _, err := net.SplitHostPort(cfg.Address); err != nil {
		return nil, fmt.Errorf("remote: agent %s: address %q is not HOST:PORT: %w", cfg.Host, cfg.Address, adapters.ErrInvalid)
	}
	lc, err := listener.NewClient(listener.ClientConfig{Address: "https://" + cfg.Address, CA: cfg.CA, Cert: cfg.Cert, Key: cfg.Key, Timeout: maxTimeout})
	if err != nil {
		return nil, fmt.Errorf("remote: agent %s: %w: %w", cfg.Host, err, adapters.ErrInvalid)
	}
	tr := lc.HTTP.Transport.(*http.Transport)
	tr.TLSClientConfig.ServerName = cfg.Host
	tr.TLSClientConfig.MinVersion = tls.VersionTLS13
	// An agent is reached directly, whatever proxy the environment names.
	tr.Proxy = nil
	// A reconciler's pass calls an agent for many targets at once.
	tr.MaxIdleConnsPerHost = 16
	// A host cut off must show as unavailable in seconds, not when a long
	// call's deadline ends: a connection is dialled within dialTimeout, and
	// TCP keep-alive probes and TCP_USER_TIMEOUT (sockopt_linux.go) close
	// one whose peer stops answering, failing the call waiting on it.
	tr.DialContext = (&net.Dialer{Timeout: dialTimeout, KeepAliveConfig: keepAlive, Control: control}).DialContext
	a := &Agent{host: cfg.Host, base: lc.Base, http: lc.HTTP}
	if len(cfg.Fences) > 0 {
		tokens := make([]wire.Fenced, len(cfg.Fences))
		for i, f := range cfg.Fences {
			tokens[i] = wire.Fenced{Shard: f.Shard, Token: f.Token}
		}
		if _, err := wire.ParseFences(wire.FormatFences(tokens)); err != nil {
			return nil, fmt.Errorf("remote: agent %s: %w: %w", cfg.Host, err, adapters.ErrInvalid)
		}
		a.fence = wire.FormatFences(tokens)
	}
	return a, nil
}

// CloseIdleConnections ends the connections kept for later calls.
func (a *Agent) CloseIdleConnections() { a.http.CloseIdleConnections() }

// call posts req to path and decodes the answer into out (when not nil).
// The request carries an Idempotency-Key: every call of the API is
// idempotent, which also lets the transport send it again on a fresh
// connection when a kept one turns out closed (an agent restarted).
func (a *Agent) call(ctx context.Context, path string, req, out any) error {
	body, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("agent %s %s: encode: %w", a.host, path, err)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultTimeout)
		defer cancel()
	}
	deadline, _ := ctx.Deadline()
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, a.base+path, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("agent %s %s: %w", a.host, path, err)
	}
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Idempotency-Key", callID())
	if a.fence != "" {
		r.Header.Set(wire.FenceHeader, a.fence)
	}
	r.Header.Set(wire.DeadlineHeader, strconv.FormatInt(max(time.Until(deadline).Milliseconds(), 1), 10))
	resp, err := a.http.Do(r)
	if err != nil {
		return a.unreachable(path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, wire.MaxAnswer+1))
	if err != nil {
		return a.unreachable(path, err)
	}
	if len(b) > wire.MaxAnswer {
		return fmt.Errorf("agent %s %s: an answer over %d bytes: %w", a.host, path, wire.MaxAnswer, adapters.ErrUnavailable)
	}
	if resp.StatusCode != http.StatusOK {
		var e wire.Error
		_ = json.Unmarshal(b, &e)
		return fmt.Errorf("agent %s %s: %w", a.host, path, e.Err(resp.StatusCode))
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("agent %s %s: decode the answer: %w", a.host, path, err)
	}
	return nil
}

// unreachable is a call that got no answer: the agent is down, cut off,
// refused the TLS handshake, or the deadline passed. The target is then
// unavailable, not failed.
func (a *Agent) unreachable(path string, err error) error {
	why := "the agent is unreachable or not answering"
	var verr *tls.CertificateVerificationError
	switch {
	case errors.As(err, &verr):
		why = "the agent's certificate is not trusted or does not name host " + a.host
	case strings.Contains(err.Error(), "remote error: tls:"): // the alert's type is crypto/tls's own
		why = "the agent refused the TLS handshake: the reconciler's certificate must chain to the agent's --client-ca"
	}
	return fmt.Errorf("agent %s %s: %s: %w: %w", a.host, path, why, adapters.ErrUnavailable, err)
}

// callID names one call in the agent's logs.
func callID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// CheckCredentials reads the fleet's CA and a reconciler's certificate and
// key as New does, so that a reconciler refuses to start with files it
// could not present, rather than when it first calls an agent.
func CheckCredentials(ca, cert, key string) error {
	_, err := New(Config{Address: "localhost:0", Host: "check", CA: ca, Cert: cert, Key: key})
	return err
}

// SendFence gives the agent this caller's fencing tokens at once, before
// any action: a former owner of one of the shards is refused from then on.
// It answers the highest token the agent holds for each shard.
func (a *Agent) SendFence(ctx context.Context) ([]wire.Fenced, error) {
	var out []wire.Fenced
	if a.fence == "" {
		return out, fmt.Errorf("agent %s: no fencing token to send: %w", a.host, adapters.ErrInvalid)
	}
	err := a.call(ctx, wire.PathFence, wire.FenceRequest{}, &out)
	return out, err
}
