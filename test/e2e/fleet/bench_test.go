package fleet

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/test/e2e/e2etest"
)

// BenchmarkFleetRollout measures the control plane of a fleet-wide rollout:
// FLEET_HOSTS hosts (default 50, each an agent and a router in its own
// network namespace) in stages of 10, a blue/green release (no bake, no
// analysis: what is measured is the reconciler, the agents and the
// adapters), from the commit to every host serving v2. It reports the time
// (ns/op), the reconciler's CPU seconds during the rollout and its peak RSS.
// hack/bench/fleet.sh runs it.
func BenchmarkFleetRollout(b *testing.B) {
	n := 50
	if v, err := strconv.Atoi(os.Getenv("FLEET_HOSTS")); err == nil && v > 0 {
		n = v
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("h%02d", i+1)
	}
	bt := testing.TB(b)
	fl := startFleet(ctx, bt, names...)
	f := fl.fixture(ctx)
	writeBenchRepo(bt, fl, f, names)
	st, _ := f.ServeV1(ctx, fmt.Sprintf("Deploy web v1 on %d hosts", n), "http://"+fl.lb+"/", "http://"+fl.staging+"/")
	pid := reconcilerPID(bt, f.Dir)
	b.ResetTimer()
	for i := range b.N {
		version := []string{"v2", "v1"}[i%2]
		cpu0 := cpuSeconds(bt, pid)
		after := lastSeq(ctx, bt, f)
		start := time.Now()
		c := f.Commit(ctx, f.Artifacts[version], fmt.Sprintf(`{ROUND: "%d"}`, i), "Deploy web "+version)
		f.Converge(ctx, st, "round "+strconv.Itoa(i), c, version)
		took := time.Since(start)
		b.ReportMetric(cpuSeconds(bt, pid)-cpu0, "cpu-s/op")
		b.Logf("round %d: %d hosts on %s in %.2fs; per stage, first intent → last outcome: %s", i, n, version, took.Seconds(), stageSpans(ctx, bt, f, after))
	}
	b.StopTimer()
	b.ReportMetric(peakRSSMiB(bt, pid), "peak-rss-MiB")
	st.AssertNoFailedRequests(bt)
}

// writeBenchRepo lays out hosts of names in stages of ten, staging first,
// and a blue/green web service of one instance per host.
func writeBenchRepo(t testing.TB, fl *fleet, f *e2etest.Fixture, names []string) {
	var hosts, stages strings.Builder
	for _, name := range names {
		fmt.Fprintf(&hosts, "hosts: %s: address: %q\n", name, fl.hosts[name].addr+":7443")
		fmt.Fprintf(&hosts, "targets: %s: {host: %q, zone: %q, runtime: kind: \"process\", traffic: {kind: \"router\", admin: \"edge\"}}\n", name, name, "zone-"+name[:2])
	}
	stages.WriteString(`{name: "staging", targets: ["staging"]}`)
	for i := 0; i < len(names); i += 10 {
		var group []string
		for _, name := range names[i:min(i+10, len(names))] {
			group = append(group, strconv.Quote(name))
		}
		fmt.Fprintf(&stages, ",\n\t{name: %q, targets: [%s]}", fmt.Sprintf("group-%d", i/10+1), strings.Join(group, ", "))
	}
	files := map[string]string{
		"hosts.cue":   "package fleet\n\n" + hosts.String(),
		"targets.cue": "package fleet\n\ntargets: staging: {zone: \"staging\", runtime: kind: \"process\", traffic: {kind: \"router\", admin: \"edge\"}}\npipeline: stages: [\n\t" + stages.String() + ",\n]\n",
		"service.cue": "package fleet\n\nservices: web: {run: replicas: 1, health: {path: \"/healthz\", timeout: \"1s\"}, strategy: {kind: \"blueGreen\", keepWarm: 1}}\n",
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(f.Repo.Dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// reconcilerPID finds the `durable run` whose state is under dir.
func reconcilerPID(t testing.TB, dir string) int {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmd, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && strings.Contains(string(cmd), "run\x00") && strings.Contains(string(cmd), filepath.Join(dir, "state")) {
			return pid
		}
	}
	t.Fatalf("no durable run with state in %s", dir)
	return 0
}

// cpuSeconds is the user and system CPU time pid used so far.
func cpuSeconds(t testing.TB, pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	fields := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	utime, _ := strconv.ParseFloat(fields[11], 64)
	stime, _ := strconv.ParseFloat(fields[12], 64)
	return (utime + stime) / 100 // clock ticks: 100 per second on Linux
}

// peakRSSMiB is pid's peak resident set (VmHWM).
func peakRSSMiB(t testing.TB, pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

// lastSeq is the journal's newest entry.
func lastSeq(ctx context.Context, t testing.TB, f *e2etest.Fixture) uint64 {
	entries := journal(ctx, t, f)
	if len(entries) == 0 {
		return 0
	}
	return entries[len(entries)-1].Seq
}

// stageSpans says, for the entries after seq, when each stage's first
// intent and last outcome came, from the first entry: where a rollout's
// time goes.
func stageSpans(ctx context.Context, t testing.TB, f *e2etest.Fixture, after uint64) string {
	var order []string
	first, last := map[string]time.Time{}, map[string]time.Time{}
	var t0 time.Time
	for _, e := range journal(ctx, t, f) {
		if e.Seq <= after {
			continue
		}
		if t0.IsZero() {
			t0 = e.Time
		}
		if e.Stage == "" || (e.Kind != api.EntryIntent && e.Kind != api.EntryOutcome) {
			continue
		}
		if _, ok := first[e.Stage]; !ok {
			first[e.Stage] = e.Time
			order = append(order, e.Stage)
		}
		last[e.Stage] = e.Time
	}
	var parts []string
	for _, s := range order {
		parts = append(parts, fmt.Sprintf("%s %.1f–%.1fs", s, first[s].Sub(t0).Seconds(), last[s].Sub(t0).Seconds()))
	}
	return strings.Join(parts, ", ")
}
