// Package wire is the agent's API (version 1) as both ends speak it: the
// paths, the request and answer bodies, their bounds, and how the
// adapters' error values cross the wire. The agent (package agent) serves
// it; adapters/remote calls it.
//
// Every call is a POST of a JSON body naming the adapter it is for (kind
// and configuration, as a target of the desired state gives them) and is
// idempotent: repeated after a timeout, it has the same result. The agent
// decodes bodies strictly (an unknown field is refused); the client decodes
// answers leniently, so that an agent may add fields. It imports only the
// adapter contracts and the wire model.
package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/durable-delivery/durable/adapters"
)

// The calls, one path each.
const (
	PathEnsure      = "/v1/runtime/ensure"
	PathObserve     = "/v1/runtime/observe"
	PathRemove      = "/v1/runtime/remove"
	PathSetSplit    = "/v1/traffic/set-split"
	PathSplit       = "/v1/traffic/split"
	PathSplits      = "/v1/traffic/splits"
	PathRemoveSplit = "/v1/traffic/remove-split"
	PathInFlight    = "/v1/traffic/in-flight"
	PathSetMetrics  = "/v1/health/set-metrics"
	// PathFence records the caller's fencing tokens (FenceHeader) and
	// answers the highest the agent has seen for each of its shards
	// ([]Fenced).
	PathFence = "/v1/fence"
)

// FenceHeader carries a caller's fencing tokens on any call: "SHARD
// TOKEN", the shard a name of up to 200 printable characters without
// spaces or commas, the token a positive decimal; a caller that owns
// several shards sends each pair, separated by ", ". The agent refuses
// (409, CodeFenced) a call with any token below the highest it has seen
// for that shard, and keeps the higher ones on disk before it acts.
const FenceHeader = "Durable-Fence"

// Fenced is a shard's token; PathFence answers, for each shard of the
// call's header, the highest the agent holds.
type Fenced struct {
	Shard string `json:"shard"`
	Token uint64 `json:"token"`
}

// FenceRequest is the body of PathFence: the token is in the header.
type FenceRequest struct{}

// Bounds of a body: a request carries at most one spec or split, an answer
// at most every set or split of a host.
const (
	MaxRequest = 1 << 20
	MaxAnswer  = 16 << 20
)

// DeadlineHeader carries the caller's remaining time, in milliseconds: the
// agent gives up on the call then, whether or not the connection ends.
const DeadlineHeader = "Durable-Deadline-Ms"

// Adapter names the adapter a call is for: a kind registered in the agent's
// binary and its configuration, whose names (router admin, HAProxy socket,
// Docker engine) the agent looks up in its own host file.
type Adapter struct {
	Kind   string          `json:"kind"`
	Config json.RawMessage `json:"config,omitempty"`
}

// EnsureRequest is Runtime.Ensure.
type EnsureRequest struct {
	Runtime Adapter `json:"runtime"`
	Spec    Spec    `json:"spec"`
}

// ObserveRequest is Runtime.Observe; its answer is a []SetStatus.
type ObserveRequest struct {
	Runtime Adapter `json:"runtime"`
}

// RemoveRequest is Runtime.Remove; Grace is a Go duration ("10s").
type RemoveRequest struct {
	Runtime Adapter `json:"runtime"`
	ID      string  `json:"id"`
	Grace   string  `json:"grace"`
}

// SetSplitRequest is Traffic.SetSplit.
type SetSplitRequest struct {
	Traffic Adapter        `json:"traffic"`
	Split   adapters.Split `json:"split"`
}

// ServiceRequest is Traffic.Split and SplitRemover.RemoveSplit.
type ServiceRequest struct {
	Traffic Adapter `json:"traffic"`
	Service string  `json:"service"`
}

// TrafficRequest is SplitLister.Splits; its answer is a []adapters.Split.
type TrafficRequest struct {
	Traffic Adapter `json:"traffic"`
}

// SetRequest is Traffic.InFlight and HealthSource.SetMetrics.
type SetRequest struct {
	Traffic Adapter `json:"traffic"`
	Service string  `json:"service"`
	Set     string  `json:"set"`
}

// InFlight is the answer of PathInFlight.
type InFlight struct {
	Requests int `json:"requests"`
}

// Done is the answer of a call that returns nothing.
type Done struct{}

// Decode decodes one JSON value of r into v strictly: an unknown field,
// a value of the wrong type or anything after the value is an error.
func Decode(r io.Reader, v any) error {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("more than one JSON value in the body")
	}
	return nil
}

// Compact is config with insignificant space removed, so that one adapter's
// configuration written two ways is one adapter.
func Compact(config json.RawMessage) (string, error) {
	if len(config) == 0 {
		return "", nil
	}
	var b bytes.Buffer
	if err := json.Compact(&b, config); err != nil {
		return "", fmt.Errorf("adapter configuration: %w", err)
	}
	return b.String(), nil
}
