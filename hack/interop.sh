#!/usr/bin/env bash
# Checks that what `durable sign` writes, the real cosign CLI verifies, and
# that what `cosign sign` writes, `durable verify` accepts, in both formats
# (classic .sig tag and Sigstore bundle referrer), offline, against Debian's
# docker-registry on 127.0.0.1.
#
# Not run in CI: it builds the cosign CLI at go.mod's version, which takes
# minutes (17 on a loaded 2-core machine under GOFLAGS=-p=1 nice; all six
# checks passed with cosign v2.6.5 on 2026-12-06). Usage: hack/interop.sh
# (needs go, curl, python3, docker-registry; hack/install-deps.sh installs
# the last). Offline, cosign cannot fetch Sigstore's trusted root, which it
# wants for bundles even when a key verifies them: an empty one is given
# (--trusted-root), so only the key is trusted, as in Durable's trust file.
# GOFLAGS=-p=1 nice keeps the build from crowding a shared machine.
set -euo pipefail
cd "$(dirname "$0")/.."

version=$(go list -m -f '{{.Version}}' github.com/sigstore/cosign/v2)
work=$(mktemp -d)
registry_pid=
cleanup() {
	[ -n "$registry_pid" ] && kill "$registry_pid" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

echo "building cosign $version and durable into $work/bin" >&2
GOBIN="$work/bin" go install "github.com/sigstore/cosign/v2/cmd/cosign@$version"
go build -o "$work/bin/durable" ./cmd/durable
export PATH="$work/bin:$PATH"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
host="127.0.0.1:$port"
printf 'version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: %s\n' "$work/data" "$host" >"$work/registry.yml"
docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
registry_pid=$!
for _ in $(seq 100); do curl -fsS "http://$host/v2/" >/dev/null 2>&1 && break; sleep 0.1; done

export COSIGN_PASSWORD=interop
durable keys new --output "$work/durable"
cosign generate-key-pair --output-key-prefix "$work/cosign" >/dev/null
printf '#!/bin/sh\necho interop\n' >"$work/app" && chmod 755 "$work/app"
printf '{"mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1"}\n' >"$work/trusted_root.json"

pack() { durable pack "$work/app" --env "CASE=$1" --push "$host/interop/web:$1"; }
fail=0
check() { # description, command...
	local what=$1
	shift
	if "$@" >"$work/out" 2>&1; then echo "ok   $what"; else echo "FAIL $what"; cat "$work/out"; fail=1; fi
}

ref=$(pack durable-sig)
durable sign "$ref" --key "$work/durable.key" --format cosign-sig
check "cosign verify accepts durable sign --format cosign-sig" \
	cosign verify --key "$work/durable.pub" --insecure-ignore-tlog=true --allow-http-registry "$ref"

ref=$(pack durable-bundle)
durable sign "$ref" --key "$work/durable.key" --format bundle
check "cosign verify --new-bundle-format accepts durable sign --format bundle" \
	cosign verify --key "$work/durable.pub" --new-bundle-format --trusted-root "$work/trusted_root.json" --insecure-ignore-tlog=true --allow-http-registry "$ref"

ref=$(pack cosign-sig)
check "cosign sign (classic, offline)" cosign sign --key "$work/cosign.key" --tlog-upload=false --allow-http-registry -y "$ref"
check "durable verify accepts cosign sign (classic)" durable verify --key "$work/cosign.pub" "$ref"

ref=$(pack cosign-bundle)
check "cosign sign --new-bundle-format (offline)" \
	cosign sign --key "$work/cosign.key" --tlog-upload=false --new-bundle-format --use-signing-config=false \
	--trusted-root "$work/trusted_root.json" --allow-http-registry -y "$ref"
check "durable verify accepts cosign sign --new-bundle-format" durable verify --key "$work/cosign.pub" "$ref"

exit "$fail"
