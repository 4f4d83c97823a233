#!/usr/bin/env bash
# The long runs of the loader's generated tests, of which the normal test run
# takes a sample: every mutation of the schema's mutation matrix
# (TestMutations with DURABLE_MUTATIONS=all, a few minutes: every field of the
# schema misspelt three ways and given a wrong type and a value out of range,
# in CUE, YAML and JSON, in process and in the isolated child), then every
# fuzz target of the parsers of outside input, the loader's FuzzLoad among
# them, for FUZZTIME each (default 3m; hack/fuzz.sh). A fuzzer's finding is
# written under the package's testdata/fuzz/TARGET: fix it and commit it, and
# it is a seed every normal test run replays. Then the canary analysis's
# mutants (hack/mutate: every survivor is printed; see its doc comment for
# the ones known to be equivalent). Then the loop's scale bench
# (hack/bench/scale.sh) at 100 and 1,000 services on long-lived plug-ins.
# Last, the kill soak (hack/soak.sh) for SOAK_N kills (default 200, about
# 15 minutes; its progress in a fresh temporary SOAK_DIR).
set -euo pipefail
cd "$(dirname "$0")/.."

DURABLE_MUTATIONS=all go test -count=1 -timeout 30m -run '^TestMutations$' -v ./schema/ |
	grep -E '^(--- FAIL|FAIL|ok)|^\s+--- FAIL|fields covered'
FUZZTIME=${FUZZTIME:-3m} hack/fuzz.sh
go run ./hack/mutate -timeout 1m ./reconcile/analysis
hack/bench/scale.sh 100 1000
SOAK_DIR=${SOAK_DIR:-$(mktemp -d /tmp/durable-soak.XXXXXX)} hack/soak.sh "${SOAK_N:-200}"
