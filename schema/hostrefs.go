package schema

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"cuelang.org/go/cue"
)

// hostAddress is what a repository wrote for a router's admin or a Docker
// engine before the host file named them: HOST:PORT, unix:// or tcp://.
var hostAddress = regexp.MustCompile(`^(unix|tcp)://|^([A-Za-z0-9][A-Za-z0-9.-]*|\[[0-9A-Fa-f:.]+\]):[0-9]{1,5}$`)

// oldHostForms finds, in the user's own value, what a target bound on the
// host before the operator's host file (durable run --host-config) named it:
// an exec command, a Docker engine address, an HAProxy socket path, a
// router admin address. Each is an error that shows the new form, replacing
// what CUE says of the same path (an unknown field, a value that is not a
// name).
func oldHostForms(v cue.Value, x *explainer) Errors {
	var errs Errors
	for _, target := range fieldsOf(v, "targets") {
		for _, role := range []string{"runtime", "traffic"} {
			at := []cue.Selector{cue.Str("targets"), cue.Str(target), cue.Str(role)}
			adapter := v.LookupPath(cue.MakePath(at...))
			kind, _ := adapter.LookupPath(cue.MakePath(cue.Str("kind"))).String()
			for _, old := range oldForms {
				if old.kind != kind && old.field != "command" {
					continue
				}
				p := append(append([]cue.Selector{}, at...), cue.Str(old.field))
				value := adapter.LookupPath(cue.MakePath(cue.Str(old.field)))
				if msg, ok := old.message(value); ok {
					errs = append(errs, x.errorAt(p, pathString(p)+": "+msg))
				}
			}
		}
	}
	return errs
}

// oldForm is one field whose value the operator now names.
type oldForm struct {
	kind, field string
	is          func(cue.Value) (string, bool) // the old value, as the host file writes it
	section     string                         // of the host file
	entry       string                         // the host file's field
	what        string                         // what the operator names
}

var oldForms = []oldForm{
	{kind: "exec", field: "command", section: "plugins", entry: "command", what: "exec plug-ins", is: isCommand},
	{kind: "docker", field: "host", section: "docker", entry: "host", what: "Docker engines", is: isAddress},
	{kind: "haproxy", field: "socket", section: "haproxy", entry: "socket", what: "HAProxy sockets", is: isPath},
	{kind: "router", field: "admin", section: "routers", entry: "admin", what: "router admin addresses", is: isAddress},
}

func (o oldForm) message(v cue.Value) (string, bool) {
	if !v.Exists() {
		return "", false
	}
	old, ok := o.is(v)
	if !ok {
		return "", false
	}
	noun, field := "an address", o.field
	switch o.field {
	case "command":
		noun, field = "a command", "plugin"
	case "socket":
		noun = "a path"
	}
	return fmt.Sprintf("%s is %s: since this version the operator names %s in --host-config; write %s: \"NAME\" and add %s: {NAME: {%s: %s}} to the host file",
		shorten(old), noun, o.what, field, o.section, o.entry, shorten(old)), true
}

func isCommand(v cue.Value) (string, bool) {
	b, err := v.MarshalJSON()
	if err != nil || v.Kind() != cue.ListKind {
		return "", false
	}
	var args []string
	if json.Unmarshal(b, &args) != nil {
		return "", false
	}
	out, _ := json.Marshal(args)
	return strings.ReplaceAll(string(out), `","`, `", "`), true
}

func isAddress(v cue.Value) (string, bool) {
	s, err := v.String()
	if err != nil || !hostAddress.MatchString(s) {
		return "", false
	}
	return quoteShort(s), true
}

func isPath(v cue.Value) (string, bool) {
	s, err := v.String()
	if err != nil || !strings.HasPrefix(s, "/") {
		return "", false
	}
	return quoteShort(s), true
}

// withOldHostForms puts the old forms' errors in place of what CUE says of
// the same paths.
func withOldHostForms(errs Errors, v cue.Value, x *explainer) Errors {
	old := oldHostForms(v, x)
	if len(old) == 0 {
		return errs
	}
	replaced := map[string]bool{}
	for _, e := range old {
		replaced[e.Path] = true
		// A command's replacement, plugin, is then missing: the new form
		// says so already.
		if p, ok := strings.CutSuffix(e.Path, ".command"); ok {
			replaced[p+".plugin"] = true
		}
	}
	out := make(Errors, 0, len(errs)+len(old))
	for _, e := range errs {
		if !replaced[e.Path] {
			out = append(out, e)
		}
	}
	return append(out, old...)
}
