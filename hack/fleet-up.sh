#!/usr/bin/env bash
# Starts a fleet of hosts on this one machine, each a network namespace with
# its own address on a private bridge, so that `durable agent` can run on
# each as it would on a real host (see examples/fleet/README.md).
#
#   hack/fleet-up.sh [HOST ...]          default: lb a1 a2 b1 b2 c1 c2
#
# Environment:
#   FLEET_PREFIX   names of what it makes start with this (default "dfl"); the
#                  tests give each run its own. Stale namespaces, links and
#                  rules with the prefix are removed first.
#   FLEET_NET      the /24's first three octets (default 10.77.0); the bridge
#                  is .1 (this machine's side, where the reconciler runs), the
#                  hosts .10, .11, ... in the order given.
#   FLEET_DIR      where it writes hosts.tsv (per line: name, namespace,
#                  address and the host's link on this machine's side, tab
#                  separated) and what fleet-down.sh needs (default
#                  /tmp/durable-fleet-$FLEET_PREFIX). `ip link set LINK down`
#                  cuts a host off the network; `up` brings it back.
#   FLEET_AGENT    when set, a command run in each namespace in the background
#                  (its output in FLEET_DIR/NAME.log, its pid in NAME.pid),
#                  with FLEET_HOST and FLEET_ADDRESS set: e.g.
#                  'durable agent --listen $FLEET_ADDRESS:7443 ...'.
#
# Facts of these machines it handles: Docker's FORWARD policy is DROP with
# bridge-nf-call-iptables=1, which silently drops traffic between namespaces
# on a plain bridge, so it inserts `-i BR -o BR -j ACCEPT` in DOCKER-USER
# (fleet-down.sh removes it); namespaces share PIDs, the filesystem and the
# one Docker engine, so a fleet runs the process runtime.
set -euo pipefail

prefix=${FLEET_PREFIX:-dfl}
net=${FLEET_NET:-10.77.0}
dir=${FLEET_DIR:-/tmp/durable-fleet-$prefix}
hosts=("$@")
[ ${#hosts[@]} -gt 0 ] || hosts=(lb a1 a2 b1 b2 c1 c2)

case $prefix in
*[!a-z0-9]* | "") echo "fleet-up: FLEET_PREFIX must be lowercase letters and digits" >&2; exit 2 ;;
esac
if [ ${#prefix} -gt 6 ]; then
	echo "fleet-up: FLEET_PREFIX must be at most 6 characters (interface names are at most 15)" >&2
	exit 2
fi
if [ ${#hosts[@]} -gt 200 ]; then
	echo "fleet-up: at most 200 hosts" >&2
	exit 2
fi
for h in "${hosts[@]}"; do
	case $h in
	*[!a-z0-9-]* | "" | -*) echo "fleet-up: host name $h: use lowercase letters, digits and '-'" >&2; exit 2 ;;
	esac
done

here=$(cd "$(dirname "$0")" && pwd)
FLEET_PREFIX=$prefix FLEET_DIR=$dir "$here/fleet-down.sh" >/dev/null 2>&1 || true
mkdir -p "$dir"
rm -f "$dir"/*.log

bridge="${prefix}br"
ip link add "$bridge" type bridge
ip addr add "$net.1/24" dev "$bridge"
ip link set "$bridge" up
if iptables -S DOCKER-USER >/dev/null 2>&1; then
	iptables -I DOCKER-USER -i "$bridge" -o "$bridge" -j ACCEPT
fi
# Traffic between this machine and the namespaces goes over the bridge too.
iptables -I FORWARD -i "$bridge" -o "$bridge" -j ACCEPT

: >"$dir/hosts.tsv"
i=0
for h in "${hosts[@]}"; do
	ns="$prefix-$h"
	addr="$net.$((10 + i))"
	outer="${prefix}v${i}"
	inner="${prefix}n${i}"
	ip netns add "$ns"
	ip link add "$outer" type veth peer name "$inner"
	ip link set "$outer" master "$bridge" up
	ip link set "$inner" netns "$ns"
	ip -n "$ns" link set "$inner" name eth0
	ip -n "$ns" addr add "$addr/24" dev eth0
	ip -n "$ns" link set eth0 up
	ip -n "$ns" link set lo up
	ip -n "$ns" route add default via "$net.1"
	printf '%s\t%s\t%s\t%s\n' "$h" "$ns" "$addr" "$outer" >>"$dir/hosts.tsv"
	if [ -n "${FLEET_AGENT:-}" ]; then
		FLEET_HOST=$h FLEET_ADDRESS=$addr setsid ip netns exec "$ns" bash -c "$FLEET_AGENT" \
			</dev/null >"$dir/$h.log" 2>&1 &
		echo $! >"$dir/$h.pid"
	fi
	i=$((i + 1))
done
echo "fleet-up: ${#hosts[@]} hosts on $bridge ($net.0/24); this machine is $net.1; hosts in $dir/hosts.tsv"
