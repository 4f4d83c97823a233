#!/usr/bin/env bash
# Removes everything hack/fleet-up.sh made with FLEET_PREFIX (default
# "dfl"): the agents it started, the namespaces, links, the bridge and the
# iptables rules. Safe to run twice, or when fleet-up.sh stopped half-way.
set -uo pipefail

prefix=${FLEET_PREFIX:-dfl}
dir=${FLEET_DIR:-/tmp/durable-fleet-$prefix}
case $prefix in
*[!a-z0-9]* | "") echo "fleet-down: FLEET_PREFIX must be lowercase letters and digits" >&2; exit 2 ;;
esac
bridge="${prefix}br"

for pidfile in "$dir"/*.pid; do
	[ -e "$pidfile" ] || continue
	pid=$(cat "$pidfile")
	kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null
	rm -f "$pidfile"
done
for ns in $(ip netns list | awk '{print $1}' | grep "^$prefix-"); do
	# Whatever still runs in the namespace goes with it.
	for pid in $(ip netns pids "$ns" 2>/dev/null); do
		kill -KILL "$pid" 2>/dev/null
	done
	ip netns del "$ns"
done
for link in $(ip -o link show | awk -F': ' '{print $2}' | cut -d@ -f1 | grep -E "^${prefix}v[0-9]+$"); do
	ip link del "$link" 2>/dev/null
done
while iptables -D DOCKER-USER -i "$bridge" -o "$bridge" -j ACCEPT 2>/dev/null; do :; done
while iptables -D FORWARD -i "$bridge" -o "$bridge" -j ACCEPT 2>/dev/null; do :; done
ip link del "$bridge" 2>/dev/null
rm -f "$dir/hosts.tsv"
echo "fleet-down: removed the fleet $prefix"
