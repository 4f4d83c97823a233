package reconcile

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/durable-delivery/durable/examples"
	"github.com/durable-delivery/durable/schema"
)

// The journal's copy of an admitted state is the text admission prepared,
// byte for byte what schema.WriteJSON writes; a state not prepared (or a
// copy of one) is written afresh, and one over maxKeptState is not kept.
func TestPreparedStateIsTheJournalsText(t *testing.T) {
	ds, err := schema.Load(examples.Quickstart())
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	if err := schema.WriteJSON(&want, ds); err != nil {
		t.Fatal(err)
	}
	r := &Reconciler{}
	copied := *ds
	if r.states.find(ds) != nil || r.states.find(nil) != nil {
		t.Fatal("a state never prepared is found prepared")
	}
	p, err := r.states.prepare(ds)
	if err != nil || p.Of != ds {
		t.Fatalf("prepare: %v, %v", p, err)
	}
	if again, _ := r.states.prepare(ds); again != p {
		t.Error("the state was prepared again; want the kept one")
	}
	if got := r.stateJSON(ds); !bytes.Equal(got, want.Bytes()) || &got[0] != &p.JSON()[0] {
		t.Errorf("the journal's text is not the prepared one, or differs from WriteJSON's:\n%s\n%s", got, want.Bytes())
	}
	if r.states.find(&copied) != nil {
		t.Error("a copy of a prepared state is found prepared")
	}

	big := &schema.DesiredState{Services: map[string]schema.Service{}}
	for i := range 3000 {
		big.Services[fmt.Sprintf("svc-%04d", i)] = ds.Services[firstService(ds)]
	}
	if p, err := r.states.prepare(big); err != nil || p.Size() <= maxKeptState {
		t.Fatalf("a state of %d bytes (%v); want over %d", p.Size(), err, maxKeptState)
	}
	if r.states.find(big) != nil {
		t.Error("a state over maxKeptState was kept")
	}
	if r.states.find(ds) == nil {
		t.Error("the big state pushed a kept one out")
	}
}

func firstService(ds *schema.DesiredState) string {
	for name := range ds.Services {
		return name
	}
	return ""
}
