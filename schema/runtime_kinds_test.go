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
		{"router", `{kind: "router", admin: "edge"}`, "router", ""},
		{"exec", `{kind: "exec", plugin: "lb"}`, "exec", ""},
		{"router without admin", `{kind: "router"}`, "", `targets.cue:5:2: targets.local.traffic.admin is missing; write the name of a router of the host file, e.g. admin: "edge"`},
		{"exec field on router", `{kind: "router", admin: "edge", plugin: "x"}`, "", `targets.cue:5:43: field "plugin" is not allowed in targets.local.traffic (allowed: admin, kind)`},
		{"haproxy", `{kind: "haproxy", socket: "edge"}`, "haproxy", ""},
		{"haproxy without socket", `{kind: "haproxy"}`, "", `targets.cue:5:2: targets.local.traffic.socket is missing`},
		{"router admin not a name", `{kind: "router", admin: "Edge Router"}`, "", `targets.cue:5:35: targets.local.traffic.admin: "Edge Router" is not a router name; write the name of a router of the host file, e.g. admin: "edge"`},
		// What a target bound on the host before the host file is refused,
		// showing the new form.
		{"router admin address, the old form", `{kind: "router", admin: "127.0.0.1:7071"}`, "",
			`targets.cue:5:28: targets.local.traffic.admin: "127.0.0.1:7071" is an address: since this version the operator names router admin addresses in --host-config; write admin: "NAME" and add routers: {NAME: {admin: "127.0.0.1:7071"}} to the host file`},
		{"router admin socket, the old form", `{kind: "router", admin: "unix:///run/r.sock"}`, "",
			`targets.cue:5:28: targets.local.traffic.admin: "unix:///run/r.sock" is an address: since`},
		{"haproxy socket path, the old form", `{kind: "haproxy", socket: "/run/haproxy/admin.sock"}`, "",
			`targets.cue:5:29: targets.local.traffic.socket: "/run/haproxy/admin.sock" is a path: since this version the operator names HAProxy sockets in --host-config; write socket: "NAME" and add haproxy: {NAME: {socket: "/run/haproxy/admin.sock"}} to the host file`},
		{"exec command, the old form", `{kind: "exec", command: ["/bin/sh", "-c", "id"]}`, "",
			`targets.cue:5:26: targets.local.traffic.command: ["/bin/sh", "-c", "id"] is a command: since this version the operator names exec plug-ins in --host-config; write plugin: "NAME" and add plugins: {NAME: {command: ["/bin/sh", "-c", "id"]}} to the host file`},
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
			"\n\ttraffic: {kind: \"router\", admin: \"edge\"}\n}\n\npipeline: stages: [{name: \"local\", targets: [\"local\"]}]\n"
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
		{"docker with settings", `{kind: "docker", host: "local", network: "bridge", owner: "team-a", labels: team: "web"}`,
			"docker", `{"host":"local","labels":{"team":"web"},"network":"bridge","owner":"team-a"}`, ""},
		{"docker bare", `{kind: "docker"}`, "docker", `{}`, ""},
		{"docker field on process", `{kind: "process", network: "bridge"}`, "", "",
			`targets.cue:4:29: field "network" is not allowed in targets.local.runtime (allowed: kind, maxUnpackBytes)`},
		{"misspelt docker field", `{kind: "docker", netwrk: "x"}`, "", "",
			`targets.cue:4:28: field "netwrk" is not allowed in targets.local.runtime (allowed: host, kind, network, owner, labels); did you mean "network"?`},
		{"bad engine name", `{kind: "docker", host: "docker.sock"}`, "", "",
			`targets.cue:4:34: targets.local.runtime.host: "docker.sock" is not an engine name; write the name of an engine of the host file, e.g. host: "local", or leave host out for the reconciler's own engine`},
		{"engine address, the old form", `{kind: "docker", host: "unix:///var/run/docker.sock"}`, "", "",
			`targets.cue:4:28: targets.local.runtime.host: "unix:///var/run/docker.sock" is an address: since this version the operator names Docker engines in --host-config; write host: "NAME" and add docker: {NAME: {host: "unix:///var/run/docker.sock"}} to the host file`},
		{"unknown kind", `{kind: "dokcer"}`, "", "",
			`targets.cue:4:18: targets.local.runtime.kind: "dokcer" is not a runtime kind; write "process", "docker" or "exec"`},
		{"exec", `{kind: "exec", plugin: "vm-adapter", timeout: "10s"}`, "exec",
			`{"plugin":"vm-adapter","timeout":"10s"}`, ""},
		{"exec without plugin", `{kind: "exec"}`, "", "", `targets.cue:4:2: targets.local.runtime.plugin is missing; write the name of a plug-in of the host file, e.g. plugin: "docker-py"`},
		{"exec command, the old form", `{kind: "exec", command: ["/usr/local/bin/vm-adapter"]}`, "", "",
			`targets.cue:4:`},
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
