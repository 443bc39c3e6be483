# etcd's container: runs etcd (the arguments: `sh -c <this> etcd <flags>`) and, when the group
# is stopped, keeps it serving until the backup sidecar has taken its last snapshot (it
# writes STOP_MARKER), at most STOP_WAIT_SECONDS; then stops etcd. POSIX sh (busybox ash).
set -u
: "${STOP_MARKER:?}" "${STOP_WAIT_SECONDS:=60}"

stop() {
  waited=0
  while [ ! -e "$STOP_MARKER" ] && [ "$waited" -lt "$STOP_WAIT_SECONDS" ]; do
    sleep 1
    waited=$((waited + 1))
  done
  kill -TERM "$etcd_pid" 2>/dev/null
  wait "$etcd_pid"
  exit
}
trap stop TERM INT

rm -f "$STOP_MARKER"
"$0" "$@" &
etcd_pid=$!
wait "$etcd_pid"
