package policy

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/schema"
)

// hostileStrings are the strings a generated input draws from: empty,
// escapes, HTML, the JavaScript line separators, invalid UTF-8 (alone and
// within text, so that two keys read back as the same string), and text
// that looks like JSON.
var hostileStrings = []string{
	"", "web", "prod", "serving", "warm", "a", "é", "日本語", "😀", "\ufffd",
	`"`, `\`, `\"quoted\"`, "<script>&amp;</script>", "a\u2028b\u2029c",
	"\x00", "\x1f\x7f", "\b\f\n\r\t", "\xff", "\xfe\xff", "a\xc0\xafb", "\xed\xa0\x80",
	`{"json": [1, 2]}`, "null", "1e999", "-0", strings.Repeat("long ", 200),
}

// hostileFloats are floats at encoding/json's format switches and beyond.
var hostileFloats = []float64{0, math.Copysign(0, -1), 1, -1.5, 0.1, 1e-6, 9.99e-7, 1e-7, 1e20, 1e21, 1.5e300,
	-1e21, math.MaxFloat64, math.SmallestNonzeroFloat64, 123456789.123456789, 1.0 / 3}

// generator fills values of any type with random, often hostile, content.
type generator struct {
	r *rand.Rand
	// broken also makes values encoding/json refuses (NaN, infinities,
	// times it cannot write, adapter settings that are not an object).
	broken bool
}

func (g *generator) str() string {
	if g.r.IntN(8) == 0 {
		b := make([]byte, g.r.IntN(12))
		for i := range b {
			b[i] = byte(g.r.IntN(256))
		}
		return string(b)
	}
	return hostileStrings[g.r.IntN(len(hostileStrings))]
}

func (g *generator) float() float64 {
	if g.broken && g.r.IntN(50) == 0 {
		return []float64{math.NaN(), math.Inf(1), math.Inf(-1)}[g.r.IntN(3)]
	}
	if g.r.IntN(3) == 0 {
		return g.r.NormFloat64() * math.Pow(10, float64(g.r.IntN(60)-30))
	}
	return hostileFloats[g.r.IntN(len(hostileFloats))]
}

// any makes a JSON-like tree, as a decoded JSON file gives.
func (g *generator) any(depth int) any {
	switch n := g.r.IntN(7); {
	case depth > 3 || n == 0:
		return nil
	case n == 1:
		return g.str()
	case n == 2:
		return g.float()
	case n == 3:
		return g.r.IntN(2) == 0
	case n == 4:
		l := make([]any, g.r.IntN(4))
		for i := range l {
			l[i] = g.any(depth + 1)
		}
		return l
	default:
		m := map[string]any{}
		for range g.r.IntN(4) {
			m[g.str()] = g.any(depth + 1)
		}
		return m
	}
}

// rawJSON is valid JSON text, spaced so that encoding/json must compact it.
func (g *generator) rawJSON() json.RawMessage {
	b, _ := json.MarshalIndent(g.any(0), " ", "  ")
	return b
}

var rawType = reflect.TypeFor[json.RawMessage]()

// fill sets v (settable) to a random value of its type.
func (g *generator) fill(v reflect.Value, depth int) {
	switch t := v.Type(); {
	case t == timeType:
		v.Set(reflect.ValueOf(g.time()))
		return
	case t == durationType:
		v.Set(reflect.ValueOf(api.Duration{Duration: time.Duration(g.r.Int64() >> g.r.IntN(64))}))
		return
	case t == rawType:
		if g.r.IntN(4) > 0 {
			v.SetBytes(g.rawJSON())
		}
		return
	case t == adapterType:
		v.Set(reflect.ValueOf(g.adapter()))
		return
	}
	if v.Kind() == reflect.Pointer && v.Type().Implements(preparedType) {
		// A prepared part: its Of generated, then prepared, as a caller
		// prepares one.
		if depth < 8 && g.r.IntN(3) > 0 {
			v.Set(reflect.New(v.Type().Elem()))
			g.fill(v.Elem().FieldByName("Of"), depth+1)
			if err := v.Interface().(interface{ prepare() error }).prepare(); err != nil {
				v.SetZero() // one encoding/json refuses is never prepared
			}
		}
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				g.fill(v.Field(i), depth+1)
			}
		}
	case reflect.Pointer:
		if depth < 8 && g.r.IntN(3) > 0 {
			v.Set(reflect.New(v.Type().Elem()))
			g.fill(v.Elem(), depth+1)
		}
	case reflect.Map:
		if depth > 8 || g.r.IntN(6) == 0 {
			return
		}
		v.Set(reflect.MakeMap(v.Type()))
		for range g.r.IntN(4) {
			k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
			k.SetString(g.str())
			g.fill(e, depth+1)
			v.SetMapIndex(k, e)
		}
	case reflect.Slice:
		if depth > 8 || g.r.IntN(6) == 0 {
			return
		}
		v.Set(reflect.MakeSlice(v.Type(), g.r.IntN(4), 4))
		for i := range v.Len() {
			g.fill(v.Index(i), depth+1)
		}
	case reflect.Interface:
		if x := g.any(depth / 3); x != nil {
			v.Set(reflect.ValueOf(x))
		}
	case reflect.String:
		v.SetString(g.str())
	case reflect.Bool:
		v.SetBool(g.r.IntN(2) == 0)
	case reflect.Int, reflect.Int64:
		v.SetInt([]int64{0, 1, -1, math.MaxInt64, math.MinInt64, g.r.Int64N(1000)}[g.r.IntN(6)])
	case reflect.Uint64:
		v.SetUint([]uint64{0, 1, math.MaxUint64, 1 << 53, g.r.Uint64()}[g.r.IntN(5)])
	case reflect.Float64:
		v.SetFloat(g.float())
	case reflect.Uint8: // bytes, written as base64
		v.SetUint(uint64(g.r.IntN(256)))
	default:
		panic(fmt.Sprintf("generator: no values of %s", v.Type()))
	}
}

// time is a time in an odd zone, now and then one time.Time's MarshalJSON
// refuses (a year past 9999).
func (g *generator) time() time.Time {
	t := time.Unix(g.r.Int64N(1<<35), g.r.Int64N(1e9))
	if g.broken && g.r.IntN(40) == 0 {
		t = t.AddDate(20000, 0, 0)
	}
	zones := []*time.Location{time.UTC, time.FixedZone("odd", 5*3600+45*60), time.FixedZone("west", -11*3600), time.FixedZone("", 0)}
	return t.In(zones[g.r.IntN(len(zones))])
}

func (g *generator) adapter() schema.Adapter {
	a := schema.Adapter{Kind: g.str()}
	if g.broken && g.r.IntN(40) == 0 {
		a.Config = json.RawMessage(`[1]`)
		return a
	}
	cfg := map[string]any{}
	for range g.r.IntN(4) {
		cfg[g.str()] = g.any(1)
	}
	a.Config, _ = json.MarshalIndent(cfg, "", "\t")
	return a
}

// roundTrip is the general path the walk must agree with: encoding/json's
// text, its digest, and OPA's parse of the text.
func roundTrip(t *testing.T, in any) (digest string, value ast.Value, err error) {
	t.Helper()
	raw, err := json.Marshal(in)
	if err != nil {
		return "", nil, err
	}
	sum := sha256.Sum256(raw)
	value, err = ast.ValueFromReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("OPA cannot parse encoding/json's text %q: %v", raw, err)
	}
	return "sha256:" + hex.EncodeToString(sum[:]), value, nil
}

// checkEncoding holds encodeInput to the round trip on one input.
func checkEncoding(t *testing.T, in any, cache *valueCache) {
	t.Helper()
	digest, want, wantErr := roundTrip(t, in)
	got, err := encodeInput(in, cache)
	switch {
	case wantErr != nil && err == nil:
		t.Fatalf("encoding/json refuses the input (%v), the walk encoded it", wantErr)
	case wantErr != nil && err.Error() != wantErr.Error():
		t.Fatalf("error %q, encoding/json's is %q", err, wantErr)
	case wantErr != nil:
		return
	case err != nil:
		t.Fatalf("the walk refused an input encoding/json writes: %v", err)
	case got.digest != digest:
		raw, _ := json.Marshal(in)
		t.Fatalf("digest %s, encoding/json's text gives %s; text:\n%s", got.digest, digest, raw)
	case got.value.Compare(want) != 0 || got.value.String() != want.String():
		t.Fatalf("value\n%v\nthe text parses as\n%v", got.value, want)
	}
}

// The walk writes every generated input as encoding/json does and builds
// the value OPA parses from that text: inputs of the three entry points,
// a JSON document as `durable policy eval` reads one, and broken ones. An
// input is encoded twice more (the second time from the cache), and a
// copy with one part changed once, so that the cache's hits are checked too.
func TestEncodeInputMatchesJSONRoundTrip(t *testing.T) {
	types := []reflect.Type{reflect.TypeFor[AdmissionInput](), reflect.TypeFor[GateInput](), reflect.TypeFor[InvariantInput](),
		reflect.TypeFor[map[string]any](), reflect.TypeFor[[]any]()}
	for seed := range uint64(4) {
		g := &generator{r: rand.New(rand.NewPCG(seed, 20)), broken: seed%2 == 1}
		cache := &valueCache{}
		for i := range 250 {
			typ := types[i%len(types)]
			v := reflect.New(typ).Elem()
			g.fill(v, 0)
			checkEncoding(t, v.Interface(), cache)
			checkEncoding(t, v.Interface(), cache)
			if v.Kind() == reflect.Struct {
				g.fill(v.Field(g.r.IntN(v.NumField())), 1)
				checkEncoding(t, v.Interface(), cache)
			}
		}
	}
}

// An input that holds itself fails as encoding/json fails on it, rather
// than walking forever; one only deep is written.
func TestEncodeInputCycleAndDepth(t *testing.T) {
	cycle := map[string]any{"a": 1}
	cycle["self"] = cycle
	checkEncoding(t, cycle, &valueCache{})
	var deep any = "bottom"
	for range 3 * maxDepth {
		deep = []any{deep}
	}
	checkEncoding(t, map[string]any{"deep": deep}, &valueCache{})
}

// A part met twice in one input is written twice and shares its value.
func TestEncodeInputSharedParts(t *testing.T) {
	sets := []FleetSet{{ID: "web-1", Release: "r1", State: api.SetServing, Weight: 100, Healthy: 2, Desired: 2}}
	svc := FleetService{Replicas: 2, Placements: []FleetPlacement{{Stage: "prod", Sets: sets}}}
	in := map[string]any{"before": svc, "after": svc}
	checkEncoding(t, in, &valueCache{})
	checkEncoding(t, in, nil)
	fleet, err := PrepareFleet(map[string]FleetService{"web": svc, "api": svc})
	if err != nil {
		t.Fatal(err)
	}
	checkEncoding(t, InvariantInput{APIVersion: APIVersion, Entry: "invariant", Before: fleet, After: fleet}, &valueCache{})
}

// ptrMarshaler has MarshalJSON on its pointer only: encoding/json calls it
// where the value is addressable (reached through a pointer), and writes
// the struct's fields elsewhere.
type ptrMarshaler struct{ X int }

func (p *ptrMarshaler) MarshalJSON() ([]byte, error) { return []byte(`{"custom": [ 1 ]}`), nil }

type holdsPtrMarshaler struct {
	A ptrMarshaler
	B *ptrMarshaler
	C []ptrMarshaler
}

func TestEncodeInputMethodsOnPointers(t *testing.T) {
	in := holdsPtrMarshaler{A: ptrMarshaler{1}, B: &ptrMarshaler{2}, C: []ptrMarshaler{{3}}}
	checkEncoding(t, in, &valueCache{})
	checkEncoding(t, &in, &valueCache{})
}

// A prepared part is written as encoding/json writes what it holds: an
// input's text, and so its digest, is the same whether its desired states
// are prepared or not; generated states, broken ones included.
func TestPreparedPartIsWrittenAsItsContents(t *testing.T) {
	for seed := range uint64(4) {
		g := &generator{r: rand.New(rand.NewPCG(seed, 21)), broken: seed%2 == 1}
		for range 100 {
			var ds schema.DesiredState
			g.fill(reflect.ValueOf(&ds).Elem(), 0)
			plain, perr := json.Marshal(struct {
				Old *schema.DesiredState `json:"old"`
			}{&ds})
			p, err := Prepare(&ds)
			if (err != nil) != (perr != nil) {
				t.Fatalf("Prepare says %v, encoding/json %v", err, perr)
			}
			if err != nil {
				continue
			}
			in := struct {
				Old *Prepared[schema.DesiredState] `json:"old"`
			}{p}
			prepared, err := json.Marshal(in)
			if err != nil || !bytes.Equal(prepared, plain) {
				t.Fatalf("prepared, the input writes\n%s (%v)\nwithout, encoding/json writes\n%s", prepared, err, plain)
			}
			checkEncoding(t, in, &valueCache{})
		}
	}
}

// node is a recursive type: its encoder is asked for while it is made.
type node struct {
	Name string  `json:"name"`
	Next *node   `json:"next,omitempty"`
	Kids []node  `json:"kids"`
	Any  any     `json:"any"`
	Ptrs []*node `json:"ptrs,omitempty"`
}

// A recursive type is written as encoding/json writes it, shallow, deep
// past maxDepth, and from several goroutines at once while its encoder is
// first made.
func TestEncodeInputRecursiveType(t *testing.T) {
	list := &node{Name: "tail"}
	for i := range 2 * maxDepth {
		list = &node{Name: strconv.Itoa(i), Next: list, Kids: []node{{Name: "kid"}}, Any: map[string]any{"n": i}}
	}
	tree := node{Name: "root", Kids: []node{{Name: "a", Ptrs: []*node{{Name: "b"}}}}, Next: &node{Name: "c", Any: []any{1, "x"}}}
	var wg sync.WaitGroup
	digests := make([]string, 4)
	for i := range digests {
		wg.Go(func() {
			if in, err := encodeInput(tree, &valueCache{}); err == nil {
				digests[i] = in.digest
			}
		})
	}
	wg.Wait()
	want, err := InputDigest(tree)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range digests {
		if d != want {
			t.Fatalf("encoded at once, a digest is %q; encoding/json's text gives %s", d, want)
		}
	}
	checkEncoding(t, tree, &valueCache{})
	checkEncoding(t, list, &valueCache{})
	checkEncoding(t, list, nil)
}
