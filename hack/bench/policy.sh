#!/usr/bin/env bash
# Compares a policy decision of Durable's engine with `opa bench` on the
# same policy (examples/docker-haproxy/policy) and the same input, for
# admission, gate and invariant. BenchmarkDecision (policy/bench_test.go)
# writes each input's JSON to a folder; `opa bench` evaluates the query the
# engine asks (the gate's three rules in one query, as the engine asks
# them) on that file. RUNS rounds (default 3), interleaved; prints per
# entry point the median of Durable's p50 (whole decision: encoding the
# input, its digest, the evaluation) and of opa's median evaluation time.
# OPA=BINARY uses that opa instead of building the CLI at go.mod's version.
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${RUNS:-3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

opa=${OPA:-}
if [ -z "$opa" ]; then
	opa_version=$(go list -m -f '{{.Version}}' github.com/open-policy-agent/opa)
	(cd "$work" && GOBIN="$work" GOFLAGS=-mod=mod go install "github.com/open-policy-agent/opa@$opa_version")
	opa=$work/opa
fi
policies=examples/docker-haproxy/policy
declare -A query=(
	[admission]='data.durable.admission.deny'
	[gate]='deny := [x | x := data.durable.gate.deny]; hold := [x | x := data.durable.gate.hold]; allow := [x | x := data.durable.gate.allow]'
	[invariant]='data.durable.invariant.deny'
)
go test -c -o "$work/policy.test" ./policy/

median() { sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

echo "machine: $(nproc) CPU(s), $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1); $(go version | cut -d' ' -f3-); $("$opa" version | head -n 1); load $(cut -d' ' -f1-3 /proc/loadavg); $runs round(s)"
for i in $(seq 1 "$runs"); do
	DURABLE_BENCH_POLICY_INPUTS=$work "$work/policy.test" -test.run XXX -test.bench 'Decision/(admission|gate|invariant)$' -test.benchtime 3000x |
		awk '/^BenchmarkDecision/ {split($1, n, "/"); sub(/-[0-9]+$/, "", n[2]); for (f = 1; f <= NF; f++) if ($f == "p50-µs") print n[2], $(f - 1)}' >>"$work/durable.txt"
	for e in admission gate invariant; do
		"$opa" bench -d "$policies" -i "$work/$e.json" "${query[$e]}" |
			awk -v e="$e" '/histogram_timer_rego_query_eval_ns_median/ {print e, $4 / 1000}' >>"$work/opa.txt"
	done
done
printf '%-10s %14s %14s %8s\n' entry durable_p50_us opa_median_us ratio
for e in admission gate invariant; do
	d=$(awk -v e="$e" '$1 == e {print $2}' "$work/durable.txt" | median)
	o=$(awk -v e="$e" '$1 == e {print $2}' "$work/opa.txt" | median)
	awk -v e="$e" -v d="$d" -v o="$o" 'BEGIN {printf "%-10s %14.1f %14.1f %8.2f\n", e, d, o, d / o}'
done
