#!/usr/bin/env bash
# Every test suite, in order of cost. Installs the system packages the suites need when run as root.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-system-deps.sh
npm test
