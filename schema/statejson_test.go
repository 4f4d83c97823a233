package schema

import (
	"bytes"
	"encoding/json"
	"maps"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/durable-delivery/durable/examples"
	"github.com/durable-delivery/durable/internal/benchrepo"
)

// loadedStates are real desired states to generate from: the examples'
// and a generated fleet's (internal/benchrepo).
func loadedStates(t *testing.T) []*DesiredState {
	t.Helper()
	dir := t.TempDir()
	if err := benchrepo.Write(dir, 40); err != nil {
		t.Fatal(err)
	}
	fleet, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := []*DesiredState{fleet}
	for _, fsys := range []func() (*DesiredState, error){
		func() (*DesiredState, error) { return Load(examples.Quickstart()) },
		func() (*DesiredState, error) { return Load(examples.DockerHAProxy()) },
	} {
		ds, err := fsys()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ds)
	}
	return out
}

// randomState is one of the loaded states with some of its services
// dropped and others renamed (quotes, HTML, control bytes, non-ASCII and
// invalid UTF-8 in their names), an inventory of hosts so named, or a
// state without services or targets.
func randomState(rng *rand.Rand, loaded []*DesiredState) *DesiredState {
	ds := *loaded[rng.IntN(len(loaded))]
	switch rng.IntN(8) {
	case 0:
		ds.Services = nil
		return &ds
	case 1:
		ds.Services, ds.Targets = map[string]Service{}, nil
		return &ds
	}
	names := []string{`q"uote`, "<b>&amp;", "nl\nx", "ünï", "\xff\xfe", "", "\u2028"}
	if rng.IntN(2) == 0 { // a fleet's inventory, which follows services
		ds.Hosts = map[string]Host{}
		for range 1 + rng.IntN(3) {
			name := names[rng.IntN(len(names))]
			ds.Hosts[name] = Host{Name: name, Address: "10.0.0." + name + ":7443"}
		}
	}
	ds.Services = maps.Clone(ds.Services)
	for name, svc := range ds.Services {
		switch rng.IntN(6) {
		case 0:
			delete(ds.Services, name)
		case 1:
			delete(ds.Services, name)
			svc.Name = names[rng.IntN(len(names))]
			ds.Services[svc.Name] = svc
		}
	}
	return &ds
}

// randomResult is what an isolated child may write: a state, errors, a
// fault, or nothing.
func randomResult(rng *rand.Rand, loaded []*DesiredState) isolatedResult {
	switch rng.IntN(6) {
	case 0:
		return isolatedResult{Errors: Errors{{File: "a.cue", Line: rng.IntN(9), Message: "no <\"good\">"}}}
	case 1:
		return isolatedResult{Fault: "fault \xff"}
	case 2:
		return isolatedResult{}
	}
	return isolatedResult{State: randomState(rng, loaded)}
}

// TestStateJSONAgreesWithWhole: WriteJSON writes what json.Marshal does,
// byte for byte, and decodeResult reads what json.Unmarshal does, on
// generated states and results; cut short, both fail to read.
func TestStateJSONAgreesWithWhole(t *testing.T) {
	loaded := loadedStates(t)
	rng := rand.New(rand.NewPCG(14, 10))
	states, cut := 0, 0
	for i := range 300 {
		res := randomResult(rng, loaded)
		if res.State != nil {
			states++
			want, err := json.Marshal(res.State)
			if err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			if err := WriteJSON(&got, res.State); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Bytes(), want) {
				t.Fatalf("case %d: WriteJSON differs from json.Marshal:\n got %s\nwant %s", i, got.Bytes(), want)
			}
		}
		var written bytes.Buffer
		if err := json.NewEncoder(&written).Encode(res); err != nil { // as the child writes it
			t.Fatal(err)
		}
		var want isolatedResult
		if err := json.Unmarshal(written.Bytes(), &want); err != nil {
			t.Fatal(err)
		}
		got, err := decodeResult(bytes.NewReader(written.Bytes()))
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("case %d: decodeResult differs from json.Unmarshal:\n got %+v\nwant %+v", i, got, want)
		}
		short := written.Bytes()[:rng.IntN(len(bytes.TrimSpace(written.Bytes())))]
		if err := json.Unmarshal(short, &want); err == nil {
			t.Fatalf("case %d: json.Unmarshal read %q", i, short)
		}
		if _, err := decodeResult(bytes.NewReader(short)); err == nil {
			t.Fatalf("case %d: decodeResult read %d of %d bytes without an error", i, len(short), written.Len())
		}
		cut++
	}
	if states < 100 || cut == 0 {
		t.Fatalf("%d states and %d results cut short: the generator covers too little", states, cut)
	}
}
