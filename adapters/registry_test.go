package adapters

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestDecodeConfigIsStrict(t *testing.T) {
	var cfg struct {
		Admin string `json:"admin"`
	}
	if err := DecodeConfig(json.RawMessage(`{"admin": "127.0.0.1:1"}`), &cfg); err != nil || cfg.Admin != "127.0.0.1:1" {
		t.Fatalf("valid config: %+v, %v", cfg, err)
	}
	for _, bad := range []string{`{"admn": "x"}`, `{"admin": 7}`, `{`, `[]`} {
		if err := DecodeConfig(json.RawMessage(bad), &cfg); err == nil {
			t.Errorf("config %s accepted", bad)
		}
	}
}

func TestUnknownKindsNameTheKnownOnes(t *testing.T) {
	RegisterRuntime("registry-test-runtime", func(json.RawMessage, Host) (Runtime, error) { return nil, nil })
	_, err := NewRuntime("nope", nil, Host{})
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "registry-test-runtime") {
		t.Fatalf("unknown runtime: %v", err)
	}
	if _, err := NewTraffic("nope", nil, Host{}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown traffic: %v", err)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("registering a kind twice did not panic")
		}
	}()
	RegisterRuntime("registry-test-runtime", func(json.RawMessage, Host) (Runtime, error) { return nil, nil })
}

func TestSplitAndStatusHelpers(t *testing.T) {
	s := Split{Backends: []Backend{{Set: "a", Weight: 30}, {Set: "b", Weight: 70}}}
	if s.Weight("b") != 70 || s.Weight("c") != 0 {
		t.Fatalf("weights %d %d", s.Weight("b"), s.Weight("c"))
	}
	st := InfraSetStatus{Instances: []Instance{{Endpoint: "x", Healthy: true}, {Endpoint: "y"}}}
	if !st.Healthy(1) || st.Healthy(2) || len(st.Endpoints()) != 1 {
		t.Fatalf("status helpers: %+v", st)
	}
}
