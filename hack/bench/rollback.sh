#!/usr/bin/env bash
# Measures the rollback time of the embedded default: runs the headless demo N
# times (default 5) and prints, per run, the seconds from the reconciler seeing
# the revert commit to the last request served by the reverted release, with
# the request counts. Report the machine (nproc, CPU model) alongside.
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-5}
go build -o bin/durable ./cmd/durable
field() { sed -n "s/^  \"$1\": \\([^,]*\\),\$/\\1/p" <<<"$2"; }
echo "run rollbackSeconds totalRequests failedRequests converged"
for i in $(seq 1 "$runs"); do
	out=$(bin/durable demo --headless -o json 2>/dev/null || true)
	echo "$i $(field rollbackSeconds "$out") $(field totalRequests "$out") $(field failedRequests "$out") $(field converged "$out")"
done
