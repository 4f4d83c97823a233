package schema

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/cuecontext"

	"github.com/durable-delivery/durable/internal/benchrepo"
)

// TestDecodeValueAgreesWithJSON decodes valid desired states, generated to
// use every optional part of the schema in random combinations, the
// benchmark repositories and the examples, both with decodeValue and as
// they were decoded before it (CUE's MarshalJSON, decoded strictly), and
// requires the same DesiredState.
func TestDecodeValueAgreesWithJSON(t *testing.T) {
	var dirs []string
	for seed := range 40 {
		dir := t.TempDir()
		writeRandomRepository(t, dir, uint64(seed))
		dirs = append(dirs, dir)
	}
	for _, n := range []int{1, 250} {
		dir := t.TempDir()
		if err := benchrepo.Write(dir, n); err != nil {
			t.Fatal(err)
		}
		dirs = append(dirs, dir)
	}
	examples, err := filepath.Glob(filepath.Join("..", "examples", "*", "release.cue"))
	if err != nil || len(examples) < 3 {
		t.Fatalf("examples: %d found, %v", len(examples), err)
	}
	for _, f := range examples {
		dirs = append(dirs, filepath.Dir(f))
	}
	for _, dir := range dirs {
		v := evaluatedValue(t, dir)
		b, err := v.MarshalJSON()
		if err != nil {
			t.Fatalf("%s: MarshalJSON: %v", dir, err)
		}
		want, err := decodeJSON(b)
		if err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		var got DesiredState
		if err := decodeValue(v, &got); err != nil {
			t.Fatalf("%s: decodeValue: %v", dir, err)
		}
		if !reflect.DeepEqual(&got, want) {
			t.Errorf("%s: decodeValue gives\n%+v\nwant (from JSON)\n%+v", dir, got, *want)
		}
	}
}

// evaluatedValue is the desired state of dir, valid, as evaluate has it
// before decoding.
func evaluatedValue(t *testing.T, dir string) cue.Value {
	t.Helper()
	if _, err := LoadDir(dir); err != nil {
		t.Fatalf("%s is not valid: %v", dir, err)
	}
	fsys, inside, err := dirFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	files, pkgs, errs := parseTree(fsys, inside)
	if errs != nil {
		t.Fatal(errs)
	}
	ctx := cuecontext.New()
	x, errs := buildUser(ctx, files, pkgs)
	if errs != nil {
		t.Fatal(errs)
	}
	def, err := compileSchema(ctx)
	if err != nil {
		t.Fatal(err)
	}
	v := x.user.Unify(def)
	if err := v.Validate(cue.Concrete(true)); err != nil {
		t.Fatal(err)
	}
	return v
}

// writeRandomRepository writes a valid repository into dir whose every
// optional field is there or not, and every kind chosen, at random from
// seed.
func writeRandomRepository(t *testing.T, dir string, seed uint64) {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 20))
	maybe := func() bool { return r.IntN(2) == 0 }
	var b strings.Builder
	b.WriteString("package infra\n\n")
	hosts := []string{"h1", "h2"}
	if maybe() {
		for _, h := range hosts {
			fmt.Fprintf(&b, "hosts: %s: address: \"10.0.0.%d:7443\"\n", h, len(h))
		}
	} else {
		hosts = nil
	}
	targets := []string{"t0", "t1", "t2"}
	for i, tg := range targets {
		fmt.Fprintf(&b, "targets: %s: {\n", tg)
		if maybe() {
			fmt.Fprintf(&b, "\tzone: \"z%d\"\n", i)
		}
		if hosts != nil && maybe() {
			fmt.Fprintf(&b, "\thost: %q\n", hosts[r.IntN(len(hosts))])
		}
		switch r.IntN(3) {
		case 0:
			b.WriteString("\truntime: kind: \"process\"\n")
			if maybe() {
				b.WriteString("\truntime: maxUnpackBytes: 2147483648\n")
			}
		case 1:
			b.WriteString("\truntime: kind: \"docker\"\n")
			if maybe() {
				b.WriteString("\truntime: {host: \"local\", network: \"shop\", owner: \"durable\", labels: {team: \"a\", \"x.y\": \"\"}}\n")
			}
		case 2:
			b.WriteString("\truntime: {kind: \"exec\", plugin: \"rt\"}\n")
			if maybe() {
				b.WriteString("\truntime: timeout: \"45s\"\n")
			}
		}
		switch r.IntN(3) {
		case 0:
			b.WriteString("\ttraffic: {kind: \"router\", admin: \"edge\"}\n")
		case 1:
			b.WriteString("\ttraffic: {kind: \"haproxy\", socket: \"edge\"}\n")
		case 2:
			b.WriteString("\ttraffic: {kind: \"exec\", plugin: \"tr\", timeout: \"1m30s\"}\n")
		}
		b.WriteString("}\n")
	}
	b.WriteString("pipeline: stages: [\n")
	for i, tg := range targets {
		fmt.Fprintf(&b, "\t{name: \"s%d\", targets: [%q]", i, tg)
		if maybe() {
			fmt.Fprintf(&b, ", parallelism: %d, upgradeDowngradeTest: %v", 1+r.IntN(100), maybe())
		}
		if maybe() {
			b.WriteString(", bake: {time: \"10m\", requests: 1000}")
		} else if maybe() {
			b.WriteString(", bake: requests: 7")
		}
		if maybe() {
			fmt.Fprintf(&b, ", gate: {approvals: %d, signed: %v}", 1+r.IntN(20), maybe())
		}
		b.WriteString("},\n")
	}
	b.WriteString("]\n")
	services := 1 + r.IntN(12)
	for i := range services {
		name := fmt.Sprintf("svc-%d", i)
		fmt.Fprintf(&b, "services: %q: {\n", name)
		fmt.Fprintf(&b, "\tartifact: \"registry.example/a/%s@sha256:%s\"\n", name, strings.Repeat(fmt.Sprintf("%x", i%16), 64))
		if maybe() {
			fmt.Fprintf(&b, "\trun: args: [\"--n=%d\", \"\", \"ünï\\u00e9\\n\"]\n", i)
		}
		if maybe() {
			b.WriteString("\trun: env: {A: \"1\", \"B_2\": \"x\\\"y\", \"\": \"empty-name\"}\n")
		}
		if maybe() {
			fmt.Fprintf(&b, "\trun: {port: %d, replicas: %d}\n", 1+r.IntN(65535), 1+r.IntN(64))
		}
		if maybe() {
			b.WriteString("\trun: resources: {cpus: 0.25, memory: \"512Mi\"}\n")
		} else if maybe() {
			b.WriteString("\trun: resources: cpus: 3\n")
		}
		if maybe() {
			b.WriteString("\trun: secretEnv: {DB: file: \"db-password\", TOKEN: env: \"TOKEN\"}\n")
		}
		if maybe() {
			fmt.Fprintf(&b, "\thealth: {path: \"/ready\", expectStatus: %d, interval: \"500ms\", timeout: \"1m30s\"}\n", 100+r.IntN(500))
		}
		if maybe() {
			b.WriteString("\thealth: startPeriod: \"1h2m3.5s\"\n")
		}
		if maybe() {
			b.WriteString("\thold: true\n")
		}
		if i > 0 && maybe() {
			fmt.Fprintf(&b, "\tdependsOn: [\"svc-%d\"]\n", r.IntN(i))
		}
		switch r.IntN(3) {
		case 0:
		case 1:
			fmt.Fprintf(&b, "\tstrategy: {kind: \"blueGreen\", preview: %v, keepWarm: %d, warmMode: \"minimal\"}\n", maybe(), r.IntN(11))
		case 2:
			b.WriteString("\tstrategy: {\n\t\tkind: \"canary\"\n\t\tprogressDeadline: \"90s\"\n\t\tsteps: [\n")
			weight := 0
			for range 1 + r.IntN(4) {
				weight += 1 + r.IntN(20)
				fmt.Fprintf(&b, "\t\t\t{weight: %d", weight)
				if maybe() {
					fmt.Fprintf(&b, ", bake: {time: \"1m\", requests: %d}", r.IntN(1000))
				}
				if maybe() {
					b.WriteString(", analysis: {maxErrorRate: 0.001, minRequests: 200, maxLatencyP90: \"250ms\"}")
				}
				b.WriteString("},\n")
			}
			b.WriteString("\t\t]\n")
			if maybe() {
				b.WriteString("\t\tanalysis: {maxErrorRate: 0, maxErrorRateIncrease: 1, maxLatencyIncrease: 1.25")
				if maybe() {
					b.WriteString(", prometheus: {address: \"http://127.0.0.1:9090\", queries: [{name: \"errors\", query: \"sum(rate(e{set=\\\"{{.Set}}\\\"}[30s]))\", max: 1e-3}, {name: \"neg\", query: \"x\", max: -2}]}")
				}
				b.WriteString("}\n")
			}
			b.WriteString("\t}\n")
		}
		b.WriteString("}\n")
	}
	if err := os.WriteFile(filepath.Join(dir, "durable.cue"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestGoTypesHoldEverySchemaField walks #DesiredState beside DesiredState
// and requires a Go field for every field the schema allows, optional ones
// and those of each strategy kind included: decodeValue looks up the
// fields the types name, so a field the types lacked would be dropped
// (the JSON decoding refused it). An adapter's settings are decoded by the
// adapter itself, strictly.
func TestGoTypesHoldEverySchemaField(t *testing.T) {
	ctx := cuecontext.New()
	def, err := compileSchema(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var walk func(s cue.Value, typ reflect.Type, path string)
	walk = func(s cue.Value, typ reflect.Type, path string) {
		for typ.Kind() == reflect.Pointer {
			typ = typ.Elem()
		}
		if reflect.PointerTo(typ).Implements(unmarshalerType) {
			return
		}
		switch typ.Kind() {
		case reflect.Slice:
			walk(s.LookupPath(cue.MakePath(cue.AnyIndex)), typ.Elem(), path+"[]")
			return
		case reflect.Map:
			// A key every pattern of the schema's maps matches.
			walk(s.LookupPath(cue.MakePath(cue.Str("SAMPLE").Optional())), typ.Elem(), path+".*")
			return
		case reflect.Struct:
		default:
			return
		}
		known := map[string]int{}
		for _, f := range fieldsOfType(typ) {
			known[f.name] = f.index
		}
		for _, variant := range kindVariants(t, s) {
			it, err := variant.Fields(cue.Optional(true))
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			for it.Next() {
				name := it.Selector().Unquoted()
				i, ok := known[name]
				if !ok {
					t.Errorf("%s.%s: the schema allows it, %s has no field for it", path, name, typ)
					continue
				}
				walk(it.Value(), typ.Field(i).Type, path+"."+name)
			}
		}
	}
	walk(def, reflect.TypeFor[DesiredState](), "#DesiredState")
}

// kindVariants is s once per value its kind field may take, or s alone
// when it has no kind.
func kindVariants(t *testing.T, s cue.Value) []cue.Value {
	kind := s.LookupPath(cue.MakePath(cue.Str("kind")))
	if !kind.Exists() {
		return []cue.Value{s}
	}
	op, alts := kind.Expr()
	if op != cue.OrOp {
		t.Fatalf("%v: kind is not a disjunction", s.Path())
	}
	var out []cue.Value
	for _, k := range alts {
		name, err := k.String()
		if err != nil {
			t.Fatalf("%v: kind %v: %v", s.Path(), k, err)
		}
		out = append(out, s.FillPath(cue.MakePath(cue.Str("kind")), name))
	}
	return out
}
