#!/usr/bin/env bash
# `make demo`: the Frankenetes control plane planned, applied and re-planned against the
# built-in Azure emulator, with no Azure account. Uses its own state and world files, so it
# never touches a real cluster's state.
set -euo pipefail
cd "$(dirname "$0")/.."
FK=${FK:-target/debug/fk}
state=state/demo-frankenetes.json
world=state/demo-emulator-world.json
rm -f "$state" "$state".* "$world"
mkdir -p state

log=$(mktemp)
"$FK" emulator --listen 127.0.0.1:0 --world "$world" --delay-ms "${FK_DEMO_DELAY_MS:-1500}" >"$log" 2>&1 &
emulator=$!
trap 'kill $emulator 2>/dev/null || true; wait $emulator 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 100); do
  url=$(sed -n 's/^listening on //p' "$log")
  [ -n "$url" ] && break
  kill -0 $emulator 2>/dev/null || { cat "$log" >&2; exit 1; }
  sleep 0.1
done
[ -n "${url:-}" ] || { echo "the emulator did not start" >&2; cat "$log" >&2; exit 1; }

export FK_ARM_ENDPOINT="$url"
export AZURE_SUBSCRIPTION_ID=00000000-0000-0000-0000-000000000000
step() { printf '\n\033[1m==> %s\033[0m\n\n' "$*"; }

step "The Azure emulator listens on $url"
step "fk plan modules/frankenetes"
"$FK" plan modules/frankenetes --state "$state"
step "fk apply modules/frankenetes --auto-approve"
"$FK" apply modules/frankenetes --state "$state" --auto-approve
step "fk output modules/frankenetes"
"$FK" output modules/frankenetes --state "$state"
step "fk plan modules/frankenetes (again: nothing to do)"
"$FK" plan modules/frankenetes --state "$state" --detailed-exitcode
step "fk stop modules/frankenetes (billing stops; DNS names and data stay)"
"$FK" stop modules/frankenetes --state "$state"
step "fk status modules/frankenetes (every group stopped; etcd's last snapshot on its share)"
"$FK" status modules/frankenetes --state "$state"
step "fk plan modules/frankenetes (a stopped cluster: nothing to do, costs nothing)"
"$FK" plan modules/frankenetes --state "$state" --detailed-exitcode
step "fk start modules/frankenetes (each group ready before its dependents)"
"$FK" start modules/frankenetes --state "$state"
