#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs what it needs, vets, and
# runs every test (unit, integration and end-to-end against real git,
# registry, processes and router).
set -euo pipefail
cd "$(dirname "$0")/.."

hack/install-deps.sh
unformatted=$(gofmt -l $(git ls-files '*.go'))
if [ -n "$unformatted" ]; then
	echo "not gofmt-formatted:" >&2
	echo "$unformatted" >&2
	exit 1
fi
go vet ./...
go test -count=1 -timeout 25m "$@" ./...
