#!/bin/sh
# Makes sure the external tools the tests drive are installed: SIPp (Debian package sip-tester),
# nats-server, and the independent SIP stacks test/peers runs against the pivot: baresip (baresip-core),
# Linphone's console phone linphonec (linphone-cli) and Kamailio (kamailio), the chromium browser the console tests (test/console) drive, dnsmasq, the DNS
# server the RFC 3263 tests (test/dns, test/interop/dns-peers) query, and openssl, which makes the TLS
# tests' certificates. Installs them when running as root on Debian; otherwise says exactly what to run.
set -eu

missing_pkgs=""
hints=""
check() { # check <command> <debian package>
  if command -v "$1" >/dev/null 2>&1; then return 0; fi
  for dir in /usr/sbin /sbin /usr/local/sbin /usr/bin /usr/local/bin; do
    if [ -x "$dir/$1" ]; then
      # Installed but not on PATH (nats-server and kamailio land in /usr/sbin, often not on a user's PATH).
      hints="$hints
  $1 is installed at $dir/$1 but not on PATH: export PATH=\"\$PATH:$dir\""
      return 0
    fi
  done
  missing_pkgs="$missing_pkgs $2"
}

check sipp sip-tester
check nats-server nats-server
check baresip baresip-core
check linphonec linphone-cli
check kamailio kamailio
check chromium chromium
check dnsmasq dnsmasq
check openssl openssl

if [ -n "$hints" ]; then
  echo "ensure-tools:$hints" >&2
fi
if [ -z "$missing_pkgs" ]; then
  [ -z "$hints" ] && exit 0
  exit 1
fi

if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "ensure-tools: installing$missing_pkgs" >&2
  apt-get update
  # shellcheck disable=SC2086 # the package list is meant to split
  DEBIAN_FRONTEND=noninteractive apt-get install -y $missing_pkgs
  exit 0
fi

echo "ensure-tools: missing$missing_pkgs. Install with:" >&2
echo "  sudo apt-get update && sudo apt-get install -y$missing_pkgs" >&2
exit 1
