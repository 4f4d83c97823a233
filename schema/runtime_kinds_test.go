package schema

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// TestTrafficKinds checks the kind-discriminated traffic settings.
func TestTrafficKinds(t *testing.T) {
	for _, tc := range []struct{ name, traffic, wantKind, wantErr string }{
		{"router", `{kind: "router", admin: "127.0.0.1:7071"}`, "router", ""},
		{"exec", `{kind: "exec", command: ["./lb.py", "prod"]}`, "exec", ""},
		{"router without admin", `{kind: "router"}`, "", `targets.cue:5:2: targets.local.traffic.admin is missing; write the router's admin address as unix:///PATH`},
		{"exec field on router", `{kind: "router", admin: "127.0.0.1:7071", command: ["x"]}`, "", `targets.cue:5:53: field "command" is not allowed in targets.local.traffic (allowed: admin, kind)`},
		{"haproxy", `{kind: "haproxy", socket: "/run/haproxy/admin.sock"}`, "haproxy", ""},
		{"haproxy without socket", `{kind: "haproxy"}`, "", `targets.cue:5:2: targets.local.traffic.socket is missing`},
		{"unknown kind", `{kind: "nginx"}`, "", `targets.cue:5:18: targets.local.traffic.kind: "nginx" is not a traffic kind; write "router", "haproxy" or "exec"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := quickstartDir(t)
			mustWrite(t, filepath.Join(dir, "targets.cue"), "package quickstart\n\ntargets: local: {\n\truntime: kind: \"process\"\n\ttraffic: "+tc.traffic+
				"\n}\n\npipeline: stages: [{name: \"local\", targets: [\"local\"]}]\n")
			ds, err := LoadDir(dir)
			if tc.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr) {
					t.Fatalf("error:\n%v\nwant prefix:\n%s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := ds.Targets["local"].Traffic.Kind; got != tc.wantKind {
				t.Fatalf("kind %q, want %q", got, tc.wantKind)
			}
		})
	}
}

// TestRuntimeKinds checks the kind-discriminated runtime settings: each
// kind's own fields are accepted, another kind's are unknown fields.
func TestRuntimeKinds(t *testing.T) {
	targets := func(runtime string) string {
		return "package quickstart\n\ntargets: local: {\n\truntime: " + runtime +
			"\n\ttraffic: {kind: \"router\", admin: \"127.0.0.1:7071\"}\n}\n\npipeline: stages: [{name: \"local\", targets: [\"local\"]}]\n"
	}
	for _, tc := range []struct {
		name, runtime, wantKind, wantConfig, wantErr string
	}{
		{"process", `{kind: "process"}`, "process", `{}`, ""},
		{"process with an unpack limit", `{kind: "process", maxUnpackBytes: 2Gi}`, "process", `{"maxUnpackBytes":2147483648}`, ""},
		{"process with no room to unpack", `{kind: "process", maxUnpackBytes: 0}`, "", "",
			`targets.cue:4:45: targets.local.runtime.maxUnpackBytes: 0 is out of range; write the largest size an image may unpack to, in bytes`},
		{"process with a size as text", `{kind: "process", maxUnpackBytes: "2G"}`, "", "",
			`targets.cue:4:45: targets.local.runtime.maxUnpackBytes: "2G" is a string, not an integer; write the largest size an image may unpack to, in bytes`},
		{"docker with settings", `{kind: "docker", host: "unix:///var/run/docker.sock", network: "bridge", owner: "team-a", labels: team: "web"}`,
			"docker", `{"host":"unix:///var/run/docker.sock","labels":{"team":"web"},"network":"bridge","owner":"team-a"}`, ""},
		{"docker bare", `{kind: "docker"}`, "docker", `{}`, ""},
		{"docker field on process", `{kind: "process", network: "bridge"}`, "", "",
			`targets.cue:4:29: field "network" is not allowed in targets.local.runtime (allowed: kind, maxUnpackBytes)`},
		{"misspelt docker field", `{kind: "docker", netwrk: "x"}`, "", "",
			`targets.cue:4:28: field "netwrk" is not allowed in targets.local.runtime (allowed: host, kind, network, owner, labels); did you mean "network"?`},
		{"bad engine address", `{kind: "docker", host: "docker.sock"}`, "", "",
			`targets.cue:4:34: targets.local.runtime.host: "docker.sock" is not a Docker host; write the engine's address as "unix:///var/run/docker.sock" or "tcp://HOST:2376"`},
		{"unknown kind", `{kind: "dokcer"}`, "", "",
			`targets.cue:4:18: targets.local.runtime.kind: "dokcer" is not a runtime kind; write "process", "docker" or "exec"`},
		{"exec", `{kind: "exec", command: ["/usr/local/bin/vm-adapter", "--zone", "a"], timeout: "10s"}`, "exec",
			`{"command":["/usr/local/bin/vm-adapter","--zone","a"],"timeout":"10s"}`, ""},
		{"exec without command", `{kind: "exec"}`, "", "", `targets.cue:4:2: targets.local.runtime.command is missing; write the program and its arguments as a list of strings`},
		{"exec with an empty command", `{kind: "exec", command: []}`, "", "", `targets.cue:4:`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := quickstartDir(t)
			mustWrite(t, filepath.Join(dir, "targets.cue"), targets(tc.runtime))
			ds, err := LoadDir(dir)
			if tc.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr) {
					t.Fatalf("error:\n%v\nwant prefix:\n%s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			rt := ds.Targets["local"].Runtime
			var got, want any
			if err := json.Unmarshal(rt.Config, &got); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal([]byte(tc.wantConfig), &want); err != nil {
				t.Fatal(err)
			}
			gb, _ := json.Marshal(got)
			wb, _ := json.Marshal(want)
			if rt.Kind != tc.wantKind || string(gb) != string(wb) {
				t.Fatalf("runtime %s %s, want %s %s", rt.Kind, gb, tc.wantKind, wb)
			}
		})
	}
}
