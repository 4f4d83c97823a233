// Package exec is the escape hatch: a runtime or traffic adapter implemented
// by a user's executable, for infrastructure Durable ships no adapter for
// (VMs over SSH, a cloud load balancer, a service registry).
//
// In the one-shot form each call runs the executable once with a JSON
// request on its standard input and reads one JSON response from its
// standard output. In the long-lived form (the host file's longLived) one
// process per adapter answers calls as JSON lines, and is restarted when it
// dies. Both bound each call by a timeout and what it prints by a cap.
// docs/adapters.md documents the protocol. The package knows nothing of Git, CUE, policies or the journal.
package exec

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/durable-delivery/durable/adapters"
	"github.com/durable-delivery/durable/adapters/exec/settings"
)

// ProtocolVersion is sent in every request; an executable refuses a version
// it does not speak.
const ProtocolVersion = 1

// MaxOutput caps what the executable may print on standard output for one
// call: its whole output in the one-shot form, one line in the long-lived.
// An observe or splits of 10,000 services is a few MiB.
const MaxOutput = 16 << 20

// DefaultTimeout bounds one call when the configuration sets none.
const DefaultTimeout = 30 * time.Second

// request is what the executable reads on standard input.
type request struct {
	Version int             `json:"version"`
	Op      string          `json:"op"`
	Spec    *specJSON       `json:"spec,omitempty"`
	ID      string          `json:"id,omitempty"`
	Grace   string          `json:"grace,omitempty"`
	Service string          `json:"service,omitempty"`
	Set     string          `json:"set,omitempty"`
	Split   *adapters.Split `json:"split,omitempty"`
}

// specJSON is an infra-set instruction as the executable sees it.
type specJSON struct {
	ID       string            `json:"id"`
	Service  string            `json:"service"`
	Release  string            `json:"release"`
	Artifact string            `json:"artifact"`
	Args     []string          `json:"args"`
	Env      map[string]string `json:"env"`
	Port     int               `json:"port"`
	Replicas int               `json:"replicas"`
}

// response is what the executable prints on standard output: a result, or
// an error whose kind maps to the adapters' typed errors.
type response struct {
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Kind    string `json:"kind"`
		Message string `json:"message"`
	} `json:"error"`
}

var errorKinds = map[string]error{
	"invalid":     adapters.ErrInvalid,
	"not-found":   adapters.ErrNotFound,
	"conflict":    adapters.ErrConflict,
	"unavailable": adapters.ErrUnavailable,
}

// transport carries calls to the executable: one process per call
// (oneShot) or one process per adapter (longLived).
type transport interface {
	// call sends req and decodes the result into out (which may be nil).
	call(ctx context.Context, req request, out any) error
	// Close stops what the transport started.
	Close() error
}

// decodeStrict decodes data, one JSON value and nothing after it but white
// space, into v, refusing unknown fields. Text after the value is refused
// at its offset: a plug-in that printed it said something else than its
// answer.
func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if rest := bytes.TrimLeft(data[dec.InputOffset():], " \t\r\n"); len(rest) > 0 {
		return fmt.Errorf("text after the JSON value, at offset %d: %q", len(data)-len(rest), rest[:min(len(rest), 32)])
	}
	return nil
}

// into returns the error the response carries, or decodes its result into
// out (which may be nil).
func (r response) into(where string, out any) error {
	if r.Error != nil {
		kind, ok := errorKinds[r.Error.Kind]
		if !ok {
			kind = adapters.ErrUnavailable
		}
		return fmt.Errorf("%s: %s: %w", where, r.Error.Message, kind)
	}
	if out == nil {
		return nil
	}
	var err error
	if u, ok := out.(json.Unmarshaler); ok && len(r.Result) > 0 {
		// The result was checked as JSON with the response it came in:
		// a listing of a fleet is megabytes, not scanned a third time.
		err = u.UnmarshalJSON(r.Result)
	} else {
		err = json.Unmarshal(r.Result, out)
	}
	if err != nil {
		return fmt.Errorf("%s: result: %v: %w", where, err, adapters.ErrUnavailable)
	}
	return nil
}

// newTransport builds the transport a target's settings and the host file
// choose.
func newTransport(raw json.RawMessage, host adapters.Host) (transport, error) {
	var cfg settings.Exec
	if err := adapters.DecodeConfig(raw, &cfg); err != nil {
		return nil, fmt.Errorf("exec: %w", err)
	}
	plugin, err := host.Config.Plugin(cfg.Plugin)
	if err != nil {
		return nil, fmt.Errorf("exec: %w: %w", err, adapters.ErrInvalid)
	}
	timeout := DefaultTimeout
	if plugin.Timeout > 0 {
		timeout = plugin.Timeout
	}
	if cfg.Timeout != "" {
		d, err := time.ParseDuration(cfg.Timeout)
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("exec: timeout %q is not a positive duration: %w", cfg.Timeout, adapters.ErrInvalid)
		}
		timeout = d
	}
	if plugin.LongLived {
		return newLongLived(cfg.Plugin, plugin.Command, timeout), nil
	}
	return oneShot{command: plugin.Command, timeout: timeout}, nil
}
