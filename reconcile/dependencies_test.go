package reconcile

import (
	"slices"
	"testing"

	"github.com/durable-delivery/durable/schema"
)

func TestRelated(t *testing.T) {
	ds := &schema.DesiredState{Services: map[string]schema.Service{
		"web":    {Name: "web", DependsOn: []string{"api"}},
		"api":    {Name: "api", DependsOn: []string{"db"}},
		"db":     {Name: "db"},
		"worker": {Name: "worker", DependsOn: []string{"api"}},
	}}
	got := related(ds, "api", dependentsOf(ds))
	want := [][2]string{{"db", "upstream"}, {"web", "downstream"}, {"worker", "downstream"}}
	if !slices.Equal(got, want) {
		t.Fatalf("related(api) = %v, want %v", got, want)
	}
	if got := related(ds, "db", dependentsOf(ds)); !slices.Equal(got, [][2]string{{"api", "downstream"}}) {
		t.Fatalf("related(db) = %v", got)
	}
}
