#!/usr/bin/env bash
# Measures every figure of issue 20 (policy decisions, start-up, validate,
# router) and of the control-loop issue (14: hack/bench/scale.sh, the revert
# time of hack/bench/rollback.sh), each beside its peer measured in the same
# run, and writes BENCHMARKS.md at the repository root: the method, the
# machine (CPUs, CPU model, memory, Go version), the load before and after
# each section, and each script's own output; then hack/bench/shortfalls.md,
# kept by hand, on the rows short of their goal.
#
# It builds durable once, and opa and cue at go.mod's versions (OPA=BINARY,
# CUE=BINARY to give them). Environment: RUNS (rounds of the comparisons,
# default 5), SCALE_10000=1 to add the 10,000-service loop (about half an
# hour), SCALE_RUNS (revisions per scale size, default 3), OUT (default
# BENCHMARKS.md), SECTIONS (default "policy startup validate router scale
# rollback": the sections to run). A section whose script fails is
# reported as failed with its output; the others still run.
set -uo pipefail
cd "$(dirname "$0")/../.."
runs=${RUNS:-5}
out=${OUT:-BENCHMARKS.md}
sections=${SECTIONS:-policy startup validate router scale rollback}
work=$(mktemp -d /tmp/durable-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT

echo "all.sh: building durable, opa and cue into $work" >&2
go build -o "$work/durable" ./cmd/durable || exit 1
opa=${OPA:-$work/opa}
cue=${CUE:-$work/cue}
if [ -z "${OPA:-}" ]; then
	(cd "$work" && GOBIN="$work" GOFLAGS=-mod=mod go install "github.com/open-policy-agent/opa@$(go list -m -f '{{.Version}}' github.com/open-policy-agent/opa)") || exit 1
fi
if [ -z "${CUE:-}" ]; then
	(cd "$work" && GOBIN="$work" GOFLAGS=-mod=mod go install "cuelang.org/go/cmd/cue@$(go list -m -f '{{.Version}}' cuelang.org/go)") || exit 1
fi

load() { cut -d' ' -f1-3 /proc/loadavg; }
median() { sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

# section TITLE METHOD CMD...: runs CMD, and appends its output to the
# report under TITLE with the method and the load before and after.
section() {
	local name=$1 title=$2 method=$3 before rc
	shift 3
	[[ " $sections " == *" $name "* ]] || return 0
	echo "all.sh: $title" >&2
	before=$(load)
	"$@" >"$work/section.out" 2>"$work/section.err"
	rc=$?
	{
		echo "## $title"
		echo
		echo "Method: $method"
		echo
		echo "Load (1, 5, 15 min) before: $before; after: $(load)."
		echo
		if [ "$rc" -ne 0 ]; then
			echo "**Failed** (exit $rc); its standard error ends:"
			echo
			echo '```'
			tail -n 20 "$work/section.err"
			echo '```'
			echo
		fi
		echo '```'
		cat "$work/section.out"
		echo '```'
		echo
	} >>"$work/report.md"
}

# startup: durable version, opa version and cue version, interleaved;
# median wall time, peak RSS, and the package initialisation inittrace
# reports (its sum, the bytes it allocated, and the etcd client's share).
startup() {
	local n=$((runs * 4 + 1))
	for i in $(seq 1 "$n"); do
		for b in durable opa cue; do
			local bin=$work/durable
			[ "$b" = opa ] && bin=$opa
			[ "$b" = cue ] && bin=$cue
			local s e
			s=$(date +%s%N)
			/usr/bin/time -f %M -o "$work/rss" "$bin" version >/dev/null 2>&1
			e=$(date +%s%N)
			echo "$(((e - s) / 1000)) $(cat "$work/rss")" >>"$work/start-$b"
		done
	done
	printf '%-8s %10s %9s %12s %14s %10s %8s\n' binary wall_ms RSS_MiB init_ms init_MB etcd_ms size_MB
	for b in durable opa cue; do
		local bin=$work/durable
		[ "$b" = opa ] && bin=$opa
		[ "$b" = cue ] && bin=$cue
		local wall rss init
		wall=$(cut -d' ' -f1 "$work/start-$b" | median)
		rss=$(cut -d' ' -f2 "$work/start-$b" | median)
		init=$(for _ in $(seq 1 "$runs"); do GODEBUG=inittrace=1 "$bin" version 2>&1 >/dev/null |
			awk '/^init / {t += $5; a += $8; if ($2 ~ /^go.etcd.io\/etcd\/(client|api)/) e += $5} END {print t, a, e}'; done |
			sort -n | awk '{v[NR] = $0} END {print v[int((NR + 1) / 2)]}')
		read -r init_ms init_b etcd_ms <<<"$init"
		awk -v b="$b" -v w="$wall" -v r="$rss" -v i="$init_ms" -v a="$init_b" -v e="$etcd_ms" -v s="$(stat -c %s "$bin")" \
			'BEGIN {printf "%-8s %10.1f %9.1f %12.1f %14.1f %10.2f %8.0f\n", b, w / 1000, r / 1024, i, a / 1e6, e, s / 1e6}'
	done
	awk -v d="$(cut -d' ' -f1 "$work/start-durable" | median)" -v o="$(cut -d' ' -f1 "$work/start-opa" | median)" \
		'BEGIN {printf "\ndurable version / opa version: %.2fx (goal <= 1.25x)\n", d / o}'
	echo
	echo "A revision's isolated evaluation (quickstart, this durable as the child, a 150 ms pause between loads as between revisions):"
	DURABLE_BENCH_BINARY=$work/durable go test -run XXX -bench 'IsolatedLoadQuickstart|WarmLoadQuickstart' -benchtime 10x ./schema/ | grep '^Benchmark'
}

router() {
	if [ ! -x hack/bench/router.sh ]; then
		echo "not measured: hack/bench/router.sh missing"
		return 0
	fi
	DURABLE=$work/durable hack/bench/router.sh
}

scale() {
	local sizes=(1000)
	[ "${SCALE_10000:-}" = 1 ] && sizes+=(10000)
	DURABLE=$work/durable RUNS=${SCALE_RUNS:-3} hack/bench/scale.sh "${sizes[@]}"
}

{
	echo "# Benchmarks"
	echo
	echo "Written by \`hack/bench/all.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC') at $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . ':!BENCHMARKS.md' || echo ' (with uncommitted changes)'). Every figure below comes from this one run, each beside its peer measured in the same run; the sections give each script's method and output. The machine is shared: the load before and after each section is given, and figures taken under load are slower and noisier than on a quiet machine."
	echo
	echo "Machine: $(nproc) CPU(s), $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), $(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo) memory, $(go version | cut -d' ' -f3-), opa $("$opa" version | sed -n 's/^Version: //p'), $("$cue" version | head -n 1). RUNS=$runs."
	echo
	echo "Goals (issue 20): policy decision p50 <= 1.5x opa bench on each entry point; durable version <= 1.25x opa version; durable validate <= 1.0x cue vet at 1, 100, 1,000 and 10,000 services; the router >= kamal-proxy. Issue 14: revision loaded -> first action <= 0.1 s at every size, a revert to a warm set <= 0.1 s, idle CPU <= 0.02 cores at 1,000 services, RSS < 500 MiB at 10,000."
	echo
} >"$work/report.md"

section policy "Policy decisions (issue 20)" "\`OPA=… RUNS=$runs hack/bench/policy.sh\`: BenchmarkDecision's p50 of a whole decision (input encoded, digested, evaluated) against \`opa bench\`'s median evaluation of the same query on the same policy (examples/docker-haproxy) and input file." \
	env OPA="$opa" RUNS="$runs" hack/bench/policy.sh
section startup "Start-up (issue 20)" "each binary's \`version\`, $((runs * 4 + 1)) interleaved runs, median wall time and peak RSS (/usr/bin/time); GODEBUG=inittrace=1, median over $runs runs of the sum of package initialisation times and bytes, and the etcd client's share (go.etcd.io/etcd/client and api packages)." \
	startup
section validate "durable validate against cue vet (issue 20)" "\`DURABLE=… CUE=… hack/bench/validate.sh $runs\` (SIZES 1 100 1000 10000): generated repositories (internal/benchrepo); the ratio column is cue/durable (>= 1.0 meets the goal)." \
	env DURABLE="$work/durable" CUE="$cue" hack/bench/validate.sh "$runs"
section router "Router (issue 20)" "\`hack/bench/router.sh\` (the router, kamal-proxy and HAProxy with the same upstream and wrk)." \
	router
section scale "Control loop (issue 14)" "\`DURABLE=… RUNS=${SCALE_RUNS:-3} hack/bench/scale.sh 1000$([ "${SCALE_10000:-}" = 1 ] && echo ' 10000')\` (10,000 with SCALE_10000=1)." \
	scale
section rollback "Revert to a warm set (issue 14)" "\`hack/bench/rollback.sh 3\`: the headless demo; seconds from the reconciler seeing the revert commit to the last request served by the reverted release." \
	hack/bench/rollback.sh 3
[ -f hack/bench/shortfalls.md ] && cat hack/bench/shortfalls.md >>"$work/report.md"
mv "$work/report.md" "$out"
echo "all.sh: wrote $out" >&2
