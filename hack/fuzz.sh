#!/usr/bin/env bash
# usage: hack/fuzz.sh [TARGET...]
#
# Runs each fuzz target of the parsers of outside input (all of them, or the
# TARGETs named) for FUZZTIME (default 1m: a duration such as 30s, 1m or 2h,
# or a count of executions such as 1000000x) with FUZZPARALLEL workers
# (default 1), one after the other, then prints per target the executions,
# their rate, and the crashes found. FUZZMINIMIZETIME (default 200x, or a
# duration such as 2s) bounds the minimizing of each new input: go's
# default of 1m, spent whole on an input of kilobytes (a tar stream), stops
# the fuzzing for that minute each time. A finding is written
# under the package's testdata/fuzz/TARGET: fix the parser, commit the file,
# and every normal test run replays it. Exits non-zero if any target failed.
set -euo pipefail
cd "$(dirname "$0")/.."

# Every fuzz target, as NAME PACKAGE. A new one is added here.
targets=(
	"FuzzLoad ./schema/"
	"FuzzParseTrust ./signing/"
	"FuzzPluginReplies ./adapters/exec/"
	"FuzzAdminPutSplit ./adapters/router/"
	"FuzzUntar ./adapters/process/"
	"FuzzReadApprovals ./internal/approvals/"
	"FuzzTrailers ./internal/approvals/"
	"FuzzDecrypt ./secrets/sops/"
	"FuzzExtract ./internal/tarfiles/"
	"FuzzWebhookPayload ./server/webhook/"
	"FuzzDecode ./adapters/agent/wire/"
)

usage() {
	sed -n 's/^# \{0,1\}//; 2,13p' "$0" >&2
	echo "targets: ${targets[*]%% *}" >&2
	exit 2
}

fuzztime=${FUZZTIME:-1m}
parallel=${FUZZPARALLEL:-1}
minimizetime=${FUZZMINIMIZETIME:-200x}
case $parallel in '' | *[!0-9]* | 0) usage ;; esac
case $minimizetime in *[0-9]s | *[0-9]x) ;; *) usage ;; esac
# The test binary's own timeout: the fuzzing time and 10 minutes more, so
# that a run wedged in one input ends; for a count of executions, 5 ms each
# (a rate of 200 execs/s, below the slowest target's) and 10 minutes more.
case $fuzztime in
*[0-9]s) timeout=$((${fuzztime%s} + 600))s ;;
*[0-9]m) timeout=$((${fuzztime%m} + 10))m ;;
*[0-9]h) timeout=$((${fuzztime%h} * 60 + 10))m ;;
*[0-9]x) timeout=$((${fuzztime%x} / 200 + 600))s ;;
*) usage ;;
esac

selected=()
for want in "$@"; do
	case $want in -*) usage ;; esac
	found=
	for t in "${targets[@]}"; do
		if [ "${t%% *}" = "$want" ]; then
			selected+=("$t")
			found=1
		fi
	done
	[ -n "$found" ] || usage
done
[ ${#selected[@]} -gt 0 ] || selected=("${targets[@]}")

# seconds prints the seconds in a duration as go prints it (1h2m3.5s).
seconds() {
	local d=$1 total=0
	[[ $d =~ ([0-9]+)h ]] && total=$((total + BASH_REMATCH[1] * 3600))
	[[ $d =~ ([0-9]+)m ]] && total=$((total + BASH_REMATCH[1] * 60))
	[[ $d =~ ([0-9]+)(\.[0-9]+)?s ]] && total=$((total + BASH_REMATCH[1]))
	echo "$total"
}

logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
failed=0
summary=()
for t in "${selected[@]}"; do
	name=${t%% *}
	pkg=${t#* }
	log=$logs/$name.log
	echo "== $name ($pkg, $fuzztime, $parallel workers) $(date -u +%H:%M:%S)" >&2
	status=ok
	if ! go test -run '^$' -fuzz "^$name\$" -fuzztime "$fuzztime" -fuzzminimizetime "$minimizetime" \
		-parallel "$parallel" -timeout "$timeout" "$pkg" >"$log" 2>&1; then
		status=FAILED
		failed=1
		tail -n 40 "$log" >&2
	fi
	# The last progress line before PASS or FAIL holds the totals.
	last=$(grep 'fuzz: elapsed: .*execs: ' "$log" | tail -n 1 || true)
	execs=$(grep -o 'execs: [0-9]*' <<<"$last" | cut -d' ' -f2 || true)
	elapsed=$(seconds "$(sed -n 's/.*elapsed: \([^,]*\),.*/\1/p' <<<"$last")")
	rate=$((${execs:-0} / (elapsed > 0 ? elapsed : 1)))
	crashes=$(grep -c 'Failing input written to' "$log" || true)
	crash=$(grep -o 'Failing input written to [^ ]*' "$log" | head -n 1 | sed 's/Failing input written to //' || true)
	summary+=("$(printf '%-20s %-22s %12s %8s %7s  %s' "$name" "$pkg" "${execs:-0}" "$rate" "$crashes" "${status}${crash:+ crash: $pkg$crash}")")
	echo "${summary[-1]}" >&2
done

printf '%-20s %-22s %12s %8s %7s  %s\n' target package execs execs/s crashes result
printf '%s\n' "${summary[@]}"
exit "$failed"
