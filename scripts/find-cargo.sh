#!/usr/bin/env bash
# Prints the path of cargo: the PATH's, else rustup's default place ($CARGO_HOME, ~/.cargo, /root/.cargo: CI machines
# have it preinstalled at /root/.cargo/bin without it on the PATH). Exits 1 when there is none.
set -euo pipefail
for candidate in "$(command -v cargo || true)" "${CARGO_HOME:-}/bin/cargo" "$HOME/.cargo/bin/cargo" /root/.cargo/bin/cargo; do
  if [ -n "$candidate" ] && [ -x "$candidate" ]; then
    echo "$candidate"
    exit 0
  fi
done
exit 1
