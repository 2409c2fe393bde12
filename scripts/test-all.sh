#!/usr/bin/env bash
# Every test suite, in order of cost. Installs the system packages the suites need when run as root, and builds
# the upstream Kubernetes binaries of the e2e suite when they are not cached yet.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-system-deps.sh
npm test
npm run test:e2e
