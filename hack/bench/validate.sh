#!/usr/bin/env bash
# Compares validating a desired-state repository with `durable validate` and
# with `cue vet` against the exported schema (laid out as docs/schema.md
# says), on generated repositories (internal/benchrepo) of 1, 100, 1,000
# and 10,000 services (SIZES, space-separated, to choose). Each size runs
# both commands RUNS times (default 5), interleaved, alternating which goes
# first, and prints the median wall time and the peak RSS of each. cue is
# built at the CUE version of go.mod, unless CUE=BINARY gives one;
# DURABLE=BINARY measures that binary instead of building ./cmd/durable.
# Both commands must succeed on every run, or the script stops.
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-5}
read -r -a sizes <<<"${SIZES:-1 100 1000 10000}"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/bin"

cue_version=$(go list -m -f '{{.Version}}' cuelang.org/go)
durable=${DURABLE:-$work/bin/durable}
cue=${CUE:-$work/bin/cue}
[ -n "${DURABLE:-}" ] || go build -o "$durable" ./cmd/durable
go build -o "$work/bin/benchrepo" ./internal/benchrepo/cmd
[ -n "${CUE:-}" ] || GOBIN="$work/bin" go install "cuelang.org/go/cmd/cue@$cue_version"

# measure DIR CMD...: runs CMD in DIR and prints "SECONDS MAX_RSS_KIB"; a
# failing command ends the script with its output.
if [ -x /usr/bin/time ]; then
	measure() {
		local dir=$1 start end
		shift
		start=$(date +%s%N)
		if ! (cd "$dir" && /usr/bin/time -f %M -o "$work/rss" "$@" >"$work/out" 2>&1); then
			echo "FAILED in $dir: $*" >&2
			cat "$work/out" >&2
			exit 1
		fi
		end=$(date +%s%N)
		echo "$(((end - start) / 1000000)) $(tail -n 1 "$work/rss")" |
			awk '{printf "%.3f %d\n", $1 / 1000, $2}'
	}
else
	measure() {
		local dir=$1
		shift
		(cd "$dir" && python3 -c '
import resource, subprocess, sys, time
start = time.monotonic()
with open(sys.argv[1], "w") as out:
    p = subprocess.run(sys.argv[2:], stdout=out, stderr=subprocess.STDOUT)
wall = time.monotonic() - start
if p.returncode != 0:
    sys.stderr.write("FAILED: %s\n%s" % (" ".join(sys.argv[2:]), open(sys.argv[1]).read()))
    sys.exit(1)
print("%.3f %d" % (wall, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
' "$work/out" "$@") || exit 1
	}
fi

median() { sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

echo "machine: $(nproc) CPU(s), $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1); $(go version | cut -d' ' -f3-); cue $cue_version; $runs run(s) each"
printf '%8s %12s %12s %10s %12s %12s\n' services durable_s cue_vet_s cue/durable durable_MiB cue_MiB
for n in "${sizes[@]}"; do
	repo=$work/repo-$n
	"$work/bin/benchrepo" "$repo" "$n"
	"$durable" schema export "$repo/durable-schema" >/dev/null
	mkdir -p "$repo/cue.mod" "$repo/check"
	cat >"$repo/cue.mod/module.cue" <<-'CUE'
		module: "example.com/infra@v0"
		language: version: "v0.17.0"
		deps: "durable.dev/schema@v0": v: "v0.1.0"
	CUE
	cat >"$repo/cue.mod/local-module.cue" <<-'CUE'
		deps: "durable.dev/schema@v0": replaceWith: "./durable-schema"
	CUE
	cat >"$repo/check/check.cue" <<-'CUE'
		package check

		import (
			"durable.dev/schema"
			infra "example.com/infra@v0:infra"
		)

		desired: schema.#DesiredState & infra
	CUE

	# One unmeasured run of each warms the page cache and checks that
	# Durable saw every service.
	measure "$repo" "$durable" validate --timeout 10m . >/dev/null
	grep -q "valid: $n service(s)" "$work/out" || { echo "durable validate did not find $n services:" >&2; cat "$work/out" >&2; exit 1; }
	measure "$repo" "$cue" vet -c ./check >/dev/null

	: >"$work/durable.txt"
	: >"$work/cue.txt"
	for i in $(seq 1 "$runs"); do
		if ((i % 2)); then
			measure "$repo" "$durable" validate --timeout 10m . >>"$work/durable.txt"
			measure "$repo" "$cue" vet -c ./check >>"$work/cue.txt"
		else
			measure "$repo" "$cue" vet -c ./check >>"$work/cue.txt"
			measure "$repo" "$durable" validate --timeout 10m . >>"$work/durable.txt"
		fi
	done

	d_s=$(cut -d' ' -f1 "$work/durable.txt" | median)
	c_s=$(cut -d' ' -f1 "$work/cue.txt" | median)
	d_rss=$(cut -d' ' -f2 "$work/durable.txt" | sort -n | tail -n 1)
	c_rss=$(cut -d' ' -f2 "$work/cue.txt" | sort -n | tail -n 1)
	awk -v n="$n" -v d="$d_s" -v c="$c_s" -v dr="$d_rss" -v cr="$c_rss" \
		'BEGIN {printf "%8d %12.3f %12.3f %10.2f %12.1f %12.1f\n", n, d, c, c / d, dr / 1024, cr / 1024}'
done
