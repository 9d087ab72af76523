#!/usr/bin/env bash
# Makes sure the two database servers the adapter tests read from answer on loopback:
# PostgreSQL on 127.0.0.1:5432 (user postgres, no password, database test) and MariaDB on
# 127.0.0.1:3306 (root, empty password, database test).
#
# A server that already answers is used as it is and never touched. One that is installed
# but stopped is started. One that is not installed is installed from Debian's packages,
# started, and given the passwordless loopback login and the `test` database the suite
# expects; that last step changes a server's authentication, so it is only ever done to a
# server this script has just installed.
set -euo pipefail

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi

as_postgres() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi
}

reachable() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for() {
  local port=$1 name=$2
  for _ in $(seq 1 120); do
    reachable "$port" && return 0
    sleep 0.5
  done
  echo "services.sh: $name did not come up on 127.0.0.1:$port" >&2
  exit 1
}

ensure_postgresql() {
  reachable 5432 && return 0
  local fresh=0
  if ! command -v pg_ctlcluster >/dev/null 2>&1 || [ -z "$(ls /etc/postgresql 2>/dev/null)" ]; then
    "$(dirname "$0")/apt-install.sh" postgresql
    fresh=1
  fi
  local version
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  if [ "$fresh" -eq 1 ]; then
    # The suite logs in as postgres over TCP without a password, as on the CI machines.
    $sudo sed -i '1i host all postgres 127.0.0.1/32 trust  # riskshare make test' \
      "/etc/postgresql/$version/main/pg_hba.conf"
  fi
  echo "starting PostgreSQL $version"
  $sudo pg_ctlcluster --skip-systemctl-redirect "$version" main start
  wait_for 5432 PostgreSQL
  if [ "$fresh" -eq 1 ]; then
    as_postgres createdb test
  fi
}

ensure_mariadb() {
  reachable 3306 && return 0
  local fresh=0
  if [ ! -x /usr/sbin/mariadbd ]; then
    "$(dirname "$0")/apt-install.sh" mariadb-server
    fresh=1
  fi
  echo "starting MariaDB"
  $sudo install -d -o mysql -g mysql /run/mysqld
  # As root, mariadbd refuses to run unless told which user to become.
  $sudo start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd -- --user=mysql
  wait_for 3306 MariaDB
  if [ "$fresh" -eq 1 ]; then
    # Debian's root logs in through the unix socket only; the suite logs in over TCP.
    $sudo mariadb -uroot -e "ALTER USER root@localhost IDENTIFIED VIA mysql_native_password \
      USING PASSWORD(''); CREATE DATABASE IF NOT EXISTS test"
  fi
}

ensure_postgresql
ensure_mariadb
