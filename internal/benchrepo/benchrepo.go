// Package benchrepo writes synthetic desired-state repositories of any size,
// laid out as people write them, for benchmarks of validation (BenchmarkLoadDir
// in package schema and hack/bench/validate.sh) and of the control loop
// (hack/bench/scale.sh, with WriteExec and the plug-in in ./plugin).
//
// A repository has targets in three zones behind a three-stage pipeline
// (staging, prod-zone-a, prod) in one file, a services template of defaults
// in another, and the services themselves spread over files of at most
// ServicesPerFile, each with a pinned artifact, its own args, env and
// replicas, and one dependency on the service before it (so the dependency
// graph is a chain and acyclic). Output is deterministic: the same size
// always gives the same bytes, so that measurements compare.
//
// WriteExec writes the same repository with targets on exec plug-ins, for
// hack/bench/scale.sh: each target names its own runtime and traffic
// plug-ins, which the operator's host file declares.
//
// It must never be imported by the reconciler or the CLI: it exists only to
// generate load, and what it writes is not an example to document.
package benchrepo

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ServicesPerFile is how many services one generated services file holds.
const ServicesPerFile = 100

// Package is the CUE package name of every generated file.
const Package = "infra"

// teams prefix service names so that names look like a company's, not a
// counter's; a service's team also names its artifact's repository.
var teams = []string{"checkout", "catalog", "payments", "search", "identity", "shipping", "pricing", "reviews"}

// Name is the name of the i-th service (from 0) of a generated repository.
func Name(i int) string {
	return fmt.Sprintf("%s-%05d", teams[i%len(teams)], i)
}

// Write writes a repository of the given number of services into dir,
// creating dir if it is missing. Files already there are overwritten, others
// are left alone.
func Write(dir string, services int) error {
	return write(dir, services, pipelineFile)
}

// WriteExec writes a repository like Write's whose every target runs on exec
// plug-ins named RuntimePlugin(target) and TrafficPlugin(target), one pair
// per target so that each keeps its own state.
func WriteExec(dir string, services int) error {
	return write(dir, services, execPipelineFile)
}

// Targets are the generated repository's targets, in pipeline order.
var Targets = []string{"staging", "prod-a", "prod-b", "prod-c"}

// RuntimePlugin names the exec plug-in a WriteExec target runs its infra-sets
// with.
func RuntimePlugin(target string) string { return "runtime-" + target }

// TrafficPlugin names the exec plug-in a WriteExec target sets its splits
// with.
func TrafficPlugin(target string) string { return "traffic-" + target }

func write(dir string, services int, pipeline string) error {
	if services < 1 {
		return errors.New("benchrepo: a repository needs at least one service")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("benchrepo: %w", err)
	}
	files := map[string]string{
		"pipeline.cue": pipeline,
		"defaults.cue": defaultsFile,
	}
	for first := 0; first < services; first += ServicesPerFile {
		last := min(first+ServicesPerFile, services)
		files[fmt.Sprintf("services-%03d.cue", first/ServicesPerFile)] = servicesFile(first, last)
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			return fmt.Errorf("benchrepo: %w", err)
		}
	}
	return nil
}

const pipelineFile = `package ` + Package + `

// Four hosts in three zones, each running containers behind HAProxy.
targets: [Name=string]: {
	runtime: {
		kind:    "docker"
		host:    Name
		network: "services"
		owner:   "durable"
	}
	traffic: {
		kind:   "haproxy"
		socket: "edge"
	}
}
` + targetsAndStages

const execPipelineFile = `package ` + Package + `

// Four hosts in three zones, each driven by its own exec plug-ins.
targets: [Name=string]: {
	runtime: {kind: "exec", plugin: "runtime-\(Name)"}
	traffic: {kind: "exec", plugin: "traffic-\(Name)"}
}
` + targetsAndStages

const targetsAndStages = `targets: {
	staging: zone:  "staging"
	"prod-a": zone: "zone-a"
	"prod-b": zone: "zone-b"
	"prod-c": zone: "zone-c"
}

pipeline: stages: [
	{
		name: "staging"
		targets: ["staging"]
		upgradeDowngradeTest: true
		bake: {time: "10m", requests: 1000}
	},
	{
		name: "prod-zone-a"
		targets: ["prod-a"]
		gate: approvals: 1
		bake: {time: "30m", requests: 10000}
	},
	{
		name: "prod"
		targets: ["prod-b", "prod-c"]
		parallelism: 1
		gate: {approvals: 2, signed: true}
	},
]
`

const defaultsFile = `package ` + Package + `

// What every service shares unless it says otherwise: its name in its
// environment, a health check and a three-step canary.
services: [Name=string]: {
	run: env: {
		SERVICE_NAME: Name
		LOG_FORMAT:   "json"
	}
	health: {
		path:        *"/healthz" | string
		interval:    "2s"
		timeout:     "1s"
		startPeriod: *"10s" | string
	}
	strategy: {
		kind:             "canary"
		keepWarm:         1
		progressDeadline: "5m"
		steps: [
			{weight: 5, bake: {time: "2m", requests: 500}},
			{weight: 25, bake: {time: "5m", requests: 2000}},
			{weight: 50, bake: {time: "10m", requests: 5000}},
		]
		analysis: {
			maxErrorRate:         0.01
			maxErrorRateIncrease: 0.005
			minRequests:          100
			maxLatencyIncrease:   1.5
		}
	}
}
`

// servicesFile declares services first to last-1. Each but the very first
// depends on the service before it; every tenth checks a different health
// path, overriding the template's default.
func servicesFile(first, last int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "package %s\n\nservices: {\n", Package)
	for i := first; i < last; i++ {
		name := Name(i)
		team := teams[i%len(teams)]
		fmt.Fprintf(&b, "\t%q: {\n", name)
		fmt.Fprintf(&b, "\t\tartifact: \"registry.example.com/%s/%s@sha256:%x\"\n", team, name, sha256.Sum256([]byte(name)))
		fmt.Fprintf(&b, "\t\trun: {\n")
		fmt.Fprintf(&b, "\t\t\targs: [\"serve\", \"--workers=%d\"]\n", 2+i%7)
		fmt.Fprintf(&b, "\t\t\tenv: CACHE_MB: \"%d\"\n", 64<<(i%4))
		fmt.Fprintf(&b, "\t\t\treplicas: %d\n", 2+i%4)
		fmt.Fprintf(&b, "\t\t}\n")
		if i%10 == 9 {
			fmt.Fprintf(&b, "\t\thealth: path: \"/ready\"\n")
		}
		if i > 0 {
			fmt.Fprintf(&b, "\t\tdependsOn: [%q]\n", Name(i-1))
		}
		fmt.Fprintf(&b, "\t}\n")
	}
	b.WriteString("}\n")
	return b.String()
}
