package schema

import (
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/durable-delivery/durable/examples"
)

// quickstartWith is the quickstart's desired state (its files at the root)
// with files replaced or added.
func quickstartWith(t *testing.T, files map[string]string) fstest.MapFS {
	t.Helper()
	fsys := fstest.MapFS{}
	src := examples.Quickstart()
	entries, err := fs.ReadDir(src, ".")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		data, err := fs.ReadFile(src, e.Name())
		if err != nil {
			t.Fatal(err)
		}
		fsys[e.Name()] = &fstest.MapFile{Data: data}
	}
	for name, text := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(text)}
	}
	return fsys
}

// A misspelt field is rejected at any depth, in CUE, YAML and JSON alike,
// with its position and the field meant, and so is a field the schema does
// not allow where it is written — whether or not anything else is wrong in
// the repository (issue 12).
func TestTyposAreRejected(t *testing.T) {
	b, err := fs.ReadFile(examples.Quickstart(), "service.cue")
	if err != nil {
		t.Fatal(err)
	}
	service := string(b)
	cases := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"root field in CUE", map[string]string{"extra.cue": "package quickstart\n\nservcies: web: replicas: 2\n"},
			`extra.cue:3:1: field "servcies" is not allowed at the top level (allowed: services, targets, pipeline, hosts); did you mean "services"?`},
		{"root field in YAML", map[string]string{"extra.yaml": "servcies:\n  web:\n    replicas: 2\n"},
			`extra.yaml:1:1: field "servcies" is not allowed at the top level (allowed: services, targets, pipeline, hosts); did you mean "services"?`},
		{"root field in JSON", map[string]string{"extra.json": "{\"servcies\": {\"web\": {\"replicas\": 2}}}\n"},
			`extra.json:1:2: field "servcies" is not allowed at the top level (allowed: services, targets, pipeline, hosts); did you mean "services"?`},
		{"service field in CUE", map[string]string{"service.cue": strings.Replace(service, "\thealth:", "\thelth:", 1)},
			`service.cue:10:2: field "helth" is not allowed in services.web (allowed: name, artifact, run, health, strategy, hold, dependsOn); did you mean "health"?`},
		{"service field in YAML", map[string]string{"extra.yaml": "services:\n  web:\n    helth:\n      path: /healthz\n"},
			`extra.yaml:3:5: field "helth" is not allowed in services.web (allowed: name, artifact, run, health, strategy, hold, dependsOn); did you mean "health"?`},
		{"service field in JSON", map[string]string{"extra.json": "{\"services\": {\"web\": {\"helth\": {\"path\": \"/healthz\"}}}}\n"},
			`extra.json:1:23: field "helth" is not allowed in services.web (allowed: name, artifact, run, health, strategy, hold, dependsOn); did you mean "health"?`},
		{"health field in CUE", map[string]string{"service.cue": strings.Replace(service, "\t\tpath:", "\t\tpth: ", 1)},
			`service.cue:11:3: field "pth" is not allowed in services.web.health (allowed: path, expectStatus, interval, timeout, startPeriod); did you mean "path"?`},
		{"health field in YAML", map[string]string{"extra.yaml": "services:\n  web:\n    health:\n      pth: /healthz\n"},
			`extra.yaml:4:7: field "pth" is not allowed in services.web.health (allowed: path, expectStatus, interval, timeout, startPeriod); did you mean "path"?`},
		{"health field in JSON", map[string]string{"extra.json": "{\"services\": {\"web\": {\"health\": {\"pth\": \"/healthz\"}}}}\n"},
			`extra.json:1:34: field "pth" is not allowed in services.web.health (allowed: path, expectStatus, interval, timeout, startPeriod); did you mean "path"?`},
		// Fields the Go types know but the schema does not allow there.
		{"preview on a canary", map[string]string{"service.cue": strings.Replace(service, "\t\tkeepWarm: 1\n", "\t\tkeepWarm: 1\n\t\tpreview:  true\n", 1)},
			`service.cue:19:3: field "preview" is not allowed in services.web.strategy (allowed: kind, keepWarm, progressDeadline, steps, analysis, warmMode)`},
		{"steps on a blue-green", map[string]string{"extra.cue": "package quickstart\n\nservices: api: {\n\tartifact: \"registry.example/api@" + digest + "\"\n\tstrategy: {kind: \"blueGreen\", steps: [{weight: 10}]}\n}\n"},
			`extra.cue:5:32: field "steps" is not allowed in services.api.strategy (allowed: kind, keepWarm, preview, progressDeadline, warmMode)`},
		{"a field of the Go types only", map[string]string{"extra.cue": "package quickstart\n\nservices: web: secretsDigest: \"x\"\n"},
			`extra.cue:3:16: field "secretsDigest" is not allowed in services.web (allowed: name, artifact, run, health, strategy, hold, dependsOn)`},
		{"secret name outside the pattern", map[string]string{"extra.cue": "package quickstart\n\nservices: web: run: secretEnv: \"1X\": env: \"A\"\n"},
			`extra.cue:3:32: field "1X" is not allowed in services.web.run.secretEnv`},
		{"secret source misspelt", map[string]string{"extra.cue": "package quickstart\n\nservices: web: run: secretEnv: X: fle: \"/etc/x\"\n"},
			"extra.cue:3:32: services.web.run.secretEnv.X: names no source; give exactly one of file (a file in the operator's --secrets-dir), env (a variable of the reconciler the operator allows) or sops (a key of a SOPS file of the repository)\n" +
				`extra.cue:3:35: field "fle" is not allowed in services.web.run.secretEnv.X (allowed: file, env, sops); did you mean "file"?`},
		// A struct discriminated by kind, its kind not written.
		{"strategy field, the kind left to its default", map[string]string{"extra.cue": "package quickstart\n\nservices: api: {\n\tartifact: \"registry.example/api@" + digest + "\"\n\tstrategy: keepWarn: 1\n}\n"},
			`extra.cue:5:12: field "keepWarn" is not allowed in services.api.strategy (allowed: kind, keepWarm, preview, progressDeadline, warmMode); did you mean "keepWarm"?`},
		{"canary steps, the kind left to its default", map[string]string{"extra.cue": "package quickstart\n\nservices: api: {\n\tartifact: \"registry.example/api@" + digest + "\"\n\tstrategy: steps: [{weight: 10}]\n}\n"},
			`extra.cue:5:12: field "steps" is not allowed in services.api.strategy (allowed: kind, keepWarm, preview, progressDeadline, warmMode)`},
		{"runtime kind misspelt", map[string]string{"extra.cue": "package quickstart\n\ntargets: other: {\n\truntime: ind: \"process\"\n\ttraffic: {kind: \"router\", admin: \"west\"}\n}\n"},
			"extra.cue:4:2: targets.other.runtime.kind is missing; write \"process\", \"docker\" or \"exec\"\n" +
				"extra.cue:4:2: targets.other.runtime: a struct is not valid; write runtime: kind: \"process\"; or runtime: {kind: \"docker\", host?: \"ENGINE-NAME\", network?: \"NAME\", owner?: \"name\", labels?: {NAME: \"value\"}}; or runtime: {kind: \"exec\", plugin: \"PLUGIN-NAME\", timeout?: \"30s\"}, naming what the host file (durable run --host-config) declares\n" +
				`extra.cue:4:11: field "ind" is not allowed in targets.other.runtime (allowed: kind, maxUnpackBytes, host, network, owner, labels, plugin, timeout); did you mean "kind"?`},
		// Names the schema's definitions once had inside the user's package
		// (in the quick evaluation, since removed) are not the user's to use.
		{"a schema definition named", map[string]string{"extra.cue": "package quickstart\n\nservices: web: hold: #_durable_Service.hold\n"},
			`extra.cue:3:22: services.web.hold: reference "#_durable_Service" not found`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			errs := loadErrors(t, quickstartWith(t, c.files))
			if got := errs.Error(); got != c.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, c.want)
			}
		})
	}
}
