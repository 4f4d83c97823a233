package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/durable-delivery/durable/adapters"
	execadapter "github.com/durable-delivery/durable/adapters/exec"
	"github.com/durable-delivery/durable/api"
)

// build compiles the plug-in, as hack/bench/scale.sh does.
func build(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "plugin")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// Durable's own exec client drives the built plug-in in the one-shot form:
// what ensure made, observe finds, remove removes, and a split set is the
// split read back.
func TestOneShotThroughDurablesClient(t *testing.T) {
	bin, state, ctx := build(t), t.TempDir(), context.Background()
	rt := execadapter.NewRuntime([]string{bin, "runtime", state, "127.0.0.1:9"}, 10*time.Second)
	got, err := rt.Ensure(ctx, adapters.InfraSetSpec{ID: "web-1/staging", Service: "web", Release: "r1", Replicas: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Instances) != 3 || got.Instances[2].Endpoint != "127.0.0.1:9" {
		t.Fatalf("ensure: %+v", got)
	}
	sets, err := rt.Observe(ctx)
	if err != nil || len(sets) != 1 || sets[0].ID != "web-1/staging" || len(sets[0].Instances) != 3 {
		t.Fatalf("observe: %+v, %v", sets, err)
	}
	for range 2 { // removing what is absent is not an error
		if err := rt.Remove(ctx, "web-1/staging", time.Second); err != nil {
			t.Fatal(err)
		}
	}
	if sets, err := rt.Observe(ctx); err != nil || len(sets) != 0 {
		t.Fatalf("observe after remove: %+v, %v", sets, err)
	}

	tr := execadapter.NewTraffic([]string{bin, "traffic", state}, 10*time.Second)
	if _, err := tr.Split(ctx, "web"); !errors.Is(err, adapters.ErrNotFound) {
		t.Fatalf("split of an unknown service: %v, want not-found", err)
	}
	want := api.Split{Service: "web", Backends: []api.Backend{{Set: "web-1", Release: "r1", Weight: 100, Endpoints: []string{"127.0.0.1:9"}}}}
	if err := tr.SetSplit(ctx, want); err != nil {
		t.Fatal(err)
	}
	if split, err := tr.Split(ctx, "web"); err != nil || !reflect.DeepEqual(split, want) {
		t.Fatalf("split: %+v, %v; want %+v", split, err, want)
	}
	if n, err := tr.InFlight(ctx, "web", "web-1"); err != nil || n != 0 {
		t.Fatalf("in-flight: %d, %v", n, err)
	}
}

// The long-lived form: the hello handshake, then each answer numbered as
// its request, one a line, until standard input ends; a broken request is
// answered with an error, not a crash.
func TestLongLivedLines(t *testing.T) {
	in := strings.Join([]string{
		`{"call": 1, "version": 1, "op": "hello"}`,
		`{"call": 2, "version": 1, "op": "set-split", "split": {"service": "web", "backends": []}}`,
		`{"call": 3, "version": 1, "op": "split", "service": "web"}`,
		`{"call": 4, "version": 2, "op": "split", "service": "web"}`,
		`{"call": 5, "version": 1, "op": "no-such-op"}`,
		`{"call": 6, "version": 1, "op": "set-split", "split": "hostile"}`,
		`{"call": 7, "version": 1, "op": "splits"}`,
	}, "\n")
	var out bytes.Buffer
	if err := stream(strings.NewReader(in), &out, trafficStore{dir: t.TempDir()}.handle); err != nil {
		t.Fatal(err)
	}
	want := []string{
		`{"call":1,"result":{"version":1}}`,
		`{"call":2,"result":null}`,
		`{"call":3,"result":{"service":"web","backends":[]}}`,
		`{"call":4,"error":{"kind":"invalid","message":"protocol version 2; this plug-in speaks 1"}}`,
		`{"call":5,"error":{"kind":"invalid","message":"unknown traffic op \"no-such-op\""}}`,
		`{"call":6,"error":{"kind":"invalid","message":"set-split needs a split naming its service"}}`,
		`{"call":7,"result":[{"service":"web","backends":[]}]}`,
	}
	if got := strings.Split(strings.TrimSpace(out.String()), "\n"); !reflect.DeepEqual(got, want) {
		t.Fatalf("answers:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// Garbage on standard input is answered with an invalid error and ends the
// plug-in with an error.
func TestGarbageRequest(t *testing.T) {
	var out bytes.Buffer
	err := stream(strings.NewReader(`{"call": 1, "version": 1, "op": `), &out, runtimeStore{dir: t.TempDir()}.handle)
	var resp struct {
		Error failure `json:"error"`
	}
	if err == nil || json.Unmarshal(out.Bytes(), &resp) != nil || resp.Error.Kind != "invalid" {
		t.Fatalf("err %v, answer %s", err, out.String())
	}
}
