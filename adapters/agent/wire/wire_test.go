package wire

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/durable-delivery/durable/adapters"
)

// TestErrorsCrossTheWire: each of the adapters' error values, and a
// deadline, comes out of the client as it went into the agent.
func TestErrorsCrossTheWire(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want error
	}{
		{adapters.ErrNotFound, adapters.ErrNotFound},
		{adapters.ErrConflict, adapters.ErrConflict},
		{adapters.ErrUnavailable, adapters.ErrUnavailable},
		{adapters.ErrInvalid, adapters.ErrInvalid},
		{context.DeadlineExceeded, adapters.ErrUnavailable},
		{context.Canceled, adapters.ErrUnavailable},
	} {
		in := fmt.Errorf("process: ensure web-1: %w", tc.err)
		status, body := ErrorOf(in)
		b, _ := json.Marshal(body)
		var back Error
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		out := back.Err(status)
		if !errors.Is(out, tc.want) || !strings.Contains(out.Error(), "ensure web-1") {
			t.Errorf("%v: came out as %v (status %d), want %v", tc.err, out, status, tc.want)
		}
	}
	if status, body := ErrorOf(errors.New("disk full")); status != http.StatusInternalServerError || body.Code != CodeInternal {
		t.Errorf("an untyped error: %d %+v", status, body)
	}
	for _, typed := range []error{adapters.ErrNotFound, adapters.ErrConflict, adapters.ErrUnavailable, adapters.ErrInvalid} {
		if err := (Error{Code: CodeInternal, Message: "x"}).Err(500); errors.Is(err, typed) {
			t.Errorf("an internal error came out as %v", typed)
		}
	}
	if err := (Error{}).Err(http.StatusBadGateway); !errors.Is(err, adapters.ErrUnavailable) {
		t.Errorf("a 502 that is not the agent's: %v, want ErrUnavailable", err)
	}
}

// TestSpecCrossesTheWire: a spec and a status come out as they went in.
func TestSpecCrossesTheWire(t *testing.T) {
	spec := adapters.InfraSetSpec{ID: "web-1", Service: "web", Release: "r1", Artifact: "reg/web@sha256:00",
		Args: []string{"-v"}, Env: map[string]string{"A": "1"}, Port: 8080, Replicas: 3,
		Health:    adapters.HealthCheck{Path: "/healthz", ExpectStatus: 204, Timeout: 1500 * time.Millisecond},
		Resources: adapters.Resources{NanoCPUs: 5e8, MemoryBytes: 64 << 20}}
	b, _ := json.Marshal(EnsureRequest{Runtime: Adapter{Kind: "process"}, Spec: FromSpec(spec)})
	var req EnsureRequest
	if err := Decode(strings.NewReader(string(b)), &req); err != nil {
		t.Fatal(err)
	}
	got, err := req.Spec.InfraSetSpec()
	if err != nil || !reflect.DeepEqual(got, spec) {
		t.Fatalf("spec came out as %+v, %v; want %+v", got, err, spec)
	}
	st := adapters.InfraSetStatus{ID: "web-1", Service: "web", Release: "r1", Instances: []adapters.Instance{
		{Index: 0, Endpoint: "10.0.0.11:4000", PID: 42, Healthy: true}, {Index: 1, PID: 43, Reason: "not adopted"}}}
	if back := FromStatus(st).InfraSetStatus(); !reflect.DeepEqual(back, st) {
		t.Fatalf("status came out as %+v, want %+v", back, st)
	}
}

// FuzzDecode: any body decodes into a request or is refused, never
// panics, and what decodes encodes back to a body that decodes the same.
func FuzzDecode(f *testing.F) {
	for _, seed := range []string{`{"runtime": {"kind": "process"}, "spec": {"id": "x", "replicas": 2, "health": {"timeout": "1s"}}}`,
		`{"traffic": {"kind": "router", "config": {"admin": "edge"}}, "split": {"service": "web", "backends": []}}`,
		`{"runtime": {"kind": "process"}, "id": "x", "grace": "5s"}`, `{}`, `[`, `{"a": 1}`, `{"runtime": {}} {}`} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		for _, v := range []any{&EnsureRequest{}, &RemoveRequest{}, &SetSplitRequest{}, &SetRequest{}} {
			if err := Decode(strings.NewReader(body), v); err != nil {
				continue
			}
			b, err := json.Marshal(v)
			if err != nil {
				t.Fatalf("%T decoded from %q does not encode: %v", v, body, err)
			}
			again := reflect.New(reflect.TypeOf(v).Elem()).Interface()
			if err := Decode(strings.NewReader(string(b)), again); err != nil {
				t.Fatalf("%T re-encoded as %s does not decode: %v", v, b, err)
			}
			b2, _ := json.Marshal(again)
			if string(b) != string(b2) {
				t.Fatalf("%T: %s then %s", v, b, b2)
			}
		}
	})
}
