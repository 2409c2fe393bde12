#!/usr/bin/env bash
# Debian packages the test suites and benchmarks use. Installs only what is missing, and only as root.
set -euo pipefail
needed=()
need() { command -v "$1" >/dev/null 2>&1 || needed+=("$2"); }
need curl curl
need openssl openssl
need ip iproute2
if [ ${#needed[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" != 0 ]; then
  echo "missing Debian packages: ${needed[*]} (run as root, or apt-get install them)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${needed[@]}" >/dev/null
