# etcd restore init container: before etcd starts, restore the newest snapshot on the share
# that `etcdutl snapshot restore` accepts (it checks the sha256 etcd appends; `snapshot status`
# does not), trying older ones past any that fails. POSIX sh (busybox ash in the group).
#
# Exits non-zero (the group shows the init container failing) when the share holds snapshots
# but none restores, when etcdutl is missing, or when the share is not mounted: never starts
# an empty cluster over data. Starting empty anyway is one explicit step: a file named
# START_EMPTY_MARKER on the share (the backup sidecar removes it after its first snapshot).
#
# Environment: SNAPSHOT_DIR (the share), DATA_DIR and WAL_DIR (etcd's, on the emptyDir),
# WORK_DIR (local scratch), MEMBER_NAME, PEER_URL, START_EMPTY_MARKER.
set -eu
: "${SNAPSHOT_DIR:?}" "${DATA_DIR:?}" "${WAL_DIR:?}" "${WORK_DIR:?}"
: "${MEMBER_NAME:=etcd0}" "${PEER_URL:=https://127.0.0.1:2380}"
: "${START_EMPTY_MARKER:=start-empty}"

fail() {
  echo "etcd-restore: $*" >&2
  exit 1
}

if [ -d "$DATA_DIR/member" ]; then
  echo "etcd-restore: $DATA_DIR already holds a member; nothing to restore"
  exit 0
fi
command -v etcdutl >/dev/null 2>&1 ||
  fail "etcdutl is not on PATH ($PATH): cannot restore, and will not start an empty cluster"
[ -d "$SNAPSHOT_DIR" ] ||
  fail "the share is not mounted at $SNAPSHOT_DIR: cannot tell whether it holds snapshots"
listing=$(ls "$SNAPSHOT_DIR") || fail "cannot list the share at $SNAPSHOT_DIR"
names=$(echo "$listing" | grep -E '^snapshot-[0-9]{8}T[0-9]{6}Z\.db$' | sort -r) || true

mkdir -p "$WORK_DIR"
candidate="$WORK_DIR/restore.db"
why="$WORK_DIR/restore.err"
restoring_data="$DATA_DIR.restoring"
restoring_wal="$WAL_DIR.restoring"
# Left by a restore cut short.
rm -rf "$candidate" "$why" "$restoring_data" "$restoring_wal"

# Past any revision a client has seen, and compacted there, so that watchers (controllers,
# the virtual kubelet) relist instead of silently missing what the snapshot lost. Older
# etcdutl releases lack the flags.
revision_flags=""
if etcdutl snapshot restore --help 2>&1 | grep -q -- '--mark-compacted'; then
  revision_flags="--bump-revision 1000000000 --mark-compacted"
fi

skipped=""
for name in $names; do
  # Restored from a local copy (bbolt wants a local filesystem) into fresh folders, renamed
  # into place only once complete.
  if ! cp "$SNAPSHOT_DIR/$name" "$candidate" 2>"$why"; then
    reason="cannot copy it: $(tail -n 1 "$why")"
  else
    # shellcheck disable=SC2086
    if etcdutl snapshot restore "$candidate" \
      --data-dir "$restoring_data" --wal-dir "$restoring_wal" \
      --name "$MEMBER_NAME" --initial-cluster "$MEMBER_NAME=$PEER_URL" \
      --initial-advertise-peer-urls "$PEER_URL" $revision_flags >/dev/null 2>"$why"; then
      rm -rf "$DATA_DIR" "$WAL_DIR"
      mv "$restoring_wal" "$WAL_DIR"
      mv "$restoring_data" "$DATA_DIR"
      rm -f "$candidate" "$why"
      echo "etcd-restore: restored $name"
      exit 0
    fi
    reason=$(grep -i 'error' "$why" | tail -n 1)
    [ -n "$reason" ] || reason=$(tail -n 1 "$why")
  fi
  echo "etcd-restore: skipped $name: $reason" >&2
  skipped="$skipped $name"
  rm -rf "$candidate" "$restoring_data" "$restoring_wal"
done
rm -f "$candidate" "$why"

if [ -z "$skipped" ]; then
  echo "etcd-restore: no snapshot on the share; etcd starts a new cluster"
  exit 0
fi
if [ -e "$SNAPSHOT_DIR/$START_EMPTY_MARKER" ]; then
  echo "etcd-restore: no snapshot restores (skipped:$skipped) and $START_EMPTY_MARKER is on" \
    "the share: etcd starts a NEW, EMPTY cluster" >&2
  exit 0
fi
fail "the share holds snapshots but none restores (skipped:$skipped); refusing to start an" \
  "empty cluster over them. To start empty anyway, put a file named $START_EMPTY_MARKER on" \
  "the share"
