#!/usr/bin/env bash
# The Rust data plane's checks, as CI runs them: formatting, clippy with warnings as errors, and the tests (unit,
# integration on loopback, and test/vectors/*.json through the proxy's decision functions).
set -euo pipefail
cd "$(dirname "$0")/../dataplane"
cargo="$(bash ../scripts/find-cargo.sh)" || { echo "test-dataplane: cargo not found (install Rust: see README, Development)" >&2; exit 1; }
export PATH="$(dirname "$cargo"):$PATH"
cargo fmt --check
cargo clippy --locked --all-targets -- -D warnings
cargo test --locked
