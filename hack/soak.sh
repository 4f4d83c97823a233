#!/usr/bin/env bash
# usage: hack/soak.sh N
#
# The kill soak: SIGKILLs the reconciler until N kills are done, aimed at
# random instants of set creations, upgrade-downgrade checks, canary steps,
# stage bakes, gate holds and warm reverts of a two-stage pipeline under
# load, and checks after each kill the journal the killed reconciler left,
# the traffic weights and the running instances, and that it converges
# again (test/e2e/soak). Progress is kept in SOAK_DIR (default
# /tmp/durable-soak): Ctrl-C or SIGTERM stops it with its progress saved,
# and running it again goes on until N. It prints a summary at the end
# (kills by place, violations, time taken) and exits non-zero if any rule
# was found broken. Remove SOAK_DIR to start over.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ $# -ne 1 || ! $1 =~ ^[1-9][0-9]*$ ]]; then
	sed -n 's/^# \{0,1\}//; 2,13p' "$0" >&2
	exit 2
fi
export SOAK_N=$1 SOAK_DIR=${SOAK_DIR:-/tmp/durable-soak}
mkdir -p "$SOAK_DIR"
# The test binary is built first and run directly, so that a signal sent to
# this script's process reaches the soak itself, which saves its progress.
go test -c -tags soak -o "$SOAK_DIR/soak.test" ./test/e2e/soak
cd test/e2e/soak
exec "$SOAK_DIR/soak.test" -test.run '^TestSoak$' -test.timeout 0 -test.count 1 -test.v
