#!/usr/bin/env bash
# Installs AWS Lambda's Node runtime client (aws-lambda-ric, pinned in lambda-client/package-lock.json) into
# lambda-client/node_modules and prints the path of its entry as the only line on stdout (progress on stderr).
# Apart from the project's own dependencies because its install compiles curl and aws-lambda-cpp (cmake and the
# autotools: scripts/install-system-deps.sh installs them), and under the project's Node 24, which its engines need.
# A second run with the same lock returns at once.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
DIR="$HERE/lambda-client"
ENTRY="$DIR/node_modules/aws-lambda-ric/index.mjs"
STAMP_FILE="$DIR/node_modules/.meshgate-stamp"
STAMP="$(sha256sum "$DIR/package-lock.json" | cut -c1-16)"
if [[ -f "$ENTRY" && "$(cat "$STAMP_FILE" 2>/dev/null)" == "$STAMP" ]]; then echo "$ENTRY"; exit 0; fi
for tool in cmake autoreconf automake libtoolize make g++; do
  command -v "$tool" >/dev/null 2>&1 || { echo "[lambda-client] $tool is missing: aws-lambda-ric compiles curl and aws-lambda-cpp (run scripts/install-system-deps.sh as root)" >&2; exit 1; }
done
NODE_BIN="$(cd "$HERE/../.." && pwd)/node_modules/.bin"
[[ -x "$NODE_BIN/node" ]] || { echo "[lambda-client] run npm ci in the project first (Node 24 comes from its node devDependency)" >&2; exit 1; }
echo "[lambda-client] installing aws-lambda-ric (builds native code, about 2 minutes)" >&2
(cd "$DIR" && PATH="$NODE_BIN:$PATH" npm ci --no-audit --no-fund >&2)
[[ -f "$ENTRY" ]] || { echo "[lambda-client] npm ci finished but $ENTRY is missing" >&2; exit 1; }
echo "$STAMP" > "$STAMP_FILE"
echo "$ENTRY"
