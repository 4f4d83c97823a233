#!/usr/bin/env bash
# Control-plane time of a fleet-wide rollout: HOSTS hosts (default 50), each
# a network namespace running `durable agent` and a router
# (hack/fleet-up.sh), in stages of ten behind staging; a blue/green release
# without bake, from the commit to every host serving it, ROUNDS times
# (default 3). Prints seconds per rollout (ns/op), the reconciler's CPU
# seconds per rollout and its peak RSS. Needs root and iproute2.
#
#   hack/bench/fleet.sh [HOSTS] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
hosts=${1:-50}
rounds=${2:-3}
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "method: FLEET_HOSTS=$hosts go test ./test/e2e/fleet -run XXX -bench BenchmarkFleetRollout -benchtime ${rounds}x"
FLEET_HOSTS=$hosts go test ./test/e2e/fleet -run XXX -bench BenchmarkFleetRollout -benchtime "${rounds}x" -timeout 30m 2>&1 |
	grep -E '^(Benchmark|goos|cpu|ok|FAIL|---)|ns/op|round [0-9]+:|converged'
