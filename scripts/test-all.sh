#!/usr/bin/env bash
# Every test suite, in order of cost. Installs the system packages the suites need when run as root.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-system-deps.sh
npm test
# Network namespaces and iptables: root only (skips with the reason otherwise). One file at a time: each builds
# its own namespaces and the machine has two cores.
TEST_CONCURRENCY=1 node_modules/.bin/node test/run.mjs netns
