package schema

import (
	"fmt"
	"slices"
	"strings"

	"cuelang.org/go/cue"

	"github.com/durable-delivery/durable/secrets/onhost"
)

// check enforces what the schema cannot say. It reads the user's own value
// v (before the schema, so that a schema error elsewhere hides nothing)
// leniently, skipping whatever is in error (CUE reports that), so that these
// problems are reported beside CUE's own in one run:
//   - at least one service is declared;
//   - every target's host is declared in the inventory (hosts);
//   - stage names are unique, every target a stage names is declared, and a
//     target serves at most one stage (a release reaches a target through
//     exactly one stage);
//   - dependsOn names declared services, not the service itself, each once,
//     and the dependencies have no cycle;
//   - a canary's step weights strictly rise;
//   - each secret names exactly one source, and a secret file is named
//     inside the operator's secrets directory.
//
// services are v's services (servicesOf).
func check(v cue.Value, services fields, x *explainer) Errors {
	var errs Errors
	if services.names != nil && len(services.names) == 0 {
		errs = append(errs, x.errorAt([]cue.Selector{cue.Str("services")},
			`services: no service is declared; declare one, e.g. services: web: artifact: "REPOSITORY@sha256:<64 hex digits>"`))
	}
	errs = append(errs, checkStages(v, x)...)
	errs = append(errs, checkHosts(v, x)...)
	errs = append(errs, checkDependencies(services, x)...)
	for _, name := range services.names {
		svc := services.values[name]
		errs = append(errs, checkSteps(svc, name, x)...)
		errs = append(errs, checkSecretRefs(svc, name, x)...)
	}
	return errs
}

// servicesOf is the services the user's value v declares.
func servicesOf(v cue.Value) fields {
	return fieldsAt(v.LookupPath(cue.MakePath(cue.Str("services"))))
}

// checkStages checks stage names and the targets each stage names.
func checkStages(v cue.Value, x *explainer) Errors {
	var errs Errors
	declared := fieldsOf(v, "targets")
	stages := listOf(v.LookupPath(cue.ParsePath("pipeline.stages")))
	stageOf := map[string]int{} // stage name → index of the stage that declares it
	ownerOf := map[string]int{} // target name → index of the stage that uses it
	for i, stage := range stages {
		at := []cue.Selector{cue.Str("pipeline"), cue.Str("stages"), cue.Index(i)}
		name, nameErr := stage.LookupPath(cue.MakePath(cue.Str("name"))).String()
		if nameErr == nil {
			if j, dup := stageOf[name]; dup {
				p := append(slices.Clone(at), cue.Str("name"))
				errs = append(errs, x.errorAt(p, fmt.Sprintf("%s: stage %q is already declared as %s; give each stage its own name",
					pathString(p), name, pathString(at[:2])+fmt.Sprintf("[%d]", j))))
			} else {
				stageOf[name] = i
			}
		}
		for k, t := range listOf(stage.LookupPath(cue.MakePath(cue.Str("targets")))) {
			target, err := t.String()
			if err != nil {
				continue
			}
			p := append(slices.Clone(at), cue.Str("targets"), cue.Index(k))
			if !slices.Contains(declared, target) {
				errs = append(errs, x.errorAt(p, fmt.Sprintf("%s: target %q is not declared; %s",
					pathString(p), target, declareHint(target, declared))))
				continue
			}
			j, used := ownerOf[target]
			switch {
			case !used:
				ownerOf[target] = i
			case j == i:
				errs = append(errs, x.errorAt(p, fmt.Sprintf("%s: target %q is listed twice in stage %s; list it once",
					pathString(p), target, stageLabel(name, i))))
			default:
				other, _ := stages[j].LookupPath(cue.MakePath(cue.Str("name"))).String()
				errs = append(errs, x.errorAt(p, fmt.Sprintf("%s: target %q already belongs to stage %s; a target serves at most one stage, so declare another target",
					pathString(p), target, stageLabel(other, j))))
			}
		}
	}
	return errs
}

// checkHosts requires every target's host to be declared in the
// inventory.
func checkHosts(v cue.Value, x *explainer) Errors {
	var errs Errors
	declared := fieldsOf(v, "hosts")
	for _, t := range fieldsOf(v, "targets") {
		p := []cue.Selector{cue.Str("targets"), cue.Str(t), cue.Str("host")}
		host, err := v.LookupPath(cue.MakePath(p...)).String()
		if err != nil || slices.Contains(declared, host) {
			continue
		}
		hint := fmt.Sprintf("declare it: hosts: %q: address: \"ADDRESS:PORT\" (its agent's)", host)
		if len(declared) > 0 {
			hint = "declare it under hosts or use one of: " + strings.Join(declared, ", ")
			if guess := closest(host, declared); guess != "" {
				hint = fmt.Sprintf("did you mean %q? Otherwise %s", guess, hint)
			}
		}
		errs = append(errs, x.errorAt(p, fmt.Sprintf("%s: host %q is not declared; %s", pathString(p), host, hint)))
	}
	return errs
}

// stageLabel names a stage for a message, by its index when it has no name.
func stageLabel(name string, i int) string {
	if name == "" {
		return fmt.Sprintf("pipeline.stages[%d]", i)
	}
	return fmt.Sprintf("%q", name)
}

// declareHint tells how to fix a reference to an undeclared target.
func declareHint(target string, declared []string) string {
	if len(declared) == 0 {
		return fmt.Sprintf("declare it: targets: %q: {runtime: ..., traffic: ...}", target)
	}
	hint := "declare it under targets or use one of: " + strings.Join(declared, ", ")
	if guess := closest(target, declared); guess != "" {
		hint = fmt.Sprintf("did you mean %q? Otherwise %s", guess, hint)
	}
	return hint
}

// checkSteps requires a canary's step weights to rise strictly in svc, the
// value of the service named service.
func checkSteps(svc cue.Value, service string, x *explainer) Errors {
	at := []cue.Selector{cue.Str("services"), cue.Str(service), cue.Str("strategy"), cue.Str("steps")}
	var errs Errors
	prev := int64(0)
	for i, step := range listOf(svc.LookupPath(cue.MakePath(at[2:]...))) {
		w, err := step.LookupPath(cue.MakePath(cue.Str("weight"))).Int64()
		if err != nil {
			continue
		}
		if w <= prev {
			p := append(slices.Clone(at), cue.Index(i), cue.Str("weight"))
			errs = append(errs, x.errorAt(p, fmt.Sprintf("%s: %d does not rise above the previous step's weight %d; list the steps in rising order of weight, each step more than the one before",
				pathString(p), w, prev)))
		}
		prev = w
	}
	return errs
}

// checkSecretRefs requires each secret of svc, the value of the service
// named service, to name exactly one source, and a file to be named inside
// the secrets directory.
func checkSecretRefs(svc cue.Value, service string, x *explainer) Errors {
	at := []cue.Selector{cue.Str("services"), cue.Str(service), cue.Str("run"), cue.Str("secretEnv")}
	var errs Errors
	secrets := svc.LookupPath(cue.MakePath(at[2:]...))
	for _, name := range fieldsOf(secrets) {
		ref := secrets.LookupPath(cue.MakePath(cue.Str(name)))
		var sources []string
		for _, s := range []string{"file", "env", "sops"} {
			if ref.LookupPath(cue.MakePath(cue.Str(s))).Exists() {
				sources = append(sources, s)
			}
		}
		if file, err := ref.LookupPath(cue.MakePath(cue.Str("file"))).String(); err == nil {
			if msg := onhost.FileNameProblem(file); msg != "" {
				p := append(slices.Clone(at), cue.Str(name), cue.Str("file"))
				errs = append(errs, x.errorAt(p, pathString(p)+": "+msg))
			}
		}
		if len(sources) == 1 {
			continue
		}
		p := append(slices.Clone(at), cue.Str(name))
		msg := "names no source"
		if len(sources) > 1 {
			msg = "names " + strings.Join(sources, " and ")
		}
		errs = append(errs, x.errorAt(p, fmt.Sprintf("%s: %s; give exactly one of file (a file in the operator's --secrets-dir), env (a variable of the reconciler the operator allows) or sops (a key of a SOPS file of the repository)",
			pathString(p), msg)))
	}
	return errs
}

// fieldsOf lists the regular fields of the struct at path in v, sorted; nil
// when there is no struct there.
func fieldsOf(v cue.Value, path ...string) []string {
	sels := make([]cue.Selector, len(path))
	for i, p := range path {
		sels[i] = cue.Str(p)
	}
	return fieldsAt(v.LookupPath(cue.MakePath(sels...))).names
}

// fields are the regular fields of a struct: their names, sorted (nil when
// the value is no struct), and their values by name. Looking a field up in a
// struct of n fields costs time in n: a check that visits every field takes
// its value from here.
type fields struct {
	names  []string
	values map[string]cue.Value
}

// fieldsAt lists the regular fields of the struct s.
func fieldsAt(s cue.Value) fields {
	it, err := s.Fields()
	if err != nil {
		return fields{}
	}
	f := fields{names: []string{}, values: map[string]cue.Value{}}
	for it.Next() {
		if it.Selector().IsString() {
			name := it.Selector().Unquoted()
			f.names = append(f.names, name)
			f.values[name] = it.Value()
		}
	}
	slices.Sort(f.names)
	return f
}

// listOf is the elements of the list v, or nil when v is not a list.
func listOf(v cue.Value) []cue.Value {
	it, err := v.List()
	if err != nil {
		return nil
	}
	var out []cue.Value
	for it.Next() {
		out = append(out, it.Value())
	}
	return out
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
