#!/usr/bin/env bash
# What the benchmarks compare mailprobe with: the monitoring-plugins checks and nmap (Debian packages), and what
# builds the fleet benchmark's servers (test/bench/fleet-server.c: a C compiler and OpenSSL's headers). The
# integration suite's packages (Postfix, Dovecot, iproute2, iptables, openssl) come from .ci/run.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
need=()
[ -x /usr/lib/nagios/plugins/check_smtp ] || need+=(monitoring-plugins-basic)
command -v nmap >/dev/null || need+=(nmap)
command -v python3 >/dev/null || need+=(python3)
command -v cc >/dev/null || need+=(gcc libc6-dev)
[ -f /usr/include/openssl/ssl.h ] || need+=(libssl-dev)
# The HTML benchmark opens the demo's report in headless chromium (also installed by .ci/run for the tests).
command -v chromium >/dev/null || need+=(chromium)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
