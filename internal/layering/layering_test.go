// Package layering holds the test that keeps Durable's dependency arrows
// pointing one way (ARCHITECTURE.md): it reads what each package really
// imports, transitively, from `go list -deps`, and fails on an arrow the
// layering forbids.
package layering

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/durable-delivery/durable"

// rule forbids packages matching from to depend (transitively) on packages
// matching any of the prefixes in deny, except those in allow.
type rule struct {
	from  string
	deny  []string
	allow []string
	why   string
}

var (
	controller = []string{module + "/reconcile", module + "/server", module + "/cmd", module + "/demo", module + "/test"}
	heavy      = []string{"github.com/open-policy-agent/", "cuelang.org/", "github.com/sigstore/"}
)

// settings are the adapters' settings packages: their CUE and Go types.
var settings = []string{module + "/adapters/docker/settings", module + "/adapters/exec/settings",
	module + "/adapters/haproxy/settings", module + "/adapters/process/settings", module + "/adapters/router/settings"}

var rules = []rule{
	{from: module + "/api", deny: []string{module + "/"}, allow: []string{module + "/api"},
		why: "api is the wire model: it imports nothing of the project"},
	{from: module + "/api", deny: heavy, why: "a client of the API must not pull in OPA, CUE or sigstore"},
	{from: module + "/server", deny: []string{module + "/"}, allow: []string{module + "/server", module + "/api"},
		why: "server defines the interfaces it needs and speaks api; cmd wires the reconciler into it"},
	{from: module + "/server", deny: heavy, why: "the API's face and its client must not pull in OPA, CUE or sigstore"},
	{from: module + "/adapters", deny: append([]string{"github.com/go-git/"}, append(controller, heavy...)...),
		allow: []string{module + "/adapters/", module + "/adapters", module + "/internal/httpguard"},
		why:   "an adapter knows nothing of Git, CUE, OPA or the controller"},
	{from: module + "/adapters/remote", deny: []string{module + "/"},
		allow: []string{module + "/adapters/remote", module + "/adapters/agent/wire", module + "/adapters", module + "/api",
			module + "/adapters/hostconfig", module + "/internal/listener", module + "/internal/hostfile"},
		why: "the remote adapter speaks the adapter contracts and the agent's wire: no adapter's implementation, nothing of the controller"},
	{from: module + "/adapters/agent/wire", deny: []string{module + "/"}, allow: []string{module + "/adapters/agent/wire", module + "/adapters", module + "/api",
		module + "/adapters/hostconfig", module + "/internal/hostfile"}, // what the contracts' package imports
		why: "the agent's wire is the adapter contracts on the wire: it imports only them and the wire model"},
	{from: module + "/internal/httpguard", deny: []string{module + "/"}, allow: []string{module + "/internal/httpguard"},
		why: "httpguard, shared by adapters and signing, imports nothing of the project"},
	{from: module + "/schema", deny: append([]string{module + "/adapters"}, controller...), allow: settings,
		why: "the schema composes the adapters' settings, never an adapter's implementation, nor the controller"},
	{from: module + "/policy", deny: controller, why: "the policy engine never imports the controller"},
	{from: module + "/signing", deny: controller, why: "signing never imports the controller"},
	{from: module + "/internal/approvals", deny: append([]string{module + "/"}, heavy...), allow: []string{module + "/internal/approvals"},
		why: "approvals parses approval files and commit trailers and imports nothing of the project, so that its fuzz targets' binary stays small"},
	{from: module + "/internal/hostfile", deny: []string{module + "/"}, allow: []string{module + "/internal/hostfile"},
		why: "hostfile, shared by signing and secrets, imports nothing of the project"},
	{from: module + "/adapters/hostconfig", deny: []string{module + "/"}, allow: []string{module + "/adapters/hostconfig", module + "/internal/hostfile"},
		why: "the host file is read from the host only: it imports nothing of the project but hostfile"},
	{from: module + "/internal/listener", deny: []string{module + "/"}, allow: []string{module + "/internal/listener", module + "/internal/hostfile"},
		why: "listener, shared by the reconciler's API, the router's admin API and the agent, imports only hostfile"},
	{from: module + "/pack", deny: append([]string{module + "/"}, heavy...), allow: []string{module + "/pack"},
		why: "pack makes images from files: it imports nothing of the project and never signs, so examples, the demo and the CLI share it"},
	{from: module + "/internal/registrytest", deny: []string{module + "/"}, allow: []string{module + "/internal/registrytest"},
		why: "registrytest runs a registry server for tests: it imports nothing of the project"},
	{from: module + "/journal", deny: []string{module + "/"}, allow: []string{module + "/journal", module + "/api"},
		why: "the journal stores records; it imports only the wire model"},
	{from: module + "/notify", deny: append([]string{module + "/"}, heavy...), allow: []string{module + "/notify", module + "/api", module + "/internal/hostfile"},
		why: "notifications follow the journal's records (api) and read the operator's files (hostfile): nothing else of the project, so that they can never act"},
	{from: module + "/source", deny: controller, why: "the Git watch never imports the controller"},
	{from: module + "/writeback", deny: append([]string{module + "/source", "github.com/go-git/"}, controller...),
		why: "writeback works out the files a commit changes; it never pushes (the source does) and never imports the controller"},
	{from: module + "/fieldedit", deny: []string{module + "/"}, allow: []string{module + "/fieldedit"},
		why: "fieldedit edits text by field path: it imports nothing of the project, so the merge queue and release can share it"},
	{from: module + "/queue", deny: []string{module + "/server", module + "/cmd", module + "/demo", module + "/test"},
		why: "the merge queue checks proposals through reconcile's own load, admission and plan; only cmd wires it"},
	{from: module + "/reconcile", deny: []string{module + "/queue"}, why: "the reconciler applies what landed; it never imports the queue that lands it"},
	{from: module + "/cluster", deny: append([]string{module + "/"}, heavy...), allow: []string{module + "/cluster", module + "/journal", module + "/api"},
		why: "cluster decides who acts from etcd alone: it knows the journal's fences, nothing of the controller, the adapters or the repository"},
	{from: module + "/demo", deny: []string{module + "/reconcile"}, why: "the demo reads the reconciler through its API (api, server), as a user would"},
	{from: module + "/internal/harness", deny: []string{module + "/reconcile"}, why: "the harness drives the binary as a user would, through its API"},
	{from: module + "/reconcile/analysis", deny: []string{module + "/reconcile"}, allow: []string{module + "/reconcile/analysis"},
		why: "the analysis is pure: it needs nothing of the reconciler"},
	{from: module + "/reconcile", deny: []string{module + "/server", module + "/cmd", module + "/demo", module + "/test"},
		why: "the controller is wired by cmd, never the other way"},
	{from: module + "/cmd", deny: []string{"github.com/getsops/"},
		why: "secrets/sops reads SOPS files itself: the SOPS library links every key service it has (cloud KMS clients, Vault, GCS, gRPC xDS), 40 MB and 14 ms of start-up; only tests (sopstest) use it"},
}

func init() {
	for _, p := range settings {
		rules = append(rules, rule{from: p, deny: append([]string{module + "/"}, heavy...),
			why: "an adapter's settings are CUE text and Go types: they import nothing"})
	}
}

func TestDependenciesPointOneWay(t *testing.T) {
	deps := listDeps(t)
	broken := violations(deps, rules)
	for _, b := range broken {
		t.Error(b)
	}
	if len(deps) < 20 {
		t.Fatalf("go list gave %d packages; the test reads nothing", len(deps))
	}
}

// The check itself catches an arrow the layering forbids.
func TestAForbiddenArrowIsReported(t *testing.T) {
	deps := map[string][]string{module + "/api": {"fmt", module + "/reconcile", "cuelang.org/go/cue"}}
	got := violations(deps, rules)
	if len(got) != 2 || !strings.Contains(got[0]+got[1], "→ "+module+"/reconcile") || !strings.Contains(got[0]+got[1], "→ cuelang.org/go/cue") {
		t.Fatalf("violations %q: want the arrow to reconcile and the one to CUE", got)
	}
}

// listDeps maps each package of the module to every package it depends on.
// Tests may wire real parts together (a server test with a real reconciler)
// and are not held to the layering.
func listDeps(t *testing.T) map[string][]string {
	t.Helper()
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}}\t{{join .Deps \" \"}}", module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, list, _ := strings.Cut(line, "\t")
		deps[pkg] = strings.Fields(list)
	}
	return deps
}

func violations(deps map[string][]string, rules []rule) []string {
	var out []string
	for pkg, ds := range deps {
		for _, r := range rules {
			if pkg != r.from && !strings.HasPrefix(pkg, r.from+"/") {
				continue
			}
			for _, d := range ds {
				if matches(d, r.deny) && !matches(d, r.allow) {
					out = append(out, pkg+" → "+d+": "+r.why)
					break // one arrow per package and rule says enough
				}
			}
		}
	}
	return out
}

func matches(pkg string, prefixes []string) bool {
	for _, p := range prefixes {
		if pkg == p || strings.HasPrefix(pkg, strings.TrimSuffix(p, "/")+"/") || (strings.HasSuffix(p, "/") && strings.HasPrefix(pkg, p)) {
			return true
		}
	}
	return false
}
