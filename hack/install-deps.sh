#!/usr/bin/env bash
# Installs what Durable's tests and demo need on a bare Debian machine of this
# project's kind: the git CLI (go-git shells out to it for file:// and the
# tests drive real repositories with it), python3 (the example exec adapters),
# haproxy (the HAProxy adapter's tests run a real one), docker-registry
# (the signing tests push to a real registry server) and prometheus (the
# canary analysis and metrics tests query a real one; its promtool checks
# the example alert rules), openssh-client and openssh-server
# (private repositories are fetched from a real sshd in the tests, and the
# commit-signing tests drive ssh-keygen), systemd (deploy/systemd's test runs
# systemd-analyze verify and security, systemd-sysusers and systemd-tmpfiles
# on the units; it needs no running systemd), chromium (the dashboard's
# end-to-end test drives a real headless browser through chromedp), iproute2
# (hack/fleet-up.sh makes each fleet host a network namespace), etcd-server
# (the etcd journal's tests start a real etcd of their own). Go and the Docker
# engine come with the machine.
set -euo pipefail

need=()
command -v git >/dev/null 2>&1 || need+=(git)
command -v python3 >/dev/null 2>&1 || need+=(python3)
command -v haproxy >/dev/null 2>&1 || need+=(haproxy)
command -v docker-registry >/dev/null 2>&1 || need+=(docker-registry)
command -v prometheus >/dev/null 2>&1 || need+=(prometheus)
command -v ssh-keygen >/dev/null 2>&1 || need+=(openssh-client)
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
[ -x /usr/bin/systemd-analyze ] && [ -x /usr/bin/systemd-sysusers ] && [ -x /usr/bin/systemd-tmpfiles ] || need+=(systemd)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v ip >/dev/null 2>&1 || need+=(iproute2)
[ -x /usr/bin/etcd ] || need+=(etcd-server)
if [ "${#need[@]}" -gt 0 ]; then
	echo "install-deps: installing ${need[*]} with apt-get" >&2
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	$sudo apt-get update -q
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${need[@]}"
fi

if ! command -v go >/dev/null 2>&1; then
	echo "install-deps: the Go toolchain (1.26 or later) must be on PATH" >&2
	exit 1
fi
if ! docker info >/dev/null 2>&1; then
	echo "install-deps: the Docker engine is not reachable; the Docker adapter's tests will fail" >&2
fi
go mod download
