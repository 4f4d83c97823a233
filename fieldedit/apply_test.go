package fieldedit

import (
	"strings"
	"testing"
)

func at(s string) Path { return Path(strings.Split(s, ".")) }

// Each case edits one file and must give exactly the text wanted: every
// byte the change does not need is left as it was.
func TestApplyEditsInPlace(t *testing.T) {
	cases := []struct {
		name, file, src string
		change          Change
		want            string
	}{
		{"cue shorthand set", "a.cue", "package x\n\n// web's release\nservices: web: artifact: \"v2\" // pinned\n",
			Change{Path: at("services.web.artifact"), Value: "v1"},
			"package x\n\n// web's release\nservices: web: artifact: \"v1\" // pinned\n"},
		{"cue braced set number", "a.cue", "package x\nservices: web: {\n\trun: {\n\t\treplicas: 3\n\t}\n}\n",
			Change{Path: at("services.web.run.replicas"), Value: 2.0},
			"package x\nservices: web: {\n\trun: {\n\t\treplicas: 2\n\t}\n}\n"},
		{"cue add in braces", "a.cue", "package x\nservices: web: {\n\trun: {\n\t\treplicas: 3\n\t}\n}\n",
			Change{Path: at("services.web.run.env.GREETING"), Value: "hi"},
			"package x\nservices: web: {\n\trun: {\n\t\treplicas: 3\n\t\tenv: GREETING: \"hi\"\n\t}\n}\n"},
		{"cue add one line braces", "a.cue", "package x\nservices: web: run: {replicas: 3}\n",
			Change{Path: at("services.web.run.env.A-B"), Value: "x"},
			"package x\nservices: web: run: {replicas: 3, env: \"A-B\": \"x\"}\n"},
		{"cue add to shorthand appends", "a.cue", "package x\nservices: web: artifact: \"v1\"",
			Change{Path: at("services.web.hold"), Value: true},
			"package x\nservices: web: artifact: \"v1\"\nservices: web: hold: true\n"},
		{"cue remove shorthand chain", "a.cue", "package x\nservices: web: artifact: \"v1\"\n// the env\nservices: web: run: env: A: \"1\"\nservices: web: hold: true\n",
			Change{Path: at("services.web.run.env.A"), Delete: true},
			"package x\nservices: web: artifact: \"v1\"\nservices: web: hold: true\n"},
		{"cue remove in one line", "a.cue", "package x\nservices: web: run: env: {A: \"1\", B: \"2\"}\n",
			Change{Path: at("services.web.run.env.A"), Delete: true},
			"package x\nservices: web: run: env: {B: \"2\"}\n"},
		{"cue list element", "a.cue", "package x\nservices: web: strategy: steps: [{weight: 10}, {weight: 50}]\n",
			Change{Path: at("services.web.strategy.steps.1.weight"), Value: 40.0},
			"package x\nservices: web: strategy: steps: [{weight: 10}, {weight: 40}]\n"},
		{"cue whole list", "a.cue", "package x\nservices: web: run: args: [\n\t\"-a\",\n]\n",
			Change{Path: at("services.web.run.args"), Value: []any{"-b", "-c"}},
			"package x\nservices: web: run: args: [\"-b\", \"-c\"]\n"},
		{"yaml plain set", "w.yaml", "services:\n  web:\n    artifact: v2   # pinned\n    hold: false\n",
			Change{Path: at("services.web.artifact"), Value: "v1"},
			"services:\n  web:\n    artifact: \"v1\"   # pinned\n    hold: false\n"},
		{"yaml quoted set", "w.yaml", "services: {web: {artifact: 'it''s', hold: true}}\n",
			Change{Path: at("services.web.artifact"), Value: "v1"},
			"services: {web: {artifact: \"v1\", hold: true}}\n"},
		{"yaml block list set", "w.yaml", "services:\n  web:\n    run:\n      args:\n      - a\n      - b\n    hold: true\n",
			Change{Path: at("services.web.run.args"), Value: []any{"c"}},
			"services:\n  web:\n    run:\n      args: [\"c\"]\n    hold: true\n"},
		{"yaml add", "w.yaml", "services:\n  web:\n    run:\n      replicas: 2\n    hold: true\n",
			Change{Path: at("services.web.run.env.GREETING"), Value: "hi"},
			"services:\n  web:\n    run:\n      replicas: 2\n      env: {\"GREETING\": \"hi\"}\n    hold: true\n"},
		{"yaml remove", "w.yaml", "services:\n  web:\n    run:\n      env:\n        A: x\n        B: |\n          two\n          lines\n      replicas: 1\n",
			Change{Path: at("services.web.run.env.B"), Delete: true},
			"services:\n  web:\n    run:\n      env:\n        A: x\n      replicas: 1\n"},
		{"yaml remove last leaves empty", "w.yaml", "services:\n  web:\n    run:\n      env:\n        A: x\n      replicas: 1\n",
			Change{Path: at("services.web.run.env.A"), Delete: true},
			"services:\n  web:\n    run:\n      env: {}\n      replicas: 1\n"},
		{"json set and remove", "w.json", "{\n  \"services\": {\"web\": {\"artifact\": \"v2\", \"hold\": true}}\n}\n",
			Change{Path: at("services.web.hold"), Delete: true},
			"{\n  \"services\": {\"web\": {\"artifact\": \"v2\"}}\n}\n"},
		{"json add", "w.json", "{\"services\": {\"web\": {\"artifact\": \"v2\"}}}",
			Change{Path: at("services.web.run.replicas"), Value: 3.0},
			"{\"services\": {\"web\": {\"run\": {\"replicas\": 3}, \"artifact\": \"v2\"}}}"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, err := Apply(Files{c.file: []byte(c.src)}, []Change{c.change})
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			if got := string(out[c.file]); got != c.want {
				t.Errorf("got\n%s\nwant\n%s", got, c.want)
			}
		})
	}
}

// What cannot be edited in place is refused with its position and why.
func TestApplyRefusesWithThePlace(t *testing.T) {
	cases := []struct {
		name, file, src string
		change          Change
		want            string
	}{
		{"cue expression", "a.cue", "package x\n_v: \"v1\"\nservices: web: artifact: _v\n",
			Change{Path: at("services.web.artifact"), Value: "v0"}, "a.cue:3:26: the value is an expression"},
		{"yaml alias", "w.yaml", "a: &x v1\nservices:\n  web:\n    artifact: *x\n",
			Change{Path: at("services.web.artifact"), Value: "v0"}, "w.yaml:4:15: the file uses YAML anchors and aliases"},
		{"nothing written", "a.cue", "package x\ntargets: a: zone: \"z\"\n",
			Change{Path: at("services.web.artifact"), Value: "v0"}, "no file writes services.web: add it by hand"},
		{"remove a default", "a.cue", "package x\nservices: web: artifact: \"v\"\n",
			Change{Path: at("services.web.hold"), Delete: true}, "no file writes services.web.hold"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Apply(Files{c.file: []byte(c.src)}, []Change{c.change})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Apply: %v, want an error containing %q", err, c.want)
			}
		})
	}
}
