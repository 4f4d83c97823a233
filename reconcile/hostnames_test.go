package reconcile

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/durable-delivery/durable/adapters/hostconfig"
	"github.com/durable-delivery/durable/schema"
)

// TestAdmissionRefusesNamesTheHostFileDoesNotHold: a target may only name
// what the operator's host file declares; anything else refuses the
// revision, each problem naming its field and the fix.
func TestAdmissionRefusesNamesTheHostFileDoesNotHold(t *testing.T) {
	host := &hostconfig.Config{File: "/etc/durable/host.yaml",
		Plugins: map[string]hostconfig.Plugin{"docker-py": {Command: []string{"/usr/bin/python3"}}},
		Docker:  map[string]hostconfig.Docker{"local": {Host: "unix:///var/run/docker.sock"}},
		HAProxy: map[string]hostconfig.HAProxy{"edge": {Socket: "/run/haproxy/admin.sock"}},
		Routers: map[string]hostconfig.Router{"edge": {Admin: "127.0.0.1:7071"}}}
	target := func(runtime, traffic string) schema.Target {
		var tg schema.Target
		if err := json.Unmarshal([]byte(`{"name":"t","runtime":`+runtime+`,"traffic":`+traffic+`}`), &tg); err != nil {
			t.Fatal(err)
		}
		return tg
	}
	tests := []struct {
		name             string
		runtime, traffic string
		host             *hostconfig.Config
		agent            string   // the target's host:, if any
		want             []string // one line each; none when admitted
	}{
		{name: "every name known", runtime: `{"kind":"docker","host":"local"}`, traffic: `{"kind":"router","admin":"edge"}`, host: host},
		{name: "the reconciler's own Docker engine", runtime: `{"kind":"docker"}`, traffic: `{"kind":"haproxy","socket":"edge"}`, host: host},
		{name: "process and exec", runtime: `{"kind":"process"}`, traffic: `{"kind":"exec","plugin":"docker-py"}`, host: host},
		{name: "unknown plug-in", runtime: `{"kind":"exec","plugin":"sh"}`, traffic: `{"kind":"router","admin":"edge"}`, host: host,
			want: []string{`targets.t.runtime.plugin: exec plug-in "sh" is not in the host file /etc/durable/host.yaml (it names docker-py); name one of those, or add plugins: {sh: {command: ["/usr/local/bin/PROGRAM", "ARG"]}} to it`}},
		{name: "unknown router and socket", runtime: `{"kind":"docker","host":"remote"}`, traffic: `{"kind":"router","admin":"west"}`, host: host,
			want: []string{`targets.t.runtime.host: Docker engine "remote" is not in the host file`, `targets.t.traffic.admin: router admin address "west" is not in the host file /etc/durable/host.yaml (it names edge)`}},
		{name: "unknown HAProxy socket", runtime: `{"kind":"process"}`, traffic: `{"kind":"haproxy","socket":"west"}`, host: host,
			want: []string{`targets.t.traffic.socket: HAProxy socket "west" is not in the host file`}},
		{name: "a target behind an agent: its host's names", runtime: `{"kind":"exec","plugin":"sh"}`, traffic: `{"kind":"router","admin":"west"}`, host: host, agent: "a1"},
		{name: "no host file", runtime: `{"kind":"process"}`, traffic: `{"kind":"router","admin":"edge"}`,
			want: []string{`targets.t.traffic.admin: router admin address "edge" is not known on this host: the reconciler runs without a host file; write one and pass it as durable run --host-config FILE`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tg := target(tt.runtime, tt.traffic)
			tg.Host = tt.agent
			ds := &schema.DesiredState{Targets: map[string]schema.Target{"t": tg}}
			err := CheckHostNames(ds, tt.host)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			lines := errorLines(err)
			if len(lines) != len(tt.want) {
				t.Fatalf("refused with %q; want %d line(s)", lines, len(tt.want))
			}
			for i, w := range tt.want {
				if !strings.HasPrefix(lines[i], w) {
					t.Errorf("line %d:\n%s\nwant prefix\n%s", i, lines[i], w)
				}
			}
		})
	}
}
