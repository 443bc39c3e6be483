# etcd backup sidecar: a verified snapshot on the share every interval, one more whenever fk
# asks for it (a request file on the share, answered on the share: see `before_stop` in
# etcd.toml), and one more on SIGTERM. POSIX sh (busybox ash in the group).
#
# Environment: ETCDCTL_ENDPOINTS, ETCDCTL_CACERT, ETCDCTL_CERT, ETCDCTL_KEY (read by etcdctl
# itself); SNAPSHOT_DIR (the share), WORK_DIR (local scratch on the emptyDir),
# SNAPSHOT_INTERVAL (seconds, or with an s, m or h suffix: 300, 5m), SNAPSHOTS_KEPT (>= 1),
# STOP_MARKER (written once the last snapshot is taken on SIGTERM: etcd's container waits for
# it before stopping etcd), SNAPSHOT_TIMEOUT_SECONDS, REQUEST_FILE and ANSWER_FILE (names on
# the share), POLL_SECONDS (how often the request file is looked for), START_EMPTY_MARKER
# (see etcd-restore.sh; removed once a snapshot of the new cluster is on the share).
set -eu
: "${SNAPSHOT_DIR:?}" "${WORK_DIR:?}" "${SNAPSHOT_INTERVAL:=5m}" "${SNAPSHOTS_KEPT:=5}" "${STOP_MARKER:?}"
: "${SNAPSHOT_TIMEOUT_SECONDS:=120}" "${REQUEST_FILE:=snapshot-request}" "${ANSWER_FILE:=snapshot-answer}"
: "${POLL_SECONDS:=2}" "${START_EMPTY_MARKER:=start-empty}"

case "$SNAPSHOTS_KEPT" in
'' | *[!0-9]* | 0 | 0*)
  echo "etcd-backup: SNAPSHOTS_KEPT must be a whole number >= 1, not '$SNAPSHOTS_KEPT'" >&2
  exit 1
  ;;
esac
interval_unit=1
interval_count=$SNAPSHOT_INTERVAL
case "$SNAPSHOT_INTERVAL" in
*[0-9]h) interval_count=${SNAPSHOT_INTERVAL%h} interval_unit=3600 ;;
*[0-9]m) interval_count=${SNAPSHOT_INTERVAL%m} interval_unit=60 ;;
*[0-9]s) interval_count=${SNAPSHOT_INTERVAL%s} ;;
esac
case "$interval_count" in
'' | *[!0-9]* | 0 | 0*)
  echo "etcd-backup: SNAPSHOT_INTERVAL must be a positive duration (300, 300s, 5m, 1h), not '$SNAPSHOT_INTERVAL'" >&2
  exit 1
  ;;
esac
interval_seconds=$((interval_count * interval_unit))

is_snapshot_name() {
  grep -E '^snapshot-[0-9]{8}T[0-9]{6}Z\.db$'
}

# Copies to the share cut short (the group stopped mid-copy) never get a final name: remove
# them. Only this sidecar writes the share, so any left is stale.
remove_partial_copies() {
  for partial in "$SNAPSHOT_DIR"/.snapshot-*.db.tmp; do
    [ -e "$partial" ] || continue
    echo "etcd-backup: removing $partial, a copy cut short"
    rm -f "$partial"
  done
}

# Sets `shipped` (the name) or `failure` (why not).
take_snapshot() {
  shipped=""
  failure=""
  stamp=$(date -u +%Y%m%dT%H%M%SZ)
  local_copy="$WORK_DIR/snapshot.db.part"
  verify_dir="$WORK_DIR/verify"
  final="$SNAPSHOT_DIR/snapshot-$stamp.db"
  temporary="$SNAPSHOT_DIR/.snapshot-$stamp.db.tmp"
  rm -rf "$local_copy" "$verify_dir"
  remove_partial_copies
  # Saved locally first: etcdctl writes through a temporary file of its own and bbolt needs
  # a real local filesystem to check the result.
  # Bounded: etcdctl waits for ever for an etcd that has gone.
  if ! timeout "$SNAPSHOT_TIMEOUT_SECONDS" etcdctl snapshot save "$local_copy" >/dev/null 2>&1; then
    failure="snapshot save failed (or took over ${SNAPSHOT_TIMEOUT_SECONDS}s)"
  # Verified the way the restore will use it: `snapshot restore` checks the sha256 etcd
  # appends (`snapshot status` does not).
  elif ! etcdutl snapshot restore "$local_copy" --data-dir "$verify_dir" >/dev/null 2>&1; then
    failure="the new snapshot does not restore"
  fi
  rm -rf "$verify_dir"
  if [ -n "$failure" ]; then
    rm -f "$local_copy"
    echo "etcd-backup: $failure; not shipped, the previous snapshots stay" >&2
    return 1
  fi
  # The share gets a temporary name, is checked byte for byte, then renamed: a reader never
  # sees a half-written snapshot under a final name.
  if ! cp "$local_copy" "$temporary" ||
    [ "$(sha256sum <"$local_copy" | cut -d' ' -f1)" != "$(sha256sum <"$temporary" | cut -d' ' -f1)" ]; then
    failure="the copy on the share differs from the snapshot"
    echo "etcd-backup: $failure; removed" >&2
    rm -f "$temporary" "$local_copy"
    return 1
  fi
  # Checked by hand: under `take_snapshot || ...` set -e does not apply.
  if ! mv -f "$temporary" "$final"; then
    failure="cannot rename the copy on the share"
    echo "etcd-backup: $failure" >&2
    rm -f "$temporary" "$local_copy"
    return 1
  fi
  rm -f "$local_copy" "$SNAPSHOT_DIR/$START_EMPTY_MARKER"
  shipped="snapshot-$stamp.db"
  echo "etcd-backup: saved $final"
  # Keep the newest SNAPSHOTS_KEPT (names sort by time).
  ls "$SNAPSHOT_DIR" | is_snapshot_name | sort -r |
    tail -n "+$((SNAPSHOTS_KEPT + 1))" | while read -r old; do
      rm -f "$SNAPSHOT_DIR/$old"
    done
}

# fk's request: one line, an id of letters, digits and hyphens (anything else is a request
# still being written). Answered once per id, on the share: the id, then `ok <snapshot>` or
# `failed <why>`, written under a temporary name and renamed.
answer_request() {
  request_id=$(cat "$SNAPSHOT_DIR/$REQUEST_FILE" 2>/dev/null) || return 0
  case "$request_id" in '' | *[!A-Za-z0-9-]*) return 0 ;; esac
  answered_id=""
  if [ -f "$SNAPSHOT_DIR/$ANSWER_FILE" ]; then
    read -r answered_id <"$SNAPSHOT_DIR/$ANSWER_FILE" || true
  fi
  [ "$request_id" != "$answered_id" ] || return 0
  echo "etcd-backup: snapshot requested ($request_id)"
  if take_snapshot; then
    result="ok $shipped"
  else
    result="failed $failure"
  fi
  {
    echo "$request_id"
    echo "$result"
  } >"$SNAPSHOT_DIR/.$ANSWER_FILE.tmp"
  mv -f "$SNAPSHOT_DIR/.$ANSWER_FILE.tmp" "$SNAPSHOT_DIR/$ANSWER_FILE"
  echo "etcd-backup: answered $request_id: $result"
}

sleeper=""
on_stop() {
  trap '' TERM INT
  # The sleeper may have ended already: a failed kill must not end the script (set -e)
  # before the last snapshot.
  if [ -n "$sleeper" ]; then kill "$sleeper" 2>/dev/null || true; fi
  echo "etcd-backup: stopping; taking a last snapshot"
  status=0
  take_snapshot || status=1
  # etcd may stop now, whether or not the snapshot succeeded.
  : >"$STOP_MARKER"
  exit "$status"
}
trap on_stop TERM INT

mkdir -p "$SNAPSHOT_DIR" "$WORK_DIR"
rm -f "$SNAPSHOT_DIR/.$ANSWER_FILE.tmp"
remove_partial_copies
echo "etcd-backup: a snapshot every $SNAPSHOT_INTERVAL, the newest $SNAPSHOTS_KEPT kept"
next=$(($(date +%s) + interval_seconds))
while true; do
  # sleep in the background so that SIGTERM is handled at once, not after the poll.
  sleep "$POLL_SECONDS" &
  sleeper=$!
  wait "$sleeper" || true
  sleeper=""
  answer_request || true
  now=$(date +%s)
  if [ "$now" -ge "$next" ]; then
    take_snapshot || true
    next=$((now + interval_seconds))
  fi
done
