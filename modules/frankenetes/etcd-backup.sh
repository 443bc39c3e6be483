# etcd backup sidecar: a verified snapshot on the share every interval, and one more on
# SIGTERM (a planned stop loses nothing). POSIX sh (busybox ash in the group).
#
# Environment: ETCDCTL_ENDPOINTS, ETCDCTL_CACERT, ETCDCTL_CERT, ETCDCTL_KEY (read by etcdctl
# itself); SNAPSHOT_DIR (the share), WORK_DIR (local scratch on the emptyDir),
# SNAPSHOT_INTERVAL (a sleep duration: 300, 5m), SNAPSHOTS_KEPT, STOP_MARKER (written once
# the last snapshot is taken on SIGTERM: etcd's container waits for it before stopping etcd),
# SNAPSHOT_TIMEOUT_SECONDS.
set -eu
: "${SNAPSHOT_DIR:?}" "${WORK_DIR:?}" "${SNAPSHOT_INTERVAL:=5m}" "${SNAPSHOTS_KEPT:=5}" "${STOP_MARKER:?}"
: "${SNAPSHOT_TIMEOUT_SECONDS:=120}"

take_snapshot() {
  stamp=$(date -u +%Y%m%dT%H%M%SZ)
  local_copy="$WORK_DIR/snapshot.db.part"
  final="$SNAPSHOT_DIR/snapshot-$stamp.db"
  temporary="$SNAPSHOT_DIR/.snapshot-$stamp.db.tmp"
  rm -f "$local_copy"
  # Saved locally first: etcdctl writes through a temporary file of its own and bbolt needs
  # a real local filesystem to check the result.
  # Bounded: etcdctl waits for ever for an etcd that has gone.
  if ! timeout "$SNAPSHOT_TIMEOUT_SECONDS" etcdctl snapshot save "$local_copy" >/dev/null; then
    echo "etcd-backup: snapshot save failed; the previous snapshots stay" >&2
    return 1
  fi
  if ! etcdutl snapshot status "$local_copy" >/dev/null; then
    echo "etcd-backup: the new snapshot does not verify; not shipped" >&2
    rm -f "$local_copy"
    return 1
  fi
  # The share gets a temporary name, is checked byte for byte, then renamed: a reader never
  # sees a half-written snapshot under a final name.
  cp "$local_copy" "$temporary"
  if [ "$(sha256sum <"$local_copy" | cut -d' ' -f1)" != "$(sha256sum <"$temporary" | cut -d' ' -f1)" ]; then
    echo "etcd-backup: the copy on the share differs from the snapshot; removed" >&2
    rm -f "$temporary" "$local_copy"
    return 1
  fi
  mv -f "$temporary" "$final"
  rm -f "$local_copy"
  echo "etcd-backup: saved $final"
  # Keep the newest SNAPSHOTS_KEPT (names sort by time).
  ls "$SNAPSHOT_DIR" | grep -E '^snapshot-[0-9]{8}T[0-9]{6}Z\.db$' | sort -r |
    tail -n "+$((SNAPSHOTS_KEPT + 1))" | while read -r old; do
      rm -f "$SNAPSHOT_DIR/$old"
    done
}

sleeper=""
on_stop() {
  [ -n "$sleeper" ] && kill "$sleeper" 2>/dev/null
  echo "etcd-backup: stopping; taking a last snapshot"
  status=0
  take_snapshot || status=1
  # etcd may stop now, whether or not the snapshot succeeded.
  : >"$STOP_MARKER"
  exit "$status"
}
trap on_stop TERM INT

mkdir -p "$SNAPSHOT_DIR" "$WORK_DIR"
echo "etcd-backup: a snapshot every $SNAPSHOT_INTERVAL, the newest $SNAPSHOTS_KEPT kept"
while true; do
  # sleep in the background so that SIGTERM is handled at once, not after the interval.
  sleep "$SNAPSHOT_INTERVAL" &
  sleeper=$!
  wait "$sleeper" || true
  sleeper=""
  take_snapshot || true
done
