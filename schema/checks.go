package schema

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"cuelang.org/go/cue"
)

// check enforces what the schema cannot say: at least one service, stage
// names unique, every target a stage names declared, and each target serving
// at most one stage (a release reaches a target through exactly one stage).
func check(ds *DesiredState, x *explainer) Errors {
	var errs Errors
	if len(ds.Services) == 0 {
		errs = append(errs, x.errorAt([]cue.Selector{cue.Str("services")},
			`services: no service is declared; declare one, e.g. services: web: artifact: "REPOSITORY@sha256:<64 hex digits>"`))
	}
	declared := slices.Sorted(maps.Keys(ds.Targets))
	stageOf := map[string]int{} // stage name → index of the stage that declares it
	ownerOf := map[string]int{} // target name → index of the stage that uses it
	for i, stage := range ds.Pipeline.Stages {
		at := []cue.Selector{cue.Str("pipeline"), cue.Str("stages"), cue.Index(i)}
		if j, dup := stageOf[stage.Name]; dup {
			p := append(slices.Clone(at), cue.Str("name"))
			errs = append(errs, x.errorAt(p, fmt.Sprintf("%s: stage %q is already declared as %s; give each stage its own name",
				pathString(p), stage.Name, pathString(at[:2])+fmt.Sprintf("[%d]", j))))
		} else {
			stageOf[stage.Name] = i
		}
		for k, target := range stage.Targets {
			p := append(slices.Clone(at), cue.Str("targets"), cue.Index(k))
			if _, ok := ds.Targets[target]; !ok {
				errs = append(errs, x.errorAt(p, fmt.Sprintf("%s: target %q is not declared; %s",
					pathString(p), target, declareHint(target, declared))))
				continue
			}
			j, used := ownerOf[target]
			switch {
			case !used:
				ownerOf[target] = i
			case j == i:
				errs = append(errs, x.errorAt(p, fmt.Sprintf("%s: target %q is listed twice in stage %q; list it once",
					pathString(p), target, stage.Name)))
			default:
				errs = append(errs, x.errorAt(p, fmt.Sprintf("%s: target %q already belongs to stage %q; a target serves at most one stage, so declare another target",
					pathString(p), target, ds.Pipeline.Stages[j].Name)))
			}
		}
	}
	return errs
}

// declareHint tells how to fix a reference to an undeclared target.
func declareHint(target string, declared []string) string {
	if len(declared) == 0 {
		return fmt.Sprintf("declare it: targets: %q: {runtime: ..., traffic: ...}", target)
	}
	return fmt.Sprintf("declare it under targets or use one of: %s", strings.Join(declared, ", "))
}

// errorAt is an Error about the value at sels, shown where the user wrote it
// or its closest ancestor.
func (x *explainer) errorAt(sels []cue.Selector, msg string) Error {
	e := x.anchor
	if places := x.nearest(sels); len(places) > 0 {
		e = Error{File: places[0].Filename(), Line: places[0].Line(), Col: places[0].Column()}
	}
	e.Path, e.Message = pathString(sels), msg
	return e
}
