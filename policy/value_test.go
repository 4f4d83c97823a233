package policy

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
)

type inner struct {
	A int `json:"a"`
}

type sample struct {
	inner
	Name    string            `json:"name"`
	Skip    string            `json:"-"`
	Empty   string            `json:"empty,omitempty"`
	Zero    time.Time         `json:"zero,omitzero"`
	When    time.Time         `json:"when"`
	Ptr     *inner            `json:"ptr"`
	List    []string          `json:"list"`
	Nil     []string          `json:"nil"`
	Map     map[string]uint64 `json:"map"`
	Any     any               `json:"any"`
	Float   float64           `json:"float"`
	Raw     json.RawMessage   `json:"raw"`
	NoTag   bool
	Count   int `json:"count,omitempty"`
	None    int `json:"none,omitempty"`
	private int
}

// toValue gives the same value as encoding/json's text parsed by OPA.
func TestToValueMatchesJSON(t *testing.T) {
	in := sample{inner: inner{A: 1}, Name: "n", Skip: "s", When: time.Date(2026, 11, 22, 1, 2, 3, 4, time.UTC), Ptr: &inner{A: 2},
		List: []string{"x", "y"}, Map: map[string]uint64{"k": 3}, Any: map[string]any{"b": []any{1.5, true, nil}},
		Float: 0.25, Raw: json.RawMessage(`{"r": [1]}`), NoTag: true, Count: 3, private: 9}
	got, err := toValue(reflect.ValueOf(in))
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	want, err := ast.ValueFromReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if got.Compare(want) != 0 {
		t.Fatalf("got  %v\nwant %v", got, want)
	}
	if _, err := toValue(reflect.ValueOf(map[string]float64{"x": math.Inf(1)})); err == nil {
		t.Fatal("an infinite number converted")
	}
}
