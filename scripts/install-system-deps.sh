#!/usr/bin/env bash
# Debian packages the test suites and benchmarks use. Installs only what is missing, and only as root.
set -euo pipefail
needed=()
need() { command -v "$1" >/dev/null 2>&1 || needed+=("$2"); }
need curl curl
need openssl openssl
need ip iproute2
# The netns suite (iptables, setpriv); a C toolchain for cargo's linker and for aws-lambda-ric's node-gyp build
# (test/serverless/lambda-client: g++, make, python3).
need iptables iptables
need setpriv util-linux
need g++ g++
need make make
need python3 python3
# bench:proxy: wrk as the load generator, nginx and haproxy as the reference proxies.
need wrk wrk
need nginx nginx-light
need haproxy haproxy
# bench:proxy:h2c: h2load as the HTTP/2 (h2c prior knowledge) load generator.
need h2load nghttp2-client
# A real node in the e2e suite (test/cluster/node-up.sh): containerd + runc, the CNI bridge plugin, the kubelet's
# host tools, a static C compiler for the pause image and busybox-static for the sleep image (test/images/).
need containerd containerd
need runc runc
[ -x /usr/lib/cni/bridge ] || needed+=(containernetworking-plugins)
need conntrack conntrack
need socat socat
need ebtables ebtables
[ -x /bin/busybox ] && file -L /bin/busybox 2>/dev/null | grep -q 'statically linked' || needed+=(busybox-static)
need gcc gcc
[ -f /usr/lib/x86_64-linux-gnu/libc.a ] || [ -f /usr/lib/aarch64-linux-gnu/libc.a ] || needed+=(libc6-dev)
need file file
# aws-lambda-ric (test/serverless/lambda-client, for the serverless e2e suite and bench) builds curl and aws-lambda-cpp from source in
# its npm preinstall: cmake and the autotools.
need cmake cmake
need autoreconf autoconf
# jemalloc: the webhook's allocator in the image (charts: webhook.ldPreload); the memory bench and test use it too
[ -f /usr/lib/x86_64-linux-gnu/libjemalloc.so.2 ] || [ -f /usr/lib/aarch64-linux-gnu/libjemalloc.so.2 ] || needed+=(libjemalloc2)
need automake automake
need libtoolize libtool
if [ ${#needed[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" != 0 ]; then
  echo "missing Debian packages: ${needed[*]} (run as root, or apt-get install them)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${needed[@]}" >/dev/null
