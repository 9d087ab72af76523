#!/usr/bin/env bash
# Installs the Debian packages the suite and the demo need, only when they are missing.
# etcd-server: the real etcd v3.4 cluster the ledger's etcd ordering is tested against.
# chromium: the headless browser the dashboard tests drive through Playwright.
# libsodium23: the libsodium that pysodium loads (ristretto255 for the OPRF).
# faketime: libfaketime, one shared wall clock the scenario end-to-end tests move forward.
set -euo pipefail
need=()
command -v etcd >/dev/null 2>&1 || need+=(etcd-server)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
ldconfig -p 2>/dev/null | grep -q 'libsodium\.so\.23' || need+=(libsodium23)
ls /usr/lib/*/faketime/libfaketime.so.1 >/dev/null 2>&1 || need+=(faketime)
exec "$(dirname "$0")/apt-install.sh" "${need[@]}"
