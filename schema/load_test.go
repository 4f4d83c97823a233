package schema

import (
	"errors"
	"maps"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/durable-delivery/durable/examples"
)

const digest = "sha256:abababababababababababababababababababababababababababababababab"

// baseRepo is a small valid repository; cases replace or add files.
var baseRepo = map[string]string{
	"service.cue": `package demo

services: web: artifact: "registry.example/web@` + digest + `"
`,
	"targets.cue": `package demo

targets: local: {
	runtime: kind: "process"
	traffic: {kind: "router", admin: "edge"}
}
pipeline: stages: [{name: "local", targets: ["local"]}]
`,
}

// repo is baseRepo with files replaced or added; an empty text removes one.
func repo(files map[string]string) fstest.MapFS {
	all := maps.Clone(baseRepo)
	maps.Copy(all, files)
	fsys := fstest.MapFS{}
	for name, text := range all {
		if text != "" {
			fsys[name] = &fstest.MapFile{Data: []byte(text)}
		}
	}
	return fsys
}

// loadErrors loads fsys and returns its Errors, failing if it loads.
func loadErrors(t *testing.T, fsys fstest.MapFS) Errors {
	t.Helper()
	ds, err := Load(fsys)
	if err == nil {
		t.Fatalf("Load succeeded (%+v), want errors", ds)
	}
	var errs Errors
	if !errors.As(err, &errs) {
		t.Fatalf("Load error is %T (%v), want schema.Errors", err, err)
	}
	return errs
}

func TestLoadQuickstart(t *testing.T) {
	ds, err := Load(examples.Quickstart())
	if err != nil {
		t.Fatalf("Load(quickstart): %v", err)
	}
	web, ok := ds.Services["web"]
	if !ok {
		t.Fatalf("no service web in %+v", ds.Services)
	}
	checks := []struct {
		what      string
		got, want any
	}{
		{"name", web.Name, "web"},
		{"artifact", web.Artifact, "127.0.0.1:5000/quickstart/web@sha256:0000000000000000000000000000000000000000000000000000000000000000"},
		{"replicas", web.Run.Replicas, 2},
		{"port (default)", web.Run.Port, 8080},
		{"args (default)", len(web.Run.Args), 0},
		{"env", web.Run.Env["GREETING"], "hello"},
		{"health path", web.Health.Path, "/healthz"},
		{"expectStatus (default)", web.Health.ExpectStatus, 200},
		{"interval (default)", web.Health.Interval.Duration, 2 * time.Second},
		{"timeout", web.Health.Timeout.Duration, time.Second},
		{"strategy", web.Strategy.Kind, "canary"},
		{"canary steps", len(web.Strategy.Steps), 2},
		{"first step weight", web.Strategy.Steps[0].Weight, 10},
		{"first step bake time", web.Strategy.Steps[0].Bake.Time.Duration, 2 * time.Second},
		{"first step bake requests", web.Strategy.Steps[0].Bake.Requests, uint64(50)},
		{"analysis max error rate", web.Strategy.Analysis.MaxErrorRate, 0.01},
		{"analysis min requests", web.Strategy.Analysis.MinRequests, uint64(20)},
		{"keepWarm", web.Strategy.KeepWarm, 1},
		{"progressDeadline (default)", web.Strategy.ProgressDeadline.Duration, 2 * time.Minute},
		{"target name", ds.Targets["local"].Name, "local"},
		{"zone", ds.Targets["local"].Zone, "local"},
		{"runtime", ds.Targets["local"].Runtime.Kind, "process"},
		{"runtime config", string(ds.Targets["local"].Runtime.Config), "{}"},
		{"traffic", ds.Targets["local"].Traffic.Kind, "router"},
		{"traffic config", string(ds.Targets["local"].Traffic.Config), `{"admin":"edge"}`},
		{"stages", len(ds.Pipeline.Stages), 1},
		{"stage", ds.Pipeline.Stages[0].Name, "local"},
		{"stage targets", strings.Join(ds.Pipeline.Stages[0].Targets, ","), "local"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
		}
	}
}

func TestLoadDefaults(t *testing.T) {
	ds, err := Load(repo(nil))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	web := ds.Services["web"]
	if web.Run.Replicas != 2 || web.Run.Port != 8080 || web.Run.Env == nil || web.Run.Args == nil {
		t.Errorf("run defaults = %+v, want replicas 2, port 8080, empty args and env", web.Run)
	}
	if web.Health.Path != "/healthz" || web.Health.ExpectStatus != 200 || web.Health.Interval.Duration != 2*time.Second || web.Health.Timeout.Duration != time.Second {
		t.Errorf("health defaults = %+v", web.Health)
	}
	if web.Strategy.Kind != "blueGreen" || web.Strategy.KeepWarm != 1 || web.Strategy.ProgressDeadline.Duration != 2*time.Minute {
		t.Errorf("strategy defaults = %+v", web.Strategy)
	}
	if zone := ds.Targets["local"].Zone; zone != "default" {
		t.Errorf("zone default = %q, want default", zone)
	}

	ds, err = Load(repo(map[string]string{"canary.cue": "package demo\n\nservices: web: strategy: {kind: \"canary\", steps: [{weight: 5}]}\n"}))
	if err != nil {
		t.Fatalf("Load a canary: %v", err)
	}
	st := ds.Services["web"].Strategy
	if len(st.Steps) != 1 || st.Steps[0].Bake.Time.Duration != 30*time.Second || st.Steps[0].Bake.Requests != 100 || st.Analysis == nil ||
		*st.Analysis != (Analysis{MaxErrorRate: 0.01, MaxErrorRateIncrease: 0.01, MinRequests: 20, MaxLatencyIncrease: 2}) {
		t.Errorf("canary defaults = %+v, analysis %+v", st, st.Analysis)
	}
}

func TestLoadValidVariants(t *testing.T) {
	cases := []struct {
		name  string
		files map[string]string
		check func(t *testing.T, ds *DesiredState)
	}{{
		name: "every field written, stdlib import, two stages",
		files: map[string]string{
			"service.cue": `package demo

import "strings"

services: web: {
	artifact: "registry.example/web@` + digest + `"
	run: {args: ["--greeting", strings.ToUpper("hi")], env: {A: "1"}, port: 9000, replicas: 64}
	health: {path: "/ready", expectStatus: 204, interval: "1m30s", timeout: "500ms"}
	strategy: {kind: "blueGreen", keepWarm: 0, progressDeadline: "1h"}
}
`,
			"targets.cue": `package demo

targets: a: {zone: "z1", runtime: kind: "process", traffic: {kind: "router", admin: "a"}}
targets: b: {runtime: kind: "process", traffic: {kind: "router", admin: "b"}}
pipeline: stages: [{name: "one", targets: ["a"]}, {name: "two", targets: ["b"]}]
`,
		},
		check: func(t *testing.T, ds *DesiredState) {
			web := ds.Services["web"]
			if got := strings.Join(web.Run.Args, " "); got != "--greeting HI" {
				t.Errorf("args = %q", got)
			}
			if web.Run.Replicas != 64 || web.Strategy.KeepWarm != 0 || web.Health.Interval.Duration != 90*time.Second {
				t.Errorf("service = %+v", web)
			}
			if len(ds.Pipeline.Stages) != 2 || ds.Pipeline.Stages[1].Targets[0] != "b" {
				t.Errorf("stages = %+v", ds.Pipeline.Stages)
			}
		},
	}, {
		name: "hostile but valid strings are kept exactly",
		files: map[string]string{"extra.cue": `package demo

services: web: run: env: {
	BIDI:  "\u202eevil\u202c"
	CTRL:  "\u001b[31mred\u0007"
	UTF8:  "héllo wörld ☃ 𝄞"
	LONG:  "` + strings.Repeat("x", 100_000) + `"
}
`},
		check: func(t *testing.T, ds *DesiredState) {
			env := ds.Services["web"].Run.Env
			if env["BIDI"] != "\u202eevil\u202c" || env["CTRL"] != "\x1b[31mred\a" || env["UTF8"] != "héllo wörld ☃ 𝄞" || len(env["LONG"]) != 100_000 {
				t.Errorf("env not kept exactly: %q %q %q len %d", env["BIDI"], env["CTRL"], env["UTF8"], len(env["LONG"]))
			}
		},
	}, {
		name: "sub-directories and other files are ignored",
		files: map[string]string{
			"README.md":        "# not CUE",
			"sub/broken.cue":   "package other\nthis is not CUE {",
			"policy/deny.rego": "package durable.admission",
			".#service.cue":    "editor lock file",
			"_draft.cue":       "package other\nnot even CUE {",
		},
		check: func(t *testing.T, ds *DesiredState) {
			if len(ds.Services) != 1 {
				t.Errorf("services = %+v", ds.Services)
			}
		},
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ds, err := Load(repo(c.files))
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			c.check(t, ds)
		})
	}
}

// TestLoadErrors asserts the whole output a user sees for each broken
// repository: every line, with its file:line:col.
func TestLoadErrors(t *testing.T) {
	cases := []struct {
		name  string
		files map[string]string
		want  []string
	}{{
		name: "unknown field",
		files: map[string]string{"service.cue": `package demo

services: web: {
	artifact: "registry.example/web@` + digest + `"
	run: replica: 3
}
`},
		want: []string{`service.cue:5:7: field "replica" is not allowed in services.web.run (allowed: args, env, port, replicas, resources, secretEnv); did you mean "replicas"?`},
	}, {
		name:  "unknown top-level field",
		files: map[string]string{"extra.cue": "package demo\n\nservicess: {}\n"},
		want:  []string{`extra.cue:3:1: field "servicess" is not allowed at the top level (allowed: services, targets, pipeline, hosts); did you mean "services"?`},
	}, {
		name:  "missing artifact",
		files: map[string]string{"service.cue": "package demo\n\nservices: web: run: replicas: 3\n"},
		want:  []string{`service.cue:3:11: services.web.artifact is missing; write it as REPOSITORY@sha256:<64 hex digits>`},
	}, {
		name:  "artifact not concrete",
		files: map[string]string{"service.cue": "package demo\n\nservices: web: artifact: string\n"},
		want:  []string{`service.cue:3:16: services.web.artifact has no concrete value; write it as REPOSITORY@sha256:<64 hex digits>`},
	}, {
		name:  "tag-only artifact",
		files: map[string]string{"service.cue": "package demo\n\nservices: web: artifact: \"repo:tag\"\n"},
		want:  []string{`service.cue:3:26: services.web.artifact: "repo:tag" is not pinned by digest; write it as REPOSITORY@sha256:<64 hex digits>`},
	}, {
		name:  "short digest",
		files: map[string]string{"extra.cue": "package demo\n\nservices: api: artifact: \"repo@sha256:abc\"\n"},
		want:  []string{`extra.cue:3:26: services.api.artifact: "repo@sha256:abc" is not pinned by digest; write it as REPOSITORY@sha256:<64 hex digits>`},
	}, {
		name:  "wrong type",
		files: map[string]string{"extra.cue": "package demo\n\nservices: web: run: replicas: \"two\"\n"},
		want:  []string{`extra.cue:3:31: services.web.run.replicas: "two" is a string, not an integer; write an integer from 1 to 64`},
	}, {
		name:  "struct where a string belongs",
		files: map[string]string{"extra.cue": "package demo\n\nservices: web: health: path: {x: 1}\n"},
		want:  []string{`extra.cue:3:30: services.web.health.path: a struct is a struct, not a string; write an HTTP path starting with "/", e.g. "/healthz"`},
	}, {
		name:  "bad duration",
		files: map[string]string{"extra.cue": "package demo\n\nservices: web: health: interval: \"2 s\"\n"},
		want:  []string{`extra.cue:3:34: services.web.health.interval: "2 s" is not a positive Go duration; write a positive Go duration such as "500ms", "2s" or "1m30s"`},
	}, {
		name:  "zero duration",
		files: map[string]string{"extra.cue": "package demo\n\nservices: web: strategy: progressDeadline: \"0s\"\n"},
		want:  []string{`extra.cue:3:44: services.web.strategy.progressDeadline: "0s" is not a positive Go duration; write a positive Go duration such as "90s" or "2m"`},
	}, {
		name:  "overflowing duration",
		files: map[string]string{"extra.cue": "package demo\n\nservices: web: health: timeout: \"9999999999999h\"\n"},
		want:  []string{`extra.cue:3:33: services.web.health.timeout: "9999999999999h" is not a positive Go duration; write a positive Go duration such as "500ms", "2s" or "1m30s"`},
	}, {
		name:  "replicas 0",
		files: map[string]string{"extra.cue": "package demo\n\nservices: web: run: replicas: 0\n"},
		want:  []string{`extra.cue:3:31: services.web.run.replicas: 0 is out of range; write an integer from 1 to 64`},
	}, {
		name:  "replicas 1000",
		files: map[string]string{"extra.cue": "package demo\n\nservices: web: run: replicas: 1000\n"},
		want:  []string{`extra.cue:3:31: services.web.run.replicas: 1000 is out of range; write an integer from 1 to 64`},
	}, {
		name:  "replicas not whole",
		files: map[string]string{"extra.cue": "package demo\n\nservices: web: run: replicas: 1.5\n"},
		want:  []string{`extra.cue:3:31: services.web.run.replicas: 1.5 is a number, not an integer; write an integer from 1 to 64`},
	}, {
		name:  "keepWarm -1",
		files: map[string]string{"extra.cue": "package demo\n\nservices: web: strategy: keepWarm: -1\n"},
		want:  []string{`extra.cue:3:36: services.web.strategy.keepWarm: -1 is out of range; write how many previous infra-sets stay warm, an integer from 0 to 10`},
	}, {
		name:  "unknown strategy kind",
		files: map[string]string{"extra.cue": "package demo\n\nservices: web: strategy: kind: \"rolling\"\n"},
		want:  []string{`extra.cue:3:32: services.web.strategy.kind: "rolling" is not a strategy kind; write "blueGreen" (switch all traffic once healthy) or "canary" (weighted steps, each baked and analysed)`},
	}, {
		name:  "canary without steps",
		files: map[string]string{"extra.cue": "package demo\n\nservices: web: strategy: kind: \"canary\"\n"},
		want:  []string{`extra.cue:3:16: services.web.strategy.steps is missing; strategy holds kind ("blueGreen" or "canary"), keepWarm, progressDeadline, and for a canary steps: [{weight: 10, bake: {time: "30s", requests: 100}}, ...] and analysis: {maxErrorRate: 0.01}`},
	}, {
		name:  "canary step weight out of range",
		files: map[string]string{"extra.cue": "package demo\n\nservices: web: strategy: {kind: \"canary\", steps: [{weight: 100}]}\n"},
		want:  []string{`extra.cue:3:60: services.web.strategy.steps[0].weight: 100 is out of range; write the canary's share of traffic at this step, a percentage from 1 to 99 (the last promotion to 100 follows the last step)`},
	}, {
		name:  "canary step typo",
		files: map[string]string{"extra.cue": "package demo\n\nservices: web: strategy: {kind: \"canary\", steps: [{weight: 10, bake: {time: \"1s\", request: 5}}]}\n"},
		want:  []string{`extra.cue:3:83: field "request" is not allowed in services.web.strategy.steps[0].bake (allowed: time, requests); did you mean "requests"?`},
	}, {
		name:  "env value not a string",
		files: map[string]string{"extra.cue": "package demo\n\nservices: web: run: env: PORT: 80\n"},
		want:  []string{`extra.cue:3:32: services.web.run.env.PORT: 80 is an integer, not a string; write env as NAME: "value" pairs of strings`},
	}, {
		name:  "health path without slash",
		files: map[string]string{"extra.cue": "package demo\n\nservices: web: health: path: \"healthz\"\n"},
		want:  []string{`extra.cue:3:30: services.web.health.path: "healthz" does not start with "/"; write an HTTP path starting with "/", e.g. "/healthz"`},
	}, {
		name:  "service name not a DNS label",
		files: map[string]string{"extra.cue": "package demo\n\nservices: Web_1: artifact: \"r@" + digest + "\"\n"},
		want:  []string{`extra.cue:3:11: services.Web_1.name: "Web_1" is not a valid name; name a service with 1 to 63 lowercase letters, digits or '-', starting with a letter or digit`},
	}, {
		name:  "runtime with a field it does not have",
		files: map[string]string{"extra.cue": "package demo\n\ntargets: local: runtime: dir: \"/tmp\"\n"},
		want:  []string{`extra.cue:3:26: field "dir" is not allowed in targets.local.runtime (allowed: kind, maxUnpackBytes)`},
	}, {
		name:  "bad admin name",
		files: map[string]string{"extra.cue": "package demo\n\ntargets: edge: {runtime: kind: \"process\", traffic: {kind: \"router\", admin: \"http://x\"}}\n"},
		want:  []string{`extra.cue:3:76: targets.edge.traffic.admin: "http://x" is not a router name; write the name of a router of the host file, e.g. admin: "edge"`},
	}, {
		name: "missing target reference",
		files: map[string]string{"targets.cue": `package demo

targets: local: {
	runtime: kind: "process"
	traffic: {kind: "router", admin: "edge"}
}
pipeline: stages: [{name: "local", targets: ["local", "prod"]}]
`},
		want: []string{`targets.cue:7:55: pipeline.stages[0].targets[1]: target "prod" is not declared; declare it under targets or use one of: local`},
	}, {
		name:  "target on an undeclared host",
		files: map[string]string{"extra.cue": "package demo\n\nhosts: a1: address: \"10.0.0.1:7443\"\ntargets: local: host: \"a2\"\n"},
		want:  []string{`extra.cue:4:17: targets.local.host: host "a2" is not declared; did you mean "a1"? Otherwise declare it under hosts or use one of: a1`},
	}, {
		name:  "target on a host with no inventory",
		files: map[string]string{"extra.yaml": "targets:\n  local:\n    host: a1\n"},
		want:  []string{`extra.yaml:3:5: targets.local.host: host "a1" is not declared; declare it: hosts: "a1": address: "ADDRESS:PORT" (its agent's)`},
	}, {
		name:  "host address without a port",
		files: map[string]string{"extra.cue": "package demo\n\nhosts: a1: address: \"10.0.0.1\"\n"},
		want:  []string{`extra.cue:3:21: hosts.a1.address: "10.0.0.1" is not HOST:PORT; write the agent's address as HOST:PORT, e.g. "10.0.1.11:7443" or "a1.example.net:7443"`},
	}, {
		name:  "missing target with no targets at all",
		files: map[string]string{"targets.cue": "package demo\n\npipeline: stages: [{name: \"a\", targets: [\"prod\"]}]\n"},
		want:  []string{`targets.cue:3:42: pipeline.stages[0].targets[0]: target "prod" is not declared; declare it: targets: "prod": {runtime: ..., traffic: ...}`},
	}, {
		name: "target used by two stages, duplicate stage name",
		files: map[string]string{"targets.cue": `package demo

targets: local: {
	runtime: kind: "process"
	traffic: {kind: "router", admin: "edge"}
}
pipeline: stages: [
	{name: "a", targets: ["local"]},
	{name: "a", targets: ["local", "local"]},
]
`},
		want: []string{
			`targets.cue:9:3: pipeline.stages[1].name: stage "a" is already declared as pipeline.stages[0]; give each stage its own name`,
			`targets.cue:9:24: pipeline.stages[1].targets[0]: target "local" already belongs to stage "a"; a target serves at most one stage, so declare another target`,
			`targets.cue:9:33: pipeline.stages[1].targets[1]: target "local" already belongs to stage "a"; a target serves at most one stage, so declare another target`,
		},
	}, {
		name:  "target listed twice in one stage",
		files: map[string]string{"targets.cue": strings.Replace(baseRepo["targets.cue"], `targets: ["local"]`, `targets: ["local", "local"]`, 1)},
		want:  []string{`targets.cue:7:55: pipeline.stages[0].targets[1]: target "local" is listed twice in stage "local"; list it once`},
	}, {
		name:  "empty pipeline",
		files: map[string]string{"targets.cue": strings.Replace(baseRepo["targets.cue"], `[{name: "local", targets: ["local"]}]`, `[]`, 1)},
		want:  []string{`targets.cue:7:11: pipeline.stages: a list is not valid; list at least one stage: stages: [{name: ..., targets: [...]}]`},
	}, {
		name:  "stage without targets",
		files: map[string]string{"targets.cue": strings.Replace(baseRepo["targets.cue"], `targets: ["local"]`, `targets: []`, 1)},
		want:  []string{`targets.cue:7:36: pipeline.stages[0].targets: a list is not valid; list at least one target name, e.g. targets: ["local"]`},
	}, {
		name:  "no pipeline",
		files: map[string]string{"targets.cue": "package demo\n\ntargets: {}\n"},
		want:  []string{`service.cue:1:9: pipeline is missing; declare pipeline: stages: [{name: ..., targets: [...]}]`},
	}, {
		name:  "no services",
		files: map[string]string{"service.cue": "package demo\n"},
		want:  []string{`service.cue:1:9: services: no service is declared; declare one, e.g. services: web: artifact: "REPOSITORY@sha256:<64 hex digits>"`},
	}, {
		name:  "syntax error",
		files: map[string]string{"service.cue": "package demo\n\nservices: web: {\n\tartifact: \"x\"\n"},
		want:  []string{`service.cue:4:16: syntax error: expected '}', found 'EOF'`},
	}, {
		name:  "unterminated string",
		files: map[string]string{"extra.cue": "package demo\n\nservices: web: artifact: \"abc\n"},
		want:  []string{`extra.cue:3:26: syntax error: string literal not terminated`},
	}, {
		name: "conflicting values across files",
		files: map[string]string{
			"a.cue": "package demo\n\nservices: web: run: replicas: 3\n",
			"b.cue": "package demo\n\nservices: web: run: replicas: 4\n",
		},
		want: []string{
			`a.cue:3:31: services.web.run.replicas: conflicting values 4 and 3; set it in one place only`,
			`b.cue:3:31: services.web.run.replicas: conflicting values 4 and 3; set it in one place only`,
		},
	}, {
		name:  "two packages",
		files: map[string]string{"extra.cue": "package other\n\nservices: web: run: replicas: 3\n"},
		want:  []string{`extra.cue:1:9: package "other" differs from package "demo" in service.cue; every .cue file at the repository root must be in one package`},
	}, {
		name:  "no package clause",
		files: map[string]string{"extra.cue": "services: web: run: replicas: 3\n"},
		want:  []string{`extra.cue:1:1: no package clause; start the file with "package demo", as in service.cue`},
	}, {
		name:  "import outside the standard library",
		files: map[string]string{"extra.cue": "package demo\n\nimport \"example.com/evil\"\n\nservices: web: run: replicas: evil.n\n"},
		want:  []string{`extra.cue:3:8: import "example.com/evil" is not allowed; a desired-state repository may import CUE's standard library, and its own packages once cue.mod/module.cue names its module (module: "example.com/shop@v0")`},
	}, {
		name:  "tool import",
		files: map[string]string{"extra.cue": "package demo\n\nimport \"tool/exec\"\n\nx: exec.Run & {cmd: \"id\"}\n"},
		want:  []string{`extra.cue:3:8: import "tool/exec" is not allowed: tool/ packages exist to run commands, and a desired state runs nothing`},
	}, {
		name:  "the user's own closed definition",
		files: map[string]string{"extra.cue": "package demo\n\n#Run: {replicas: int}\nservices: web: run: #Run & {port: 1}\n"},
		want: []string{
			`extra.cue:4:16: services.web.run: a closed definition in your files does not allow field "args", which Durable's schema gives a default; use an open struct rather than a definition there`,
			`extra.cue:4:16: services.web.run: a closed definition in your files does not allow field "env", which Durable's schema gives a default; use an open struct rather than a definition there`,
			`extra.cue:4:29: field "port" is not allowed in services.web.run`,
		},
	}, {
		name:  "reference to nothing",
		files: map[string]string{"extra.cue": "package demo\n\nservices: web: run: replicas: nope\n"},
		want:  []string{`extra.cue:3:31: services.web.run.replicas: reference "nope" not found`},
	}, {
		name:  "control characters in a value",
		files: map[string]string{"extra.cue": "package demo\n\nservices: api: artifact: \"\\u001b[2J\\u202e\"\n"},
		want:  []string{`extra.cue:3:26: services.api.artifact: "\x1b[2J\u202e" is not pinned by digest; write it as REPOSITORY@sha256:<64 hex digits>`},
	}, {
		name:  "control characters in a field name",
		files: map[string]string{"extra.cue": "package demo\n\nservices: web: run: \"\\u001b[31m\\n\": 1\n"},
		want:  []string{`extra.cue:3:21: field "\x1b[31m\n" is not allowed in services.web.run (allowed: args, env, port, replicas, resources, secretEnv)`},
	}, {
		name:  "unicode service name",
		files: map[string]string{"extra.cue": "package demo\n\nservices: \"wéb\": artifact: \"r@" + digest + "\"\n"},
		want:  []string{`extra.cue:3:11: services.wéb.name: "wéb" is not a valid name; name a service with 1 to 63 lowercase letters, digits or '-', starting with a letter or digit`},
	}, {
		name:  "NUL and invalid UTF-8",
		files: map[string]string{"extra.cue": "package demo\n\x00\xff\n"},
		want: []string{
			`extra.cue:2:1: syntax error: illegal character NUL`,
			`extra.cue:2:1: syntax error: illegal character U+0000`,
			`extra.cue:2:2: syntax error: illegal UTF-8 encoding`,
			"extra.cue:2:2: syntax error: illegal character U+FFFD '\uFFFD'",
		},
	}, {
		name:  "deep nesting",
		files: map[string]string{"extra.cue": "package demo\nx: " + strings.Repeat("[", 50_000) + strings.Repeat("]", 50_000) + "\n"},
		want:  []string{`extra.cue:2:10004: syntax error: expression exceeds maximum nesting depth of 10000`},
	}, {
		name:  "very long value",
		files: map[string]string{"extra.cue": "package demo\n\nservices: api: artifact: \"" + strings.Repeat("a", 200_000) + "\"\n"},
		want:  []string{`extra.cue:3:26: services.api.artifact: "` + strings.Repeat("a", 60) + `"… is not pinned by digest; write it as REPOSITORY@sha256:<64 hex digits>`},
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			errs := loadErrors(t, repo(c.files))
			got := strings.Split(errs.Error(), "\n")
			if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			}
		})
	}
}

// Each load has its own CUE context: loads may run side by side.
func TestLoadConcurrently(t *testing.T) {
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() {
			_, errs[i] = Load(examples.Quickstart())
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("load %d: %v", i, err)
		}
	}
}

func TestLoadNoFiles(t *testing.T) {
	errs := loadErrors(t, fstest.MapFS{"README.md": {Data: []byte("hi")}, "sub/x.cue": {Data: []byte("package x")}})
	want := "no .cue files at the repository root; the desired state is one CUE package there, e.g. durable.cue"
	if errs.Error() != want {
		t.Errorf("got %q, want %q", errs.Error(), want)
	}
}

func TestLoadManySyntaxErrorsAreCapped(t *testing.T) {
	files := map[string]string{}
	for i := range 300 {
		files[strings.Repeat("b", 1+i%5)+string(rune('a'+i%26))+strings.Repeat("c", i/26)+".cue"] = "package demo\n}\n"
	}
	errs := loadErrors(t, repo(files))
	if len(errs) != maxReported+1 {
		t.Fatalf("got %d errors, want %d (capped, plus a summary)", len(errs), maxReported+1)
	}
	if last := errs[len(errs)-1].String(); !strings.HasSuffix(last, "more errors not shown; fix the ones above first") {
		t.Errorf("last error = %q, want the summary", last)
	}
}

func TestSchemaSource(t *testing.T) {
	src := SchemaSource()
	if !strings.Contains(string(src), "#DesiredState:") || !strings.HasPrefix(strings.TrimSpace(string(src)), "//") {
		t.Errorf("SchemaSource does not look like the schema: %.80q", src)
	}
	src[0] = 'X'
	if SchemaSource()[0] == 'X' {
		t.Error("SchemaSource returned the embedded bytes themselves; callers could change the schema")
	}
}

func BenchmarkLoadQuickstart(b *testing.B) {
	fsys := examples.Quickstart()
	for b.Loop() {
		if _, err := Load(fsys); err != nil {
			b.Fatal(err)
		}
	}
}
