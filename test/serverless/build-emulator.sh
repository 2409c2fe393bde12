#!/usr/bin/env bash
# Builds the AWS Lambda Runtime Interface Emulator (aws-lambda-rie) from the Go module pinned in go.mod here, into
# ${MESHGATE_BIN_CACHE:-$HOME/.cache/meshgate-bin}/lambda-rie-<stamp>/aws-lambda-rie, and prints that path as the
# only line on stdout (progress on stderr). Cached by the inputs: a second run returns at once.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$HERE"
GO="${GO:-$(command -v go || echo /usr/local/go/bin/go)}"
[[ -x "$GO" ]] || { echo "[build-emulator] no Go toolchain (need go >= 1.26)" >&2; exit 1; }
STAMP="$( { cat go.mod go.sum tools.go; "$GO" env GOOS GOARCH; } | sha256sum | cut -c1-16)"
CACHE_ROOT="${MESHGATE_BIN_CACHE:-$HOME/.cache/meshgate-bin}"
OUT="$CACHE_ROOT/lambda-rie-$STAMP"
BIN="$OUT/aws-lambda-rie"
if [[ -x "$BIN" ]]; then echo "$BIN"; exit 0; fi
mkdir -p "$CACHE_ROOT"
exec 9>"$CACHE_ROOT/.build-lambda-rie.lock"
flock -w 900 9 || { echo "[build-emulator] timed out waiting for another build" >&2; exit 1; }
if [[ -x "$BIN" ]]; then echo "$BIN"; exit 0; fi
TMP="$(mktemp -d "$CACHE_ROOT/.tmp-lambda-rie.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT
echo "[build-emulator] building aws-lambda-rie into $OUT" >&2
CGO_ENABLED=0 GOFLAGS="-mod=readonly -buildvcs=false" GOTOOLCHAIN="${GOTOOLCHAIN:-local}" \
  nice -n "${MESHGATE_BUILD_NICE:-10}" "$GO" build -trimpath -ldflags="-s -w" -o "$TMP/aws-lambda-rie" \
  github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie >&2
rm -rf "$OUT"
mv "$TMP" "$OUT"
trap - EXIT
echo "$BIN"
