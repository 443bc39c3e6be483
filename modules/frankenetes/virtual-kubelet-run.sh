# The virtual kubelet's container: runs it (`sh -c <this> <binary> <flags>`) with the address
# the apiserver dials for `kubectl logs`, `exec` and `attach`, and keeps that address true.
# POSIX sh (busybox ash).
#
# azure-aci v1.6.4 gives its Node one address, InternalIP = $VKUBELET_POD_IP, read once at
# start (cmd/virtual-kubelet/main.go; pkg/provider/vk_node.go), and reports the same value as
# every pod's status.hostIP (pkg/provider/containergroup_to_pod.go), which the apiserver only
# accepts as an IP. ACI assigns this group its public IP when it deploys it, and may assign
# another at a restart or a stop and start (Microsoft Learn, container-instances-stop-start,
# "restart IP"), so no setting written before can hold it; the group's DNS name ($NODE_FQDN)
# is fixed and follows the IP. So: ask DNS for the name, start the virtual kubelet with that
# IP, and ask again every $RECHECK_SECONDS. If the name moves to another IP (an old answer at
# start, or a group Azure moved), stop the virtual kubelet and exit 75: ACI (restart policy
# Always) starts the container again, and it asks again.
#
# Environment: NODE_FQDN (required); RESOLVER, the DNS server to ask (empty: the
# container's own, which is Azure's); RESOLVE_TIMEOUT_SECONDS (300), how long to wait for a
# first answer before exiting non-zero; RETRY_SECONDS (5); RECHECK_SECONDS (60).
set -eu

: "${NODE_FQDN:?NODE_FQDN must be the DNS name of this group}"
RESOLVER="${RESOLVER:-}"
RESOLVE_TIMEOUT_SECONDS="${RESOLVE_TIMEOUT_SECONDS:-300}"
RETRY_SECONDS="${RETRY_SECONDS:-5}"
RECHECK_SECONDS="${RECHECK_SECONDS:-60}"

log() {
  echo "virtual-kubelet-run: $*" >&2
}

# The IPv4 address NODE_FQDN has now, or nothing. busybox nslookup names the server first,
# then, from a "Name:" line on, one address per line: "Address: <ip>" with its own resolver
# (FEATURE_NSLOOKUP_BIG, the default), "Address 1: <ip> [<name>]" with libc's; IPv6
# addresses do not match.
resolve() {
  nslookup "$NODE_FQDN" $RESOLVER 2>/dev/null \
    | sed -n '/^Name:/,$ s/^Address[ 0-9]*:[[:space:]]*\([0-9][0-9]*\.[0-9][0-9]*\.[0-9][0-9]*\.[0-9][0-9]*\)\([[:space:]].*\)*$/\1/p' \
    | head -n 1
}

waited=0
address=$(resolve || true)
while [ -z "$address" ]; do
  if [ "$waited" -ge "$RESOLVE_TIMEOUT_SECONDS" ]; then
    log "$NODE_FQDN has no IPv4 address after ${waited}s: not starting the virtual kubelet without the address the apiserver must reach it at"
    exit 1
  fi
  sleep "$RETRY_SECONDS"
  waited=$((waited + RETRY_SECONDS))
  address=$(resolve || true)
done

export VKUBELET_POD_IP="$address"
log "node address $address ($NODE_FQDN)"

moved=
trap 'moved=1' USR1
"$0" "$@" &
kubelet=$!
trap 'kill -TERM "$kubelet" 2>/dev/null || true' TERM INT

# The watcher, a background shell: when the name moves, it tells this shell (USR1; `$$` is
# this shell's PID in a subshell too) and stops the virtual kubelet.
(
  sleeper=
  trap 'kill "$sleeper" 2>/dev/null || true; exit 0' TERM
  trap - INT USR1
  while :; do
    sleep "$RECHECK_SECONDS" &
    sleeper=$!
    wait "$sleeper" || true
    now=$(resolve || true)
    if [ -n "$now" ] && [ "$now" != "$address" ]; then
      log "$NODE_FQDN now has $now, not $address: stopping the virtual kubelet to start again with it"
      kill -USR1 "$$" 2>/dev/null || true
      kill -TERM "$kubelet" 2>/dev/null || true
      exit 0
    fi
  done
) &
watcher=$!

# `wait` returns early when a trapped signal arrives; wait again until the kubelet is gone.
status=0
while :; do
  status=0
  wait "$kubelet" || status=$?
  if ! kill -0 "$kubelet" 2>/dev/null; then
    break
  fi
done
kill -TERM "$watcher" 2>/dev/null || true

if [ -n "$moved" ]; then
  exit 75
fi
exit "$status"
