#!/usr/bin/env bash
# How the reconciler's loop scales: for each size (default 100 1000 10000
# services) generates a repository whose four targets run on exec plug-ins
# (internal/benchrepo, -exec), runs the real `durable run` on it, and, over
# RUNS revisions (default 5) that each change one service's env, reports
# trigger -> revision loaded, loaded -> first action, the CPU while nothing
# changes (over IDLE seconds, default 30) and the peak RSS. Each wait is
# bounded by TIMEOUT seconds (default 900). DURABLE=BINARY measures that
# binary instead of building ./cmd/durable; DURABLE_PPROF=ADDR builds it
# serving net/http/pprof on ADDR; RESYNC=DURATION sets the reconciler's
# --resync. See hack/bench/README.md.
#
# usage: hack/bench/scale.sh [--one-shot] [SIZES...]
#   --one-shot  plug-ins run once per call (the host file says no longLived)
set -euo pipefail
cd "$(dirname "$0")/../.."

usage() { echo "usage: hack/bench/scale.sh [--one-shot] [SIZES...]  (env: RUNS, IDLE, TIMEOUT)" >&2; exit 2; }
one_shot=false
sizes=()
for arg in "$@"; do
	case $arg in
	--one-shot) one_shot=true ;;
	-h | --help) usage ;;
	-*) echo "scale.sh: unknown option \"$arg\"" >&2; usage ;;
	*)
		[[ $arg =~ ^[1-9][0-9]{0,5}$ ]] || { echo "scale.sh: size \"$arg\" is not a number of services from 1 to 999999" >&2; usage; }
		sizes+=("$arg")
		;;
	esac
done
[[ ${#sizes[@]} -gt 0 ]] || sizes=(100 1000 10000)
for var in RUNS IDLE TIMEOUT; do
	[[ -z ${!var:-} || ${!var} =~ ^[1-9][0-9]{0,4}$ ]] || { echo "scale.sh: $var=\"${!var}\" is not a whole number from 1 to 99999" >&2; exit 2; }
done
for cmd in git python3 curl; do
	command -v "$cmd" >/dev/null || { echo "scale.sh: $cmd is missing (hack/install-deps.sh installs it)" >&2; exit 1; }
done

# The host file and the plug-ins' commands must not be writable by others:
# everything lives in a private temporary directory.
work=$(mktemp -d /tmp/durable-scale.XXXXXX)
chmod 700 "$work"
pids=()
cleanup() {
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

echo "building durable, the bench plug-in and the repository generator into $work/bin" >&2
mkdir -p "$work/bin"
if [[ -n ${DURABLE:-} ]]; then
	[[ -x $DURABLE ]] || { echo "scale.sh: DURABLE=\"$DURABLE\" is not an executable file" >&2; exit 2; }
	cp "$DURABLE" "$work/bin/durable"
else
	# DURABLE_PPROF=127.0.0.1:PORT: a profiling build (cmd/durable/pprof.go)
	# serving net/http/pprof there, to see where a size spends its time.
	go build ${DURABLE_PPROF:+-tags pprof} -o "$work/bin/durable" ./cmd/durable
fi
go build -o "$work/bin/plugin" ./internal/benchrepo/plugin
go build -o "$work/bin/benchrepo" ./internal/benchrepo/cmd

# One health server answers for every instance of every plug-in.
"$work/bin/plugin" serve 127.0.0.1:0 >"$work/health.addr" &
pids+=($!)
for _ in $(seq 100); do [[ -s $work/health.addr ]] && break; sleep 0.05; done
endpoint=$(cat "$work/health.addr")
[[ -n $endpoint ]] || { echo "scale.sh: the bench plug-in's health server did not start" >&2; exit 1; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# host_file DIR TARGETS: the host file declaring each target's plug-ins.
host_file() {
	local dir=$1 lived=""
	$one_shot || lived=", longLived: true"
	echo "plugins:"
	while read -r target runtime traffic; do
		echo "  $runtime: {command: [\"$work/bin/plugin\", \"runtime\", \"$dir/plugins/$target\", \"$endpoint\"]$lived}"
		echo "  $traffic: {command: [\"$work/bin/plugin\", \"traffic\", \"$dir/plugins/$target\"]$lived}"
	done <"$2"
}

# measure SIZE: one reconciler on a fresh repository of SIZE services.
measure() {
	local size=$1 dir="$work/$1" port
	mkdir -p "$dir"
	"$work/bin/benchrepo" -exec "$dir/repo" "$size" >"$dir/targets"
	git -C "$dir/repo" init -q -b main
	git -C "$dir/repo" add -A
	git -C "$dir/repo" -c user.name=bench -c user.email=bench@example.com commit -q -m "$size services"
	host_file "$dir" "$dir/targets" >"$dir/host.yaml"
	echo "write $(python3 -c 'import secrets; print(secrets.token_hex(32))')" >"$dir/tokens"
	chmod 600 "$dir/host.yaml" "$dir/tokens"
	port=$(free_port)
	# Evaluating 10,000 services takes 15 s on an idle 2-core machine and
	# over the default 30 s limit on a loaded one: the limit an operator
	# of such a fleet would give, so that the bench measures the loop.
	local eval_timeout=30s
	[[ $size -lt 5000 ]] || eval_timeout=10m
	"$work/bin/durable" run --repo "$dir/repo" --state "$dir/state" --listen "127.0.0.1:$port" \
		--token-file "$dir/tokens" --host-config "$dir/host.yaml" --insecure-skip-verify \
		--interval 1h --evaluation-timeout "$eval_timeout" ${RESYNC:+--resync "$RESYNC"} >"$dir/run.log" 2>&1 &
	local pid=$!
	pids+=("$pid")
	for _ in $(seq 200); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
	kill -0 "$pid" 2>/dev/null || { echo "scale.sh: durable run exited at $size services:" >&2; tail -20 "$dir/run.log" >&2; exit 1; }
	echo "$size services: reconciler pid $pid, API 127.0.0.1:$port, log $dir/run.log" >&2
	local out
	if ! out=$(python3 hack/bench/scale.py "http://127.0.0.1:$port" "$dir/tokens" "$dir/repo" "$pid" "$size"); then
		echo "scale.sh: measuring $size services failed; the reconciler's log ends:" >&2
		tail -20 "$dir/run.log" >&2
		exit 1
	fi
	kill "$pid"
	echo "$size $out" >>"$work/results"
}

mode="long-lived"
$one_shot && mode="one-shot"
for size in "${sizes[@]}"; do measure "$size"; done

echo
echo "machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
echo "method: ${DURABLE:+DURABLE=$DURABLE }hack/bench/scale.sh $* (plug-ins $mode, RUNS=${RUNS:-5} IDLE=${IDLE:-30}s, --resync ${RESYNC:-default}, --insecure-skip-verify)"
echo "times in seconds: median (min-max) over the runs; CPU in cores over IDLE seconds: idle with nothing in flight (before the runs), baking with the runs' canaries in flight (after them)"
printf '%-8s %-22s %-22s %-9s %-10s %-8s %-11s %-8s %s\n' services "trigger->loaded" "loaded->1st action" "idle CPU" "plug-ins" "entries" "baking CPU" "RSS MiB" "warm-up s"
while read -r size kvs; do
	declare -A r=()
	for kv in $kvs; do r[${kv%%=*}]=${kv#*=}; done
	printf '%-8s %-22s %-22s %-9s %-10s %-8s %-11s %-8s %s\n' "$size" "${r[loaded]}" "${r[action]}" "${r[idle_cpu]}" "${r[plugin_cpu]}" "${r[idle_entries]}" "${r[baking_cpu]}" "${r[rss_mib]}" "${r[warmup_s]}"
done <"$work/results"
