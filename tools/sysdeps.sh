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
if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "installing Debian packages: ${need[*]}"
# Packages must not start their own daemons here: the tests start etcd clusters themselves.
policy=/usr/sbin/policy-rc.d
made_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
  $sudo chmod +x "$policy"
  made_policy=1
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${need[@]}"
if [ "$made_policy" -eq 1 ]; then $sudo rm -f "$policy"; fi
