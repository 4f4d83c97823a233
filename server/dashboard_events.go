package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// keepAlive is how often an idle event stream sends a comment, so that a
// proxy between does not close it.
const keepAlive = 15 * time.Second

// events streams the status as server-sent events: an event "status" with
// the status as JSON at once and each time it changes (its time aside),
// read every Poll. It ends when the client goes or the server stops.
func (d *dashboard) events(w http.ResponseWriter, req *http.Request) {
	if d.session(req).scope < ScopeRead {
		w.Header().Set("WWW-Authenticate", `Bearer realm="durable API"`)
		writeError(w, http.StatusUnauthorized, "the event stream needs a read token: log in to the dashboard, or send `Authorization: Bearer TOKEN`")
		return
	}
	flusher, ok := w.(http.Flusher)
	if !ok {
		writeError(w, http.StatusInternalServerError, "the connection cannot stream")
		return
	}
	select {
	case d.streams <- struct{}{}:
		defer func() { <-d.streams }()
	default:
		writeError(w, http.StatusServiceUnavailable, fmt.Sprintf("%d event streams are open already: try again later", maxStreams))
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, "retry: 2000\n\n")
	flusher.Flush()
	tick := time.NewTicker(d.cfg.Poll)
	defer tick.Stop()
	var last []byte
	idle := time.Now()
	for {
		if data, err := d.statusEvent(req, last); err != nil {
			fmt.Fprintf(w, "event: error\ndata: %s\n\n", jsonString(err.Error()))
			flusher.Flush()
		} else if data != nil {
			last = data
			fmt.Fprintf(w, "event: status\ndata: %s\n\n", data)
			flusher.Flush()
			idle = time.Now()
		} else if time.Since(idle) >= keepAlive {
			fmt.Fprint(w, ": keep-alive\n\n")
			flusher.Flush()
			idle = time.Now()
		}
		select {
		case <-req.Context().Done():
			return
		case <-d.cfg.Done:
			return
		case <-tick.C:
		}
	}
}

// statusEvent is the status as one line of JSON, or nil when it is what
// was sent last (its time aside).
func (d *dashboard) statusEvent(req *http.Request, last []byte) ([]byte, error) {
	s, err := d.cfg.Reconciler.Status(req.Context())
	if err != nil {
		return nil, fmt.Errorf("read status: %w", err)
	}
	s.Time = time.Time{}
	data, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("encode status: %w", err)
	}
	if bytes.Equal(data, last) {
		return nil, nil
	}
	return data, nil
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
