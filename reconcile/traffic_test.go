package reconcile

import (
	"strings"
	"testing"

	"github.com/durable-delivery/durable/adapters"
	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/journal"
	"github.com/durable-delivery/durable/schema"
)

func TestDesiredSplit(t *testing.T) {
	p := placement{service: schema.Service{Name: "web"}}
	healthy := func(eps ...string) adapters.InfraSetStatus {
		var st adapters.InfraSetStatus
		for i, e := range eps {
			st.Instances = append(st.Instances, adapters.Instance{Index: i, Endpoint: e, Healthy: true})
		}
		return st
	}
	sets := []journal.InfraSet{
		{ID: "b-new", State: api.SetServing, Release: "r2"},
		{ID: "a-old", State: api.SetWarm, Release: "r1"},
		{ID: "c-starting", State: api.SetCreating, Release: "r3"},
		{ID: "d-failed", State: api.SetFailed, Release: "r4"},
	}
	statuses := map[string]adapters.InfraSetStatus{
		"b-new":      healthy("127.0.0.1:2", "127.0.0.1:3"),
		"a-old":      healthy("127.0.0.1:1"),
		"c-starting": healthy("127.0.0.1:4"),
	}
	got, err := desiredSplit(p, sets, statuses)
	if err != nil {
		t.Fatal(err)
	}
	want := adapters.Split{Service: "web", Backends: []adapters.Backend{
		{Set: "a-old", Release: "r1", Weight: 0, Endpoints: []string{"127.0.0.1:1"}},
		{Set: "b-new", Release: "r2", Weight: 100, Endpoints: []string{"127.0.0.1:2", "127.0.0.1:3"}},
	}}
	if !sameSplit(got, want) || got.Backends[0].Set != "a-old" {
		t.Fatalf("split = %+v, want %+v", got, want)
	}

	// A serving set with no instance at all cannot take traffic: an error,
	// never an empty split that would drop every request.
	delete(statuses, "b-new")
	if _, err := desiredSplit(p, sets, statuses); err == nil {
		t.Fatal("want an error for a serving set with no instance")
	}
}

func TestSameSplitIgnoresOrder(t *testing.T) {
	a := adapters.Split{Backends: []adapters.Backend{
		{Set: "x", Weight: 100, Endpoints: []string{"1", "2"}},
		{Set: "y", Weight: 0, Endpoints: []string{"3"}},
	}}
	b := adapters.Split{Backends: []adapters.Backend{
		{Set: "y", Weight: 0, Endpoints: []string{"3"}},
		{Set: "x", Weight: 100, Endpoints: []string{"2", "1"}},
	}}
	if !sameSplit(a, b) {
		t.Fatal("same splits in another order differ")
	}
	b.Backends[1].Weight = 90
	if sameSplit(a, b) {
		t.Fatal("different weights compare equal")
	}
	b.Backends[1].Weight, b.Backends[1].Endpoints = 100, []string{"1", "9"}
	if sameSplit(a, b) {
		t.Fatal("different endpoints compare equal")
	}
}

func TestInfraSetIDIsStableAndSafe(t *testing.T) {
	rel := "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	if a, b := infraSetID("web", "local", rel), infraSetID("web", "local", rel); a != b || a != "web-0123456789ab-local" {
		t.Fatalf("ids %q %q", a, b)
	}
	id := infraSetID("web", "../Etc/Passwd zone", rel)
	if !plainName.MatchString(id[len("web-0123456789ab-"):]) {
		t.Fatalf("unsafe target name kept in id %q", id)
	}
}

// TestSplitDiffSaysWhatDiffers: a drift that is only endpoints says so,
// rather than showing two equal weight lists.
func TestSplitDiffSaysWhatDiffers(t *testing.T) {
	want := adapters.Split{Backends: []adapters.Backend{
		{Set: "a", Weight: 100, Endpoints: []string{"1", "2"}},
		{Set: "b", Weight: 0, Endpoints: []string{"3"}},
	}}
	for _, tc := range []struct {
		name string
		have []adapters.Backend
		want string
	}{
		{"endpoints only", []adapters.Backend{{Set: "b", Weight: 0, Endpoints: []string{"3"}}, {Set: "a", Weight: 100, Endpoints: []string{"1", "9"}}},
			"a endpoints: missing 2; not wanted 9"},
		{"a weight", []adapters.Backend{{Set: "a", Weight: 90, Endpoints: []string{"1", "2"}}, {Set: "b", Weight: 10, Endpoints: []string{"3"}}},
			"a has 90% (want 100%); b has 10% (want 0%)"},
		{"a set missing, another extra", []adapters.Backend{{Set: "a", Weight: 100, Endpoints: []string{"1", "2"}}, {Set: "c", Weight: 0}},
			"b is missing (want 0%, 1 endpoint(s)); c is routed (0%) but not wanted"},
		{"the same", []adapters.Backend{{Set: "b", Weight: 0, Endpoints: []string{"3"}}, {Set: "a", Weight: 100, Endpoints: []string{"2", "1"}}}, ""},
	} {
		if got := strings.Join(splitDiff(adapters.Split{Backends: tc.have}, want), "; "); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}
