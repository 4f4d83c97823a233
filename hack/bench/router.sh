#!/usr/bin/env bash
# Measures Durable's router beside kamal-proxy and HAProxy, each alone in
# front of the same upstream on 127.0.0.1, with wrk (-t2 -c64 by default).
# ROUNDS rounds (default 5), the proxies interleaved and their order rotated
# each round, after one unmeasured warm-up run of each. Per proxy it prints
# the medians of: requests per second, p50 and p99 latency (wrk --latency),
# CPU per request (utime+stime of the proxy's process from /proc/PID/stat
# over the run, divided by the requests wrk completed), and the peak RSS
# (VmHWM) after the last round.
#
# stdout is ONLY the markdown table and a one-line method note (all.sh pastes
# it into BENCHMARKS.md); everything else goes to stderr.
#
# The upstream is `plugin serve` (internal/benchrepo/plugin): a net/http
# server answering 200 with an empty body to every request.
#
# Environment:
#   ROUNDS=5 DURATION=10s THREADS=2 CONNS=64   the wrk runs
#   DURABLE=BINARY        measure this durable binary (default: build HEAD)
#   DURABLE_BEFORE=BINARY also measure this one (an older build), in the same
#                         rounds, as the row "Durable router, before"
#   KAMAL_PROXY=BINARY    a kamal-proxy binary; else KAMAL_PROXY_SRC=DIR (default
#                         /tmp/kamal-proxy), a checkout of basecamp/kamal-proxy,
#                         is built with GOFLAGS=-mod=mod. Without either the
#                         kamal-proxy row says "not measured".
#   DURABLE_PPROF=127.0.0.1:PORT   build durable with -tags pprof and serve
#                         net/http/pprof there, to profile during the runs
# Needs wrk (apt-get install wrk) and haproxy (hack/install-deps.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${ROUNDS:-5}
duration=${DURATION:-10s}
threads=${THREADS:-2}
conns=${CONNS:-64}

log() { echo "router.sh: $*" >&2; }
for v in rounds threads conns; do
	[[ ${!v} =~ ^[1-9][0-9]{0,3}$ ]] || { log "${v^^}=${!v}: give a whole number from 1 to 9999"; exit 2; }
done
[[ $duration =~ ^[1-9][0-9]{0,4}[smh]?$ ]] || { log "DURATION=$duration: give wrk's duration, e.g. 10s or 2m"; exit 2; }
for tool in wrk haproxy python3; do
	command -v "$tool" >/dev/null || { log "$tool is missing (wrk: apt-get install wrk; haproxy: hack/install-deps.sh)"; exit 1; }
done

work=$(mktemp -d)
pids=()
cleanup() {
	for pid in "${pids[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/bin" "$work/kamal"

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# wait_http URL [LOG]: waits up to 10 s for URL to answer anything; if
# nothing does, prints LOG (the server's) and ends the script.
wait_http() {
	for _ in $(seq 100); do
		curl -s -o /dev/null "$1" && return 0
		sleep 0.1
	done
	log "nothing answers on $1${2:+; its log:}"
	[ -z "${2:-}" ] || cat "$2" >&2
	exit 1
}

# --- build --------------------------------------------------------------
log "building"
for b in DURABLE DURABLE_BEFORE KAMAL_PROXY; do
	[ -z "${!b:-}" ] || [ -x "${!b}" ] || { log "$b=${!b} is not an executable file"; exit 2; }
done
if [ -n "${DURABLE:-}" ]; then
	durable=$DURABLE
elif [ -n "${DURABLE_PPROF:-}" ]; then
	go build -tags pprof -o "$work/bin/durable" ./cmd/durable
	durable=$work/bin/durable
else
	go build -o "$work/bin/durable" ./cmd/durable
	durable=$work/bin/durable
fi
go build -o "$work/bin/plugin" ./internal/benchrepo/plugin
kamal=${KAMAL_PROXY:-}
kamal_src=${KAMAL_PROXY_SRC:-/tmp/kamal-proxy}
if [ -z "$kamal" ] && [ -f "$kamal_src/go.mod" ]; then
	(cd "$kamal_src" && GOFLAGS=-mod=mod go build -o "$work/bin/kamal-proxy" ./cmd/kamal-proxy) >&2
	kamal=$work/bin/kamal-proxy
fi
[ -n "$kamal" ] || log "no kamal-proxy (set KAMAL_PROXY=BINARY or KAMAL_PROXY_SRC=DIR, a checkout of github.com/basecamp/kamal-proxy): its row is left out"

# --- start --------------------------------------------------------------
up_port=$(free_port)
"$work/bin/plugin" serve "127.0.0.1:$up_port" >/dev/null 2>"$work/upstream.log" &
pids+=($!)
wait_http "http://127.0.0.1:$up_port/"

declare -A port pid
names=()

# start_durable NAME BINARY: a router on its own port, its one service's
# one set on the upstream.
start_durable() {
	port[$1]=$(free_port)
	cat >"$work/$1-state.json" <<EOF
{"bench": {"service": "bench", "backends": [{"set": "a", "weight": 100, "endpoints": ["127.0.0.1:$up_port"]}]}}
EOF
	"$2" router --listen "127.0.0.1:${port[$1]}" --admin "unix://$work/$1.sock" \
		--state "$work/$1-state.json" >"$work/$1.log" 2>&1 &
	pid[$1]=$!
	pids+=($!)
	names+=("$1")
}
start_durable durable "$durable"
[ -z "${DURABLE_BEFORE:-}" ] || start_durable before "$DURABLE_BEFORE"

port[haproxy]=$(free_port)
cat >"$work/haproxy.cfg" <<EOF
global
	maxconn 4096
defaults
	mode http
	option http-keep-alive
	option forwardfor
	http-reuse always
	timeout connect 2s
	timeout client 30s
	timeout server 30s
frontend bench
	bind 127.0.0.1:${port[haproxy]}
	default_backend upstream
backend upstream
	server up 127.0.0.1:$up_port
EOF
haproxy -db -f "$work/haproxy.cfg" >"$work/haproxy.log" 2>&1 &
pid[haproxy]=$!
pids+=($!)
names+=(haproxy)

if [ -n "$kamal" ]; then
	port[kamal]=$(free_port)
	# kamal-proxy keeps its state under HOME and its socket in
	# XDG_RUNTIME_DIR; it logs every request on stdout, as it does by default.
	HOME=$work/kamal XDG_RUNTIME_DIR=$work/kamal "$kamal" run --http-port "${port[kamal]}" \
		--https-port "$(free_port)" >"$work/kamal.log" 2>&1 &
	pid[kamal]=$!
	pids+=($!)
	names+=(kamal)
fi

for n in "${names[@]}"; do
	[ "$n" = kamal ] && continue
	wait_http "http://127.0.0.1:${port[$n]}/" "$work/$n.log"
done
if [ -n "$kamal" ]; then
	for _ in $(seq 100); do [ -S "$work/kamal/kamal-proxy.sock" ] && break; sleep 0.1; done
	HOME=$work/kamal XDG_RUNTIME_DIR=$work/kamal "$kamal" deploy bench --target "127.0.0.1:$up_port" \
		--health-check-path / >&2
	wait_http "http://127.0.0.1:${port[kamal]}/" "$work/kamal.log"
fi
for n in "${names[@]}"; do
	code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:${port[$n]}/")
	[ "$code" = 200 ] || { log "$n answers $code, not 200; its log:"; cat "$work/$n.log" >&2; exit 1; }
done

# --- measure ------------------------------------------------------------
clk=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
to_ms() { # wrk's 1.23ms / 456.00us / 1.20s → milliseconds
	awk -v v="$1" 'BEGIN {
		if (v ~ /us$/) { sub(/us$/, "", v); print v / 1000 }
		else if (v ~ /ms$/) { sub(/ms$/, "", v); print v + 0 }
		else if (v ~ /m$/) { sub(/m$/, "", v); print v * 60000 }
		else { sub(/s$/, "", v); print v * 1000 } }'
}

# bench NAME DURATION: one wrk run; appends "rps p50ms p99ms cpu_us_per_req" to $work/NAME.runs.
bench() {
	local n=$1 d=$2 before after out reqs rps p50 p99
	before=$(cpu_ticks "${pid[$n]}")
	out=$(wrk -t"$threads" -c"$conns" -d"$d" --latency "http://127.0.0.1:${port[$n]}/")
	after=$(cpu_ticks "${pid[$n]}")
	reqs=$(awk '/requests in/ {print $1}' <<<"$out")
	rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
	p50=$(to_ms "$(awk '$1 == "50%" {print $2}' <<<"$out")")
	p99=$(to_ms "$(awk '$1 == "99%" {print $2}' <<<"$out")")
	if grep -q 'Non-2xx\|Socket errors' <<<"$out"; then
		log "$n: $(grep 'Non-2xx\|Socket errors' <<<"$out")"
	fi
	echo "$rps $p50 $p99 $(awk -v t=$((after - before)) -v c="$clk" -v r="$reqs" 'BEGIN {printf "%.1f", t / c * 1e6 / r}')" \
		>>"$work/$n.runs"
	log "$n: $rps rps, p50 $p50 ms, p99 $p99 ms, $reqs requests, $((after - before)) ticks"
}

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
log "warm-up"
for n in "${names[@]}"; do bench "$n" 2s; rm -f "$work/$n.runs"; done
for r in $(seq "$rounds"); do
	log "round $r of $rounds, load: $(cut -d' ' -f1-3 /proc/loadavg)"
	k=${#names[@]}
	for i in $(seq 0 $((k - 1))); do
		bench "${names[$(((i + r) % k))]}" "$duration"
	done
done
load=$(cut -d' ' -f1-3 /proc/loadavg)

median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
col() { awk -v c="$2" '{print $c}' "$work/$1.runs" | median; }
rss() { awk '/^VmHWM:/ {printf "%.0f", $2 / 1024}' "/proc/${pid[$1]}/status"; }

declare -A label=([durable]="Durable router (\`durable router\`)" [before]="Durable router, before" [kamal]="kamal-proxy" [haproxy]="HAProxy $(haproxy -v | awk 'NR == 1 {print $3}')")
hap_rps=$(col haproxy 1)
echo "| proxy | requests/s | p50 | p99 | CPU per request | peak RSS | rps vs HAProxy |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
rows=(durable kamal haproxy)
[ -z "${pid[before]:-}" ] || rows=(before "${rows[@]}")
for n in "${rows[@]}"; do
	if [ -z "${pid[$n]:-}" ]; then
		echo "| ${label[$n]} | not measured | | | | | |"
		continue
	fi
	rps=$(col "$n" 1)
	printf '| %s | %.0f | %.2f ms | %.2f ms | %.1f µs | %s MiB | %.2f× |\n' "${label[$n]}" "$rps" \
		"$(col "$n" 2)" "$(col "$n" 3)" "$(col "$n" 4)" "$(rss "$n")" "$(awk -v a="$rps" -v b="$hap_rps" 'BEGIN {print a / b}')"
done
echo
echo "Method: \`hack/bench/router.sh\`, \`wrk -t$threads -c$conns -d$duration --latency\` through each proxy to one upstream (\`plugin serve\`, empty 200) on 127.0.0.1, medians of $rounds interleaved rounds; CPU from /proc/PID/stat; machine: $(nproc) cores, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo), $(go version | awk '{print $3}'), load (1, 5, 15 min) $load_start at the start, $load at the end."
