// Package server is Durable's HTTP face: the JSON API that status, the demo
// and webhooks use, and the dashboard (NewDashboard). It reads from the
// reconciler and its journal through the small interfaces it defines, and
// speaks the wire model of package api; it never imports the controller and
// never acts on targets itself: the dashboard's writes go through the
// Actions cmd gives it.
package server

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"

	"github.com/durable-delivery/durable/api"
)

// MaxEntries caps how many journal entries one request returns.
const MaxEntries = 1000

// Reconciler is what the API needs of the controller.
type Reconciler interface {
	Status(ctx context.Context) (api.Status, error)
	// Trigger asks for a fetch of the repository now.
	Trigger()
	// Branch is the branch the reconciler follows: a webhook's push to
	// another is ignored.
	Branch() string
}

// Journal is what the API needs of the journal.
type Journal interface {
	// Entries returns entries with Seq > after, oldest first, at most limit.
	Entries(ctx context.Context, after uint64, limit int) ([]api.Entry, error)
}

// JournalBackup is what the API needs of a journal that can be copied
// whole while it is written: WriteBackup calls start with the copy's size
// and writes the copy, one consistent state of it, to what start returns.
// A Journal that is one serves POST /v1/journal/backup.
type JournalBackup interface {
	WriteBackup(ctx context.Context, start func(size int64) io.Writer) (int64, error)
}

// Handler serves the API:
//
//	GET  /v1/status                    the reconciler's status
//	GET  /v1/journal?after=SEQ&limit=N journal entries after SEQ, oldest first
//	POST /v1/trigger                   fetch the repository now
//	POST /v1/journal/backup            a consistent copy of the journal file
//	                                   (a write: it holds every record)
//	POST /v1/webhooks/{kind}           a forge's push (github, gitlab, gitea,
//	                                   generic), signed with hooks' secret
//	GET  /healthz                      liveness
//
// WithMetrics adds GET /metrics.
func Handler(r Reconciler, st Journal, hooks Webhooks) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/status", func(w http.ResponseWriter, req *http.Request) {
		s, err := r.Status(req.Context())
		if err != nil {
			writeError(w, http.StatusInternalServerError, "read status: "+err.Error())
			return
		}
		writeJSON(w, http.StatusOK, s)
	})
	mux.HandleFunc("GET /v1/journal", func(w http.ResponseWriter, req *http.Request) {
		after, err := uintParam(req, "after", 0)
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		limit, err := uintParam(req, "limit", 100)
		if err != nil || limit == 0 || limit > MaxEntries {
			writeError(w, http.StatusBadRequest, "limit must be an integer from 1 to "+strconv.Itoa(MaxEntries))
			return
		}
		entries, err := st.Entries(req.Context(), after, int(limit))
		if err != nil {
			writeError(w, http.StatusInternalServerError, "read journal: "+err.Error())
			return
		}
		if entries == nil {
			entries = []api.Entry{}
		}
		writeJSON(w, http.StatusOK, entries)
	})
	mux.HandleFunc("POST /v1/trigger", func(w http.ResponseWriter, req *http.Request) {
		r.Trigger()
		writeJSON(w, http.StatusAccepted, map[string]string{"status": "fetch requested"})
	})
	mux.HandleFunc("POST /v1/journal/backup", func(w http.ResponseWriter, req *http.Request) {
		serveBackup(w, req, st)
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, req *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	// Deliveries have their own, larger, cap on the body.
	top := http.NewServeMux()
	top.Handle("POST /v1/webhooks/{kind}", newReceivers(r, hooks))
	top.Handle("/", limitBody(mux))
	return top
}

// serveBackup streams the journal's copy. It is a POST, so that the API's
// guard asks a write token: the copy holds every record, desired states and
// policies included. An error once the copy started aborts the response,
// which the client sees as a body shorter than its Content-Length.
func serveBackup(w http.ResponseWriter, req *http.Request, st Journal) {
	b, ok := st.(JournalBackup)
	if !ok {
		writeError(w, http.StatusNotImplemented, "this journal cannot be copied through the API: copy a journal file with its reconciler stopped; back a journal in etcd up with etcdctl snapshot save")
		return
	}
	started := false
	_, err := b.WriteBackup(req.Context(), func(size int64) io.Writer {
		started = true
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
		w.WriteHeader(http.StatusOK)
		return w
	})
	switch {
	case err != nil && !started:
		writeError(w, http.StatusInternalServerError, "back up the journal: "+err.Error())
	case err != nil:
		panic(http.ErrAbortHandler)
	}
}

// limitBody caps request bodies: no endpoint needs more than a small one.
func limitBody(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		req.Body = http.MaxBytesReader(w, req.Body, 64<<10)
		h.ServeHTTP(w, req)
	})
}

func uintParam(req *http.Request, name string, def uint64) (uint64, error) {
	v := req.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, &paramError{name: name, value: v}
	}
	return n, nil
}

type paramError struct{ name, value string }

func (e *paramError) Error() string {
	return "query parameter " + e.name + "=" + strconv.Quote(e.value) + " is not a non-negative integer"
}

// writeJSON encodes v before writing the header, so that a value that
// cannot be encoded is a 500 with the reason, never an empty 200.
func writeJSON(w http.ResponseWriter, code int, v any) {
	body, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		code = http.StatusInternalServerError
		body, _ = json.Marshal(map[string]string{"error": "encoding the response: " + err.Error()})
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(append(body, '\n'))
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}
