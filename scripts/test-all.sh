#!/usr/bin/env bash
# Every test suite, in order of cost. Installs the system packages the suites need when run as root; the e2e suite
# builds the upstream Kubernetes binaries (test/cluster/build.sh) when they are not cached yet.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-system-deps.sh
npm test
# The Rust data plane: fmt, clippy -D warnings, cargo test (vectors included).
bash scripts/test-dataplane.sh
# Its libFuzzer targets, 20 s each from the checked-in corpora (a crash fails and prints the reproducer's path).
npm run test:fuzz
# Network namespaces and iptables: root only (skips with the reason otherwise).
npm run test:netns
npm run test:e2e
