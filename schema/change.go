package schema

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
)

// Change classes: what a change touches, for policies to tell them apart.
const (
	ClassApp     = "app"     // what runs: artifact, args, env, port, health, secrets
	ClassInfra   = "infra"   // where and how much: targets and their adapters, the pipeline, replicas, resources
	ClassControl = "control" // how and when it rolls out: strategy, hold, dependsOn
)

// Kinds of change of one service or target.
const (
	Added   = "added"
	Removed = "removed"
	Changed = "changed"
)

// Change classifies the difference between two desired states. It names
// the fields that changed, never their values, so that it can be shown and
// journaled whatever the fields hold.
type Change struct {
	// Classes is the sorted union of the classes of every change.
	Classes  []string                 `json:"classes"`
	Services map[string]ServiceChange `json:"services"`
	Targets  map[string]TargetChange  `json:"targets"`
	// Pipeline lists the changed fields of the pipeline.
	Pipeline []string `json:"pipeline"`
	// Stages names the stages added, removed or changed (by name: a stage
	// that only moved in the list is changed), sorted.
	Stages []string `json:"stages"`
	// Rollback is true when every new release is still warm somewhere, so
	// applying the change is a traffic switch back. The reconciler sets it.
	Rollback bool `json:"rollback"`
}

// ServiceChange is how one service changed.
type ServiceChange struct {
	Change  string   `json:"change"`
	Classes []string `json:"classes"`
	// Fields are the changed fields as dotted paths ("run.env.LOG_LEVEL").
	Fields []string `json:"fields"`
	// From and To are the service's release ids before and after.
	From string `json:"from"`
	To   string `json:"to"`
	// Rollback is true when release To is still warm. The reconciler sets it.
	Rollback bool `json:"rollback"`
}

// TargetChange is how one target changed.
type TargetChange struct {
	Change string   `json:"change"`
	Fields []string `json:"fields"`
}

// serviceClass gives the class of a service field by its longest known
// path prefix.
var serviceClass = map[string]string{
	"artifact": ClassApp, "run.args": ClassApp, "run.env": ClassApp, "run.port": ClassApp, "health": ClassApp,
	"run.secretEnv": ClassApp, "secretsDigest": ClassApp,
	"run.replicas": ClassInfra, "run.resources": ClassInfra,
	"strategy": ClassControl, "hold": ClassControl, "dependsOn": ClassControl,
}

// Diff classifies the change from old (nil for the first revision) to new.
func Diff(old, new *DesiredState) Change {
	if old == nil {
		old = &DesiredState{}
	}
	if new == nil {
		new = &DesiredState{}
	}
	c := Change{Classes: []string{}, Services: map[string]ServiceChange{}, Targets: map[string]TargetChange{}, Pipeline: []string{}, Stages: []string{}}
	classes := map[string]bool{}

	for _, name := range unionKeys(old.Services, new.Services) {
		o, inOld := old.Services[name]
		n, inNew := new.Services[name]
		sc := ServiceChange{Fields: diffFields(o, n, inOld, inNew)}
		switch {
		case !inOld:
			sc.Change, sc.To = Added, n.ReleaseID()
		case !inNew:
			sc.Change, sc.From = Removed, o.ReleaseID()
		case len(sc.Fields) > 0:
			sc.Change, sc.From, sc.To = Changed, o.ReleaseID(), n.ReleaseID()
		default:
			continue
		}
		set := map[string]bool{}
		if sc.Change == Changed {
			for _, f := range sc.Fields {
				set[classOf(f)] = true
			}
		} else {
			// A service added or removed changes what runs and where.
			set[ClassApp], set[ClassInfra] = true, true
		}
		sc.Classes = sortedSet(set)
		for k := range set {
			classes[k] = true
		}
		c.Services[name] = sc
	}

	for _, name := range unionKeys(old.Targets, new.Targets) {
		o, inOld := old.Targets[name]
		n, inNew := new.Targets[name]
		tc := TargetChange{Fields: diffFields(o, n, inOld, inNew)}
		switch {
		case !inOld:
			tc.Change = Added
		case !inNew:
			tc.Change = Removed
		case len(tc.Fields) > 0:
			tc.Change = Changed
		default:
			continue
		}
		c.Targets[name] = tc
		classes[ClassInfra] = true
	}

	c.Pipeline = diffFields(old.Pipeline, new.Pipeline, true, true)
	if len(c.Pipeline) > 0 {
		classes[ClassInfra] = true
	}
	c.Stages = changedStages(old.Pipeline.Stages, new.Pipeline.Stages)
	c.Classes = sortedSet(classes)
	return c
}

// changedStages names the stages whose declaration or place in the
// pipeline differs between old and new.
func changedStages(old, new []Stage) []string {
	type placed struct {
		index int
		stage Stage
	}
	byName := func(stages []Stage) map[string]placed {
		m := map[string]placed{}
		for i, st := range stages {
			m[st.Name] = placed{i, st}
		}
		return m
	}
	o, n := byName(old), byName(new)
	changed := map[string]bool{}
	for _, name := range unionKeys(o, n) {
		if !reflect.DeepEqual(o[name], n[name]) {
			changed[name] = true
		}
	}
	return sortedSet(changed)
}

// classOf maps a changed service field to its class; a field the table
// does not know is control, the most guarded class.
func classOf(field string) string {
	for prefix := field; prefix != ""; {
		if cl, ok := serviceClass[prefix]; ok {
			return cl
		}
		i := strings.LastIndexByte(prefix, '.')
		if i < 0 {
			break
		}
		prefix = prefix[:i]
	}
	return ClassControl
}

// diffFields lists the dotted paths whose values differ between a and b, as
// their JSON forms. A side that is absent contributes no fields. Equal
// values, and values with equal JSON forms, are not flattened, which at 10,000
// services was most of a revision's allocations (diffFlat otherwise;
// TestDiffFieldsAgreesWithFlattening generates the cases).
func diffFields(a, b any, inA, inB bool) []string {
	if inA && inB && (reflect.DeepEqual(a, b) || sameJSON(a, b)) {
		return []string{}
	}
	return diffFlat(a, b, inA, inB)
}

// sameJSON reports whether a and b encode to the same JSON: values that
// are not DeepEqual (a list nil on one side and empty on the other, under
// omitempty) can still have the same fields.
func sameJSON(a, b any) bool {
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && bytes.Equal(ja, jb)
}

// diffFlat is diffFields by flattening both sides.
func diffFlat(a, b any, inA, inB bool) []string {
	var fa, fb map[string]any
	if inA {
		fa = flatten(a)
	}
	if inB {
		fb = flatten(b)
	}
	out := []string{}
	for _, k := range unionKeys(fa, fb) {
		if !reflect.DeepEqual(fa[k], fb[k]) {
			out = append(out, k)
		}
	}
	return out
}

// flatten turns a value into its leaves keyed by dotted path; list items
// are keyed by index ("pipeline.stages.0.name").
func flatten(v any) map[string]any {
	b, err := json.Marshal(v)
	if err != nil {
		return map[string]any{"": fmt.Sprint(v)}
	}
	var tree any
	_ = json.Unmarshal(b, &tree)
	out := map[string]any{}
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		join := func(k string) string {
			if prefix == "" {
				return k
			}
			return prefix + "." + k
		}
		switch t := v.(type) {
		case map[string]any:
			for k, x := range t {
				walk(join(k), x)
			}
		case []any:
			for i, x := range t {
				walk(join(fmt.Sprint(i)), x)
			}
			if len(t) == 0 {
				out[prefix] = []any{}
			}
		default:
			out[prefix] = t
		}
	}
	walk("", tree)
	return out
}

func unionKeys[V any](a, b map[string]V) []string {
	seen := map[string]bool{}
	for k := range a {
		seen[k] = true
	}
	for k := range b {
		seen[k] = true
	}
	return sortedSet(seen)
}

func sortedSet(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return slices.Clip(out)
}
