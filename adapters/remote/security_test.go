package remote

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/durable-delivery/durable/adapters"
	"github.com/durable-delivery/durable/adapters/agent/wire"
)

// routerAdapter is what the router's traffic adapter is, locally or not.
type routerAdapter interface {
	adapters.Traffic
	adapters.SplitLister
	adapters.SplitRemover
	adapters.HealthSource
}

// everyCall makes each call of the API through a client of the agent, and
// returns the errors by call.
func everyCall(a *Agent) map[string]error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return everyCallWith(ctx, a)
}

// everyCallWith is everyCall within ctx.
func everyCallWith(ctx context.Context, a *Agent) map[string]error {
	rt := a.Runtime("process", nil)
	tr := a.Traffic("router", json.RawMessage(`{"admin": "edge"}`)).(routerAdapter)
	split := adapters.Split{Service: "web", Backends: []adapters.Backend{{Set: "s1", Weight: 100, Endpoints: []string{"127.0.0.1:9"}}}}
	errs := map[string]error{}
	_, errs["ensure"] = rt.Ensure(ctx, adapters.InfraSetSpec{ID: "refused", Service: "web", Release: "r1", Artifact: "127.0.0.1:1/x@sha256:" + strings.Repeat("0", 64), Replicas: 1})
	_, errs["observe"] = rt.Observe(ctx)
	errs["remove"] = rt.Remove(ctx, "refused", time.Second)
	errs["set-split"] = tr.SetSplit(ctx, split)
	_, errs["split"] = tr.Split(ctx, "web")
	_, errs["splits"] = tr.Splits(ctx)
	errs["remove-split"] = tr.RemoveSplit(ctx, "web")
	_, errs["in-flight"] = tr.InFlight(ctx, "web", "s1")
	_, errs["set-metrics"] = tr.SetMetrics(ctx, "web", "s1")
	return errs
}

// mustRefuseAll fails unless every call failed as unavailable, saying why.
func mustRefuseAll(t *testing.T, errs map[string]error, why string) {
	t.Helper()
	for call, err := range errs {
		if !errors.Is(err, adapters.ErrUnavailable) || !strings.Contains(err.Error(), why) {
			t.Errorf("%s: %v, want ErrUnavailable saying %q", call, err, why)
		}
	}
}

// nothingDone fails if the agent at addr changed anything: no set runs,
// the router routes nothing.
func nothingDone(t *testing.T, addr, host string) {
	t.Helper()
	a := dial(t, addr, host, reconcilerName)
	sets, err := a.Runtime("process", nil).Observe(context.Background())
	if err != nil || len(sets) != 0 {
		t.Errorf("sets after refused calls: %+v, %v", sets, err)
	}
	splits, err := a.Traffic("router", json.RawMessage(`{"admin": "edge"}`)).(routerAdapter).Splits(context.Background())
	if err != nil || len(splits) != 0 {
		t.Errorf("splits after refused calls: %+v, %v", splits, err)
	}
}

// TestAgentRefusesAnUntrustedClientCertificate: a client certificate of
// another CA fails the handshake, one of the fleet's CA whose name the
// agent does not allow is answered 403, on every call, and nothing is done.
func TestAgentRefusesAnUntrustedClientCertificate(t *testing.T) {
	_, host := startRouter(t)
	addr := startAgent(t, agentOptions{host: host})
	mustRefuseAll(t, everyCall(dial(t, addr, "a1", "intruder")), "the agent refused the TLS handshake")
	mustRefuseAll(t, everyCall(dial(t, addr, "a1", "stranger")), `does not allow a client certificate named "stranger"`)
	for _, path := range []string{wire.PathEnsure, wire.PathObserve, wire.PathSetSplit, "/v1/unknown"} {
		if resp, err := rawClient(t, "intruder", "a1").Post("https://"+addr+path, "application/json", strings.NewReader("{}")); err == nil {
			resp.Body.Close()
			t.Errorf("%s by an intruder presenting its certificate: %s", path, resp.Status)
		}
		resp, err := rawClient(t, "stranger", "a1").Post("https://"+addr+path, "application/json", strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s by a stranger: %s, want 403", path, resp.Status)
		}
	}
	nothingDone(t, addr, "a1")
}

// TestAgentGivesNothingWithoutAClientCertificate: a client that presents
// no certificate gets no answer at all.
func TestAgentGivesNothingWithoutAClientCertificate(t *testing.T) {
	_, host := startRouter(t)
	addr := startAgent(t, agentOptions{host: host})
	c := rawClient(t, "", "a1")
	for _, path := range []string{wire.PathObserve, wire.PathSetSplit, "/"} {
		resp, err := c.Post("https://"+addr+path, "application/json", strings.NewReader(`{"runtime": {"kind": "process"}}`))
		if err == nil {
			resp.Body.Close()
			t.Fatalf("%s without a client certificate: %s", path, resp.Status)
		}
	}
	// Nor over TLS 1.2, which the agent does not speak.
	c.Transport.(*http.Transport).TLSClientConfig.MaxVersion = tls.VersionTLS12
	if resp, err := c.Get("https://" + addr + "/"); err == nil {
		resp.Body.Close()
		t.Fatal("TLS 1.2 was accepted")
	}
	nothingDone(t, addr, "a1")
}

// TestAgentClientRefusesAnAgentNamedOtherwise: a client that expects host
// a1 refuses an agent whose certificate names a2, though the fleet's CA
// signed it, before sending anything.
func TestAgentClientRefusesAnAgentNamedOtherwise(t *testing.T) {
	_, host := startRouter(t)
	addr := startAgent(t, agentOptions{name: "a2", host: host})
	mustRefuseAll(t, everyCall(dial(t, addr, "a1", reconcilerName)), "does not name host a1")
	nothingDone(t, addr, "a2")
	if _, err := New(Config{Address: addr, Host: "a2"}); !errors.Is(err, adapters.ErrInvalid) {
		t.Errorf("a client without certificates: %v, want ErrInvalid", err)
	}
}

// rawClient is an HTTPS client of an agent named host presenting the
// certificate of caller (none when empty), for calls the remote adapter
// would never send.
func rawClient(t *testing.T, caller, host string) *http.Client {
	t.Helper()
	dir := pki(t)
	caPEM, err := os.ReadFile(filepath.Join(dir, "ca", "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	cfg := &tls.Config{RootCAs: pool, ServerName: host}
	if caller != "" {
		pair, err := tls.LoadX509KeyPair(certOf(dir, caller))
		if err != nil {
			t.Fatal(err)
		}
		// Presented whatever CAs the agent asks for, as a hostile client would.
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &pair, nil }
	}
	tr := &http.Transport{TLSClientConfig: cfg}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: time.Minute}
}

// TestAgentRefusesHostileBodies: bodies over the bound are 413, bodies that
// are not exactly a request of the call are 400, each with a typed error,
// and nothing is done.
func TestAgentRefusesHostileBodies(t *testing.T) {
	_, host := startRouter(t)
	addr := startAgent(t, agentOptions{host: host})
	c := rawClient(t, reconcilerName, "a1")
	huge := `{"runtime": {"kind": "process"}, "spec": {"id": "x", "args": ["` + strings.Repeat("a", wire.MaxRequest) + `"]}}`
	cases := []struct {
		name, path, body string
		status           int
	}{
		{"oversized", wire.PathEnsure, huge, http.StatusRequestEntityTooLarge},
		{"not JSON", wire.PathObserve, "runtime: process", http.StatusBadRequest},
		{"empty", wire.PathObserve, "", http.StatusBadRequest},
		{"unknown field", wire.PathObserve, `{"runtime": {"kind": "process"}, "sudo": true}`, http.StatusBadRequest},
		{"unknown nested field", wire.PathEnsure, `{"runtime": {"kind": "process"}, "spec": {"id": "x", "command": "/bin/sh"}}`, http.StatusBadRequest},
		{"two values", wire.PathObserve, `{"runtime": {"kind": "process"}} {"runtime": {"kind": "process"}}`, http.StatusBadRequest},
		{"wrong type", wire.PathEnsure, `{"runtime": {"kind": "process"}, "spec": {"replicas": "many"}}`, http.StatusBadRequest},
		{"deep nesting", wire.PathObserve, strings.Repeat("[", 100000), http.StatusBadRequest},
		{"bad duration", wire.PathRemove, `{"runtime": {"kind": "process"}, "id": "x", "grace": "forever"}`, http.StatusBadRequest},
		{"negative duration", wire.PathRemove, `{"runtime": {"kind": "process"}, "id": "x", "grace": "-1s"}`, http.StatusBadRequest},
		{"unknown kind", wire.PathObserve, `{"runtime": {"kind": "ssh"}}`, http.StatusBadRequest},
		{"bad adapter config", wire.PathObserve, `{"runtime": {"kind": "process", "config": {"shell": "/bin/sh"}}}`, http.StatusBadRequest},
		{"router not in the host file", wire.PathSplits, `{"traffic": {"kind": "router", "config": {"admin": "/run/other.sock"}}}`, http.StatusBadRequest},
		{"set id with a control character", wire.PathRemove, `{"runtime": {"kind": "process"}, "id": "x\u0000y", "grace": "1s"}`, http.StatusBadRequest},
		{"no such call", "/v1/runtime/exec", `{}`, http.StatusNotFound},
		{"no such version", "/v2/runtime/observe", `{"runtime": {"kind": "process"}}`, http.StatusNotFound},
	}
	for _, tc := range cases {
		resp, err := c.Post("https://"+addr+tc.path, "application/json", strings.NewReader(tc.body))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var e wire.Error
		if resp.StatusCode != tc.status || json.Unmarshal(b, &e) != nil || e.Code == "" || e.Message == "" {
			t.Errorf("%s: %s %s, want %d with a typed error", tc.name, resp.Status, bytes.TrimSpace(b), tc.status)
		}
	}
	resp, err := c.Get("https://" + addr + wire.PathObserve)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		t.Errorf("GET %s: %s", wire.PathObserve, resp.Status)
	}
	nothingDone(t, addr, "a1")
}
