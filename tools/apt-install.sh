#!/usr/bin/env bash
# Installs the Debian packages named as arguments, without letting them start daemons
# through the init system (there may be none; the tests and tools/services.sh start what
# they need themselves). Used by tools/sysdeps.sh and tools/services.sh.
set -euo pipefail
[ "$#" -gt 0 ] || exit 0
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "installing Debian packages: $*"
policy=/usr/sbin/policy-rc.d
made_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
  $sudo chmod +x "$policy"
  made_policy=1
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "$@"
if [ "$made_policy" -eq 1 ]; then $sudo rm -f "$policy"; fi
