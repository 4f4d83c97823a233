package schema

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeRandomRepository writes a valid repository into dir whose every
// optional field is there or not, and every kind chosen, at random from
// seed.
func writeRandomRepository(t *testing.T, dir string, seed uint64) {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 20))
	maybe := func() bool { return r.IntN(2) == 0 }
	var b strings.Builder
	b.WriteString("package infra\n\n")
	hosts := []string{"h1", "h2"}
	if maybe() {
		for _, h := range hosts {
			fmt.Fprintf(&b, "hosts: %s: address: \"10.0.0.%d:7443\"\n", h, len(h))
		}
	} else {
		hosts = nil
	}
	targets := []string{"t0", "t1", "t2"}
	for i, tg := range targets {
		fmt.Fprintf(&b, "targets: %s: {\n", tg)
		if maybe() {
			fmt.Fprintf(&b, "\tzone: \"z%d\"\n", i)
		}
		if hosts != nil && maybe() {
			fmt.Fprintf(&b, "\thost: %q\n", hosts[r.IntN(len(hosts))])
		}
		switch r.IntN(3) {
		case 0:
			b.WriteString("\truntime: kind: \"process\"\n")
			if maybe() {
				b.WriteString("\truntime: maxUnpackBytes: 2147483648\n")
			}
		case 1:
			b.WriteString("\truntime: kind: \"docker\"\n")
			if maybe() {
				b.WriteString("\truntime: {host: \"local\", network: \"shop\", owner: \"durable\", labels: {team: \"a\", \"x.y\": \"\"}}\n")
			}
		case 2:
			b.WriteString("\truntime: {kind: \"exec\", plugin: \"rt\"}\n")
			if maybe() {
				b.WriteString("\truntime: timeout: \"45s\"\n")
			}
		}
		switch r.IntN(3) {
		case 0:
			b.WriteString("\ttraffic: {kind: \"router\", admin: \"edge\"}\n")
		case 1:
			b.WriteString("\ttraffic: {kind: \"haproxy\", socket: \"edge\"}\n")
		case 2:
			b.WriteString("\ttraffic: {kind: \"exec\", plugin: \"tr\", timeout: \"1m30s\"}\n")
		}
		b.WriteString("}\n")
	}
	b.WriteString("pipeline: stages: [\n")
	for i, tg := range targets {
		fmt.Fprintf(&b, "\t{name: \"s%d\", targets: [%q]", i, tg)
		if maybe() {
			fmt.Fprintf(&b, ", parallelism: %d, upgradeDowngradeTest: %v", 1+r.IntN(100), maybe())
		}
		if maybe() {
			b.WriteString(", bake: {time: \"10m\", requests: 1000}")
		} else if maybe() {
			b.WriteString(", bake: requests: 7")
		}
		if maybe() {
			fmt.Fprintf(&b, ", gate: {approvals: %d, signed: %v}", 1+r.IntN(20), maybe())
		}
		b.WriteString("},\n")
	}
	b.WriteString("]\n")
	services := 1 + r.IntN(12)
	for i := range services {
		name := fmt.Sprintf("svc-%d", i)
		fmt.Fprintf(&b, "services: %q: {\n", name)
		fmt.Fprintf(&b, "\tartifact: \"registry.example/a/%s@sha256:%s\"\n", name, strings.Repeat(fmt.Sprintf("%x", i%16), 64))
		if maybe() {
			fmt.Fprintf(&b, "\trun: args: [\"--n=%d\", \"\", \"ünï\\u00e9\\n\"]\n", i)
		}
		if maybe() {
			b.WriteString("\trun: env: {A: \"1\", \"B_2\": \"x\\\"y\", \"\": \"empty-name\"}\n")
		}
		if maybe() {
			fmt.Fprintf(&b, "\trun: {port: %d, replicas: %d}\n", 1+r.IntN(65535), 1+r.IntN(64))
		}
		if maybe() {
			b.WriteString("\trun: resources: {cpus: 0.25, memory: \"512Mi\"}\n")
		} else if maybe() {
			b.WriteString("\trun: resources: cpus: 3\n")
		}
		if maybe() {
			b.WriteString("\trun: secretEnv: {DB: file: \"db-password\", TOKEN: env: \"TOKEN\"}\n")
		}
		if maybe() {
			fmt.Fprintf(&b, "\thealth: {path: \"/ready\", expectStatus: %d, interval: \"500ms\", timeout: \"1m30s\"}\n", 100+r.IntN(500))
		}
		if maybe() {
			b.WriteString("\thealth: startPeriod: \"1h2m3.5s\"\n")
		}
		if maybe() {
			b.WriteString("\thold: true\n")
		}
		if i > 0 && maybe() {
			fmt.Fprintf(&b, "\tdependsOn: [\"svc-%d\"]\n", r.IntN(i))
		}
		switch r.IntN(3) {
		case 0:
		case 1:
			fmt.Fprintf(&b, "\tstrategy: {kind: \"blueGreen\", preview: %v, keepWarm: %d, warmMode: \"minimal\"}\n", maybe(), r.IntN(11))
		case 2:
			b.WriteString("\tstrategy: {\n\t\tkind: \"canary\"\n\t\tprogressDeadline: \"90s\"\n\t\tsteps: [\n")
			weight := 0
			for range 1 + r.IntN(4) {
				weight += 1 + r.IntN(20)
				fmt.Fprintf(&b, "\t\t\t{weight: %d", weight)
				if maybe() {
					fmt.Fprintf(&b, ", bake: {time: \"1m\", requests: %d}", r.IntN(1000))
				}
				if maybe() {
					b.WriteString(", analysis: {maxErrorRate: 0.001, minRequests: 200, maxLatencyP90: \"250ms\"}")
				}
				b.WriteString("},\n")
			}
			b.WriteString("\t\t]\n")
			if maybe() {
				b.WriteString("\t\tanalysis: {maxErrorRate: 0, maxErrorRateIncrease: 1, maxLatencyIncrease: 1.25")
				if maybe() {
					b.WriteString(", prometheus: {address: \"http://127.0.0.1:9090\", queries: [{name: \"errors\", query: \"sum(rate(e{set=\\\"{{.Set}}\\\"}[30s]))\", max: 1e-3}, {name: \"neg\", query: \"x\", max: -2}]}")
				}
				b.WriteString("}\n")
			}
			b.WriteString("\t}\n")
		}
		b.WriteString("}\n")
	}
	if err := os.WriteFile(filepath.Join(dir, "durable.cue"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}
