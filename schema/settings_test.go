package schema

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/cuecontext"

	dockersettings "github.com/durable-delivery/durable/adapters/docker/settings"
	execsettings "github.com/durable-delivery/durable/adapters/exec/settings"
	haproxysettings "github.com/durable-delivery/durable/adapters/haproxy/settings"
	processsettings "github.com/durable-delivery/durable/adapters/process/settings"
	routersettings "github.com/durable-delivery/durable/adapters/router/settings"
)

// adapterKinds are the adapters' settings, by role and kind: each names
// its package's settings.cue, the definition it declares and the Go type
// the adapter decodes the same settings into.
var adapterKinds = []struct {
	role, kind string
	cue, def   string
	decoded    reflect.Type
}{
	{"runtime", "process", processsettings.CUE, processsettings.Definition, reflect.TypeFor[processsettings.Process]()},
	{"runtime", "docker", dockersettings.CUE, dockersettings.Definition, reflect.TypeFor[dockersettings.Docker]()},
	{"runtime", "exec", execsettings.CUE, execsettings.Definition, reflect.TypeFor[execsettings.Exec]()},
	{"traffic", "router", routersettings.CUE, routersettings.Definition, reflect.TypeFor[routersettings.Router]()},
	{"traffic", "haproxy", haproxysettings.CUE, haproxysettings.Definition, reflect.TypeFor[haproxysettings.HAProxy]()},
	{"traffic", "exec", execsettings.CUE, execsettings.Definition, reflect.TypeFor[execsettings.Exec]()},
}

// roleDefinitions are the schema's definitions that embed an adapter's
// settings by kind.
var roleDefinitions = map[string]string{"runtime": "#Runtime", "traffic": "#Traffic"}

// TestAdapterSettingsParity holds each adapter's settings to one
// definition: the fields its Go type decodes are the fields its
// settings.cue declares, and the fields the schema, as loaded and as
// exported, adds to #Runtime or #Traffic for its kind.
func TestAdapterSettingsParity(t *testing.T) {
	ctx := cuecontext.New()
	composed := ctx.CompileBytes(schemaSource, cue.Filename(schemaFile))
	if err := composed.Err(); err != nil {
		t.Fatalf("compile the schema: %v", err)
	}
	module, err := Module()
	if err != nil {
		t.Fatal(err)
	}
	exported := ctx.CompileBytes(module["schema.cue"], cue.Filename("schema.cue"))
	if err := exported.Err(); err != nil {
		t.Fatalf("compile the exported schema: %v", err)
	}

	for role, def := range roleDefinitions {
		var covered []string
		for _, a := range adapterKinds {
			if a.role == role {
				covered = append(covered, a.kind)
			}
		}
		kinds := alternatives(composed.LookupPath(cue.MakePath(cue.Def(def), cue.Str("kind"))))
		if !slices.Equal(slices.Sorted(slices.Values(kinds)), slices.Sorted(slices.Values(covered))) {
			t.Errorf("%s allows the kinds %v; this test covers %v", def, kinds, covered)
		}
	}

	for _, a := range adapterKinds {
		t.Run(a.role+"/"+a.kind, func(t *testing.T) {
			declared, err := cueFields(composed, a.cue, a.def)
			if err != nil {
				t.Fatal(err)
			}
			if err := sameFields(jsonFields(a.decoded), declared); err != nil {
				t.Errorf("%s and %s: %v", a.decoded, a.def, err)
			}
			for name, schema := range map[string]cue.Value{"the schema": composed, "the exported schema": exported} {
				role := schema.LookupPath(cue.MakePath(cue.Def(roleDefinitions[a.role])))
				embedded := members(role.FillPath(cue.MakePath(cue.Str("kind")), a.kind))
				var labels []string
				for _, m := range embedded {
					if m.label != "kind" {
						labels = append(labels, m.label)
					}
				}
				if err := sameFields(labels, declared); err != nil {
					t.Errorf("%s of %s, with kind %q, and %s: %v", roleDefinitions[a.role], name, a.kind, a.def, err)
				}
			}
		})
	}

	// The check fails when a field is added on one side only.
	t.Run("a field only the decoder knows", func(t *testing.T) {
		type decoded struct {
			Plugin  string `json:"plugin"`
			Timeout string `json:"timeout,omitempty"`
			Retries int    `json:"retries,omitempty"`
		}
		declared, err := cueFields(composed, execsettings.CUE, execsettings.Definition)
		if err != nil {
			t.Fatal(err)
		}
		err = sameFields(jsonFields(reflect.TypeFor[decoded]()), declared)
		if err == nil || !strings.Contains(err.Error(), "retries") {
			t.Errorf("a Go field missing from the CUE definition: %v, want an error naming retries", err)
		}
	})
	t.Run("a field only the CUE definition declares", func(t *testing.T) {
		declared, err := cueFields(composed, `package durable

#RouterTraffic: {
	admin:    #Name
	timeout?: #Duration
}
`, routersettings.Definition)
		if err != nil {
			t.Fatal(err)
		}
		err = sameFields(jsonFields(reflect.TypeFor[routersettings.Router]()), declared)
		if err == nil || !strings.Contains(err.Error(), "timeout") {
			t.Errorf("a CUE field missing from the Go type: %v, want an error naming timeout", err)
		}
	})
}

// cueFields compiles src, a settings.cue that may use the schema's named
// types, and lists the fields, optional or required, of its definition def.
func cueFields(schema cue.Value, src, def string) ([]string, error) {
	v := schema.Context().CompileString(src, cue.Filename("settings.cue"), cue.Scope(schema))
	if err := v.Err(); err != nil {
		return nil, fmt.Errorf("compile settings.cue: %w", err)
	}
	d := v.LookupPath(cue.MakePath(cue.Def(def)))
	if !d.Exists() {
		return nil, fmt.Errorf("settings.cue declares no %s", def)
	}
	var labels []string
	for _, m := range members(d) {
		labels = append(labels, m.label)
	}
	return labels, nil
}

// jsonFields are the object keys encoding/json decodes into a value of the
// struct type t.
func jsonFields(t reflect.Type) []string {
	var out []string
	for _, f := range reflect.VisibleFields(t) {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case !f.IsExported() || name == "-":
		case f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct:
			// Its fields are promoted: VisibleFields lists them too.
		case name == "":
			out = append(out, f.Name)
		default:
			out = append(out, name)
		}
	}
	return out
}

// sameFields reports the fields the Go type decodes that CUE does not
// declare, and the reverse.
func sameFields(decoded, declared []string) error {
	var problems []string
	for _, f := range decoded {
		if !slices.Contains(declared, f) {
			problems = append(problems, fmt.Sprintf("the Go type decodes %q, which the CUE definition does not declare", f))
		}
	}
	for _, f := range declared {
		if !slices.Contains(decoded, f) {
			problems = append(problems, fmt.Sprintf("the CUE definition declares %q, which the Go type does not decode", f))
		}
	}
	if problems != nil {
		return fmt.Errorf("%s", strings.Join(problems, "; "))
	}
	return nil
}
