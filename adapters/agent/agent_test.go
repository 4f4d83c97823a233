package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"testing"

	"github.com/durable-delivery/durable/adapters"
	"github.com/durable-delivery/durable/adapters/agent/wire"
	"github.com/durable-delivery/durable/adapters/hostconfig"

	_ "github.com/durable-delivery/durable/adapters/process"
	_ "github.com/durable-delivery/durable/adapters/router"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// TestNewRefusesWhatWouldServeAnyone: no state, no allow-list, an empty
// name in it, a bind address that is not one.
func TestNewRefusesWhatWouldServeAnyone(t *testing.T) {
	for _, cfg := range []Config{
		{Allow: []string{"r"}},
		{StateDir: t.TempDir()},
		{StateDir: t.TempDir(), Allow: []string{""}},
		{StateDir: t.TempDir(), Allow: []string{" r"}},
		{StateDir: t.TempDir(), Allow: []string{"r"}, BindAddress: "0.0.0.0"},
		{StateDir: t.TempDir(), Allow: []string{"r"}, BindAddress: "a1.example"},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("%+v accepted", cfg)
		}
	}
}

// TestAdaptersAreBuiltOncePerConfiguration: one configuration written two
// ways is one adapter; the kinds served are the binary's but remote; the
// number of adapters is bounded.
func TestAdaptersAreBuiltOncePerConfiguration(t *testing.T) {
	host := &hostconfig.Config{File: "test", Routers: map[string]hostconfig.Router{}}
	for i := range maxAdapters + 1 {
		host.Routers[fmt.Sprintf("r%d", i)] = hostconfig.Router{Admin: "unix:///nonexistent.sock"}
	}
	a, err := New(Config{StateDir: t.TempDir(), Host: host, Allow: []string{"r"}, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	one, err := a.runtime(wire.Adapter{Kind: "process", Config: json.RawMessage(`{"maxUnpackBytes": 1024}`)})
	if err != nil {
		t.Fatal(err)
	}
	two, err := a.runtime(wire.Adapter{Kind: "process", Config: json.RawMessage("{\n  \"maxUnpackBytes\":1024 }")})
	if err != nil || one != two {
		t.Fatalf("the same configuration built twice: %v", err)
	}
	for _, ad := range []wire.Adapter{{Kind: "remote"}, {Kind: "ssh"}, {Kind: "process", Config: json.RawMessage(`{`)}} {
		if _, err := a.runtime(ad); !errors.Is(err, adapters.ErrInvalid) {
			t.Errorf("runtime %s %s: %v, want ErrInvalid", ad.Kind, ad.Config, err)
		}
	}
	var bounded error
	for i := range maxAdapters + 1 {
		if _, err := a.traffic(wire.Adapter{Kind: "router", Config: json.RawMessage(fmt.Sprintf(`{"admin": "r%d"}`, i))}); err != nil {
			bounded = err
			break
		}
	}
	if !errors.Is(bounded, adapters.ErrUnavailable) {
		t.Fatalf("over %d adapters: %v, want ErrUnavailable", maxAdapters, bounded)
	}
}
