package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/durable-delivery/durable/adapters/agent/wire"
)

// Bounds of one call's time: what the caller asks (wire.DeadlineHeader),
// at most maxCall; defaultCall when it asks none.
const (
	maxCall     = 10 * time.Minute
	defaultCall = 2 * time.Minute
)

// Handler is the agent's API (package wire's paths), behind the check of
// the caller's certificate:
//
//	POST /v1/runtime/ensure        wire.EnsureRequest   → wire.SetStatus
//	POST /v1/runtime/observe       wire.ObserveRequest  → []wire.SetStatus
//	POST /v1/runtime/remove        wire.RemoveRequest   → wire.Done
//	POST /v1/traffic/set-split     wire.SetSplitRequest → wire.Done
//	POST /v1/traffic/split         wire.ServiceRequest  → adapters.Split
//	POST /v1/traffic/splits        wire.TrafficRequest  → []adapters.Split
//	POST /v1/traffic/remove-split  wire.ServiceRequest  → wire.Done
//	POST /v1/traffic/in-flight     wire.SetRequest      → wire.InFlight
//	POST /v1/health/set-metrics    wire.SetRequest      → adapters.SetMetrics
//	POST /v1/fence                 wire.FenceRequest    → []wire.Fenced
//
// Any call may carry a fencing token (wire.FenceHeader); one below the
// highest seen for its shard is refused before anything is done.
func (a *Agent) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("POST "+wire.PathEnsure, call(a, a.ensure))
	mux.Handle("POST "+wire.PathObserve, call(a, a.observe))
	mux.Handle("POST "+wire.PathRemove, call(a, a.remove))
	mux.Handle("POST "+wire.PathSetSplit, call(a, a.setSplit))
	mux.Handle("POST "+wire.PathSplit, call(a, a.split))
	mux.Handle("POST "+wire.PathSplits, call(a, a.splits))
	mux.Handle("POST "+wire.PathRemoveSplit, call(a, a.removeSplit))
	mux.Handle("POST "+wire.PathInFlight, call(a, a.inFlight))
	mux.Handle("POST "+wire.PathSetMetrics, call(a, a.setMetrics))
	mux.Handle("POST "+wire.PathFence, call(a, a.fence))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, wire.Error{Code: wire.CodeNotFound, Message: fmt.Sprintf("no call %s %s in the agent's API v1", r.Method, r.URL.Path)})
	})
	return a.authorize(a.fenced(mux))
}

// fenced refuses a call whose fencing token is below the highest its
// shard has seen, and keeps a higher one before the call acts.
func (a *Agent) fenced(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v := r.Header.Get(wire.FenceHeader)
		if v == "" {
			next.ServeHTTP(w, r)
			return
		}
		tokens, err := wire.ParseFences(v)
		if err != nil {
			writeError(w, http.StatusBadRequest, wire.Error{Code: wire.CodeInvalid, Message: err.Error()})
			return
		}
		high, err := a.fences.admit(tokens)
		if err != nil {
			a.log.Warn("call refused: fenced", "tokens", v, "err", err, "path", r.URL.Path, "caller", r.Context().Value(callerKey{}))
			status, body := wire.ErrorOf(err)
			writeError(w, status, body)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), fenceKey{}, high)))
	})
}

type fenceKey struct{}

// authorize serves a call only from a client whose verified certificate
// carries an allowed name; the TLS handshake has already refused a client
// without a certificate the CA signed.
func (a *Agent) authorize(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 {
			writeError(w, http.StatusForbidden, wire.Error{Code: wire.CodeForbidden, Message: "the agent serves only callers with a verified client certificate"})
			return
		}
		leaf := r.TLS.VerifiedChains[0][0]
		names := append([]string{leaf.Subject.CommonName}, leaf.DNSNames...)
		for _, n := range names {
			if a.allow[n] {
				next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), callerKey{}, n)))
				return
			}
		}
		a.log.Warn("call refused: certificate not allowed", "names", names, "path", r.URL.Path, "remote", r.RemoteAddr)
		writeError(w, http.StatusForbidden, wire.Error{Code: wire.CodeForbidden,
			Message: fmt.Sprintf("the agent does not allow a client certificate named %q: the agent's operator adds the name with --allow", leaf.Subject.CommonName)})
	})
}

type callerKey struct{}

// call decodes a request of type Req strictly and bounded, runs do within
// the call's deadline and writes its answer or its error.
func call[Req any](a *Agent, do func(context.Context, Req) (any, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req Req
		if err := wire.Decode(http.MaxBytesReader(w, r.Body, wire.MaxRequest), &req); err != nil {
			status := http.StatusBadRequest
			if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
				status = http.StatusRequestEntityTooLarge
			}
			writeError(w, status, wire.Error{Code: wire.CodeInvalid, Message: fmt.Sprintf("%s: the body is not a request of this call: %v", r.URL.Path, err)})
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), callTime(r))
		defer cancel()
		start := time.Now()
		out, err := do(ctx, req)
		log := a.log.With("call", r.URL.Path, "caller", r.Context().Value(callerKey{}), "took", time.Since(start))
		if err != nil {
			status, body := wire.ErrorOf(err)
			level := slog.LevelInfo
			if status == http.StatusNotFound { // asked often: a split or a set not there yet
				level = slog.LevelDebug
			}
			log.Log(ctx, level, "call failed", "status", status, "err", err)
			writeError(w, status, body)
			return
		}
		log.Debug("call served")
		writeJSON(w, http.StatusOK, out)
	})
}

// callTime is how long the call may take: what the caller has left, within
// the agent's bound.
func callTime(r *http.Request) time.Duration {
	ms, err := strconv.ParseInt(r.Header.Get(wire.DeadlineHeader), 10, 64)
	if err != nil || ms <= 0 {
		return defaultCall
	}
	return min(time.Duration(ms)*time.Millisecond, maxCall)
}

func writeError(w http.ResponseWriter, status int, e wire.Error) { writeJSON(w, status, e) }

// writeJSON encodes v before writing the header, so that a value that does
// not encode is a 500, not half an answer.
func writeJSON(w http.ResponseWriter, status int, v any) {
	var b bytes.Buffer
	if err := json.NewEncoder(&b).Encode(v); err != nil {
		status = http.StatusInternalServerError
		b.Reset()
		_ = json.NewEncoder(&b).Encode(wire.Error{Code: wire.CodeInternal, Message: "encode the answer: " + err.Error()})
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(b.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}
