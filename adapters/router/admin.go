package router

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/durable-delivery/durable/adapters"
)

// maxAdminBody caps an admin request body.
const maxAdminBody = 1 << 20

// AdminHandler serves the admin API (Run guards it: a Unix socket, or a
// token; see docs/operating.md):
//
//	PUT    /v1/splits/{service}  replace the service's split (adapters.Split)
//	DELETE /v1/splits/{service}  stop routing the service
//	GET    /v1/splits[/{service}]
//	GET    /v1/metrics           service → set → counters and in-flight
//	GET    /healthz
func (r *Router) AdminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("PUT /v1/splits/{service}", func(w http.ResponseWriter, req *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, maxAdminBody))
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("request body over %d bytes: send one service's split", maxAdminBody))
			return
		}
		if err != nil {
			writeError(w, http.StatusBadRequest, "reading the request body: "+err.Error())
			return
		}
		var split adapters.Split
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&split); err != nil {
			writeError(w, http.StatusBadRequest, "body is not a split ({\"service\": …, \"backends\": [{\"set\", \"weight\", \"endpoints\"}]}): "+err.Error())
			return
		}
		// dec.More is false before a stray '}' or ']': only the end of
		// the body ends the split.
		if _, err := dec.Token(); !errors.Is(err, io.EOF) {
			writeError(w, http.StatusBadRequest, "body holds more than one JSON value, or text after the split: send one split")
			return
		}
		if split.Service != req.PathValue("service") {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("split is for service %q but the path names %q: make them agree", split.Service, req.PathValue("service")))
			return
		}
		if err := validateSplit(split); err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		if err := r.checkAllowed(split); err != nil {
			writeError(w, http.StatusForbidden, err.Error())
			return
		}
		if err := r.SetSplit(split); err != nil {
			writeError(w, http.StatusInternalServerError, err.Error())
			return
		}
		writeJSON(w, http.StatusOK, split)
	})
	mux.HandleFunc("DELETE /v1/splits/{service}", func(w http.ResponseWriter, req *http.Request) {
		if err := r.DeleteSplit(req.PathValue("service")); err != nil {
			writeError(w, http.StatusInternalServerError, err.Error())
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /v1/splits", func(w http.ResponseWriter, req *http.Request) {
		writeJSON(w, http.StatusOK, r.table.Load().splits())
	})
	mux.HandleFunc("GET /v1/splits/{service}", func(w http.ResponseWriter, req *http.Request) {
		split, ok := r.Split(req.PathValue("service"))
		if !ok {
			writeError(w, http.StatusNotFound, "service "+req.PathValue("service")+" is not routed")
			return
		}
		writeJSON(w, http.StatusOK, split)
	})
	metrics := r.MetricsHandler()
	mux.Handle("GET /v1/metrics", metrics)
	mux.Handle("GET /healthz", metrics)
	return mux
}

// checkAllowed refuses a split that names an endpoint the operator does not
// allow (--allow-endpoints).
func (r *Router) checkAllowed(s adapters.Split) error {
	for i, b := range s.Backends {
		for _, ep := range b.Endpoints {
			if err := r.allow.Check(ep); err != nil {
				return fmt.Errorf("backends[%d]: %w", i, err)
			}
		}
	}
	return nil
}

// MetricsHandler serves the metrics alone, for a listener Prometheus may
// reach without admin rights (--metrics-listen):
//
//	GET /v1/metrics  service → set → counters and in-flight (JSON)
//	GET /metrics     the same in Prometheus' exposition format, by status
//	                 code, with the Go runtime's and the process's
//	GET /healthz
func (r *Router) MetricsHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", r.prometheus)
	mux.HandleFunc("GET /v1/metrics", func(w http.ResponseWriter, req *http.Request) {
		writeJSON(w, http.StatusOK, r.metrics.snapshot())
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, req *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	return mux
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}

// apiError is an error answer of the admin API.
type apiError struct {
	status int
	msg    string
	path   string
}

func (e *apiError) Error() string {
	return fmt.Sprintf("router admin API %s: %d: %s", e.path, e.status, e.msg)
}

func (e *apiError) Unwrap() error {
	switch e.status {
	case http.StatusNotFound:
		return adapters.ErrNotFound
	case http.StatusBadRequest:
		return adapters.ErrInvalid
	}
	return adapters.ErrUnavailable
}
