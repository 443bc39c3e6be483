# etcd restore init container: before etcd starts, restore the newest snapshot on the share
# that verifies; start fresh when there is none. POSIX sh (busybox ash in the group).
#
# Environment: SNAPSHOT_DIR (the share), DATA_DIR and WAL_DIR (etcd's, on the emptyDir),
# WORK_DIR (local scratch), MEMBER_NAME, PEER_URL.
set -eu
: "${SNAPSHOT_DIR:?}" "${DATA_DIR:?}" "${WAL_DIR:?}" "${WORK_DIR:?}"
: "${MEMBER_NAME:=etcd0}" "${PEER_URL:=https://127.0.0.1:2380}"

if [ -d "$DATA_DIR/member" ]; then
  echo "etcd-restore: $DATA_DIR already holds a member; nothing to restore"
  exit 0
fi
mkdir -p "$WORK_DIR"
candidate="$WORK_DIR/restore.db"

# Past any revision a client has seen, and compacted there, so that watchers (controllers,
# the virtual kubelet) relist instead of silently missing what the snapshot lost. Older
# etcdutl releases lack the flags.
revision_flags=""
if etcdutl snapshot restore --help 2>&1 | grep -q -- '--mark-compacted'; then
  revision_flags="--bump-revision 1000000000 --mark-compacted"
fi

for name in $(ls "$SNAPSHOT_DIR" 2>/dev/null | grep -E '^snapshot-[0-9]{8}T[0-9]{6}Z\.db$' | sort -r); do
  # Checked and restored from a local copy: bbolt wants a local filesystem.
  if ! cp "$SNAPSHOT_DIR/$name" "$candidate" ||
    ! etcdutl snapshot status "$candidate" >/dev/null 2>&1; then
    echo "etcd-restore: $name does not verify; trying an older one" >&2
    continue
  fi
  rm -rf "$DATA_DIR.restoring" "$WAL_DIR.restoring"
  # shellcheck disable=SC2086
  etcdutl snapshot restore "$candidate" \
    --data-dir "$DATA_DIR.restoring" --wal-dir "$WAL_DIR.restoring" \
    --name "$MEMBER_NAME" --initial-cluster "$MEMBER_NAME=$PEER_URL" \
    --initial-advertise-peer-urls "$PEER_URL" $revision_flags >/dev/null
  # Renamed only once complete: a restore cut short leaves no half data dir for etcd.
  rm -rf "$DATA_DIR" "$WAL_DIR"
  mv "$WAL_DIR.restoring" "$WAL_DIR"
  mv "$DATA_DIR.restoring" "$DATA_DIR"
  rm -f "$candidate"
  echo "etcd-restore: restored $name"
  exit 0
done
rm -f "$candidate"
echo "etcd-restore: no snapshot on the share; etcd starts a new cluster"
