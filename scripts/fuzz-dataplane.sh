#!/usr/bin/env bash
# npm run test:fuzz: the data plane's libFuzzer targets (dataplane/fuzz/), each run for a bounded time from its
# checked-in seed corpus (scripts/fuzz-corpus.sh makes it). A crash, a panic, an input slower than 10 s or one using
# more than 2 GB fails the run and leaves the reproducer under dataplane/fuzz/artifacts/TARGET/ (its path printed).
#   FUZZ_SECONDS   time per target (default 20; 3 targets)      FUZZ_TARGETS  which ones (default: all)
# New inputs found go to a temporary directory, never into the checked-in corpus.
# cargo-fuzz is installed from crates.io when missing (kept in ~/.cargo/bin). The nightly toolchain is used when
# rustup has it; otherwise stable with RUSTC_BOOTSTRAP=1 (cargo-fuzz's instrumentation flags need a nightly rustc).
# The build goes to ~/.cache/meshgate/fuzz-target so later runs on the same machine rebuild only what changed.
# No sanitizer (-s none): the code is safe Rust, and the run looks for panics, overflows (debug assertions on, -a),
# stalls and memory blow-ups; ASan would triple the build time for unsafe code we do not have.
set -euo pipefail
cd "$(dirname "$0")/../dataplane/fuzz"
CARGO_FUZZ_VERSION=0.13.2
seconds="${FUZZ_SECONDS:-20}"
targets="${FUZZ_TARGETS:-sniff snapshot http}"
cargo="$(bash ../../scripts/find-cargo.sh)" || { echo "test:fuzz: cargo not found (install Rust: see README, Development)" >&2; exit 1; }
export PATH="$(dirname "$cargo"):$PATH"
if ! cargo fuzz --version 2>/dev/null | grep -q " $CARGO_FUZZ_VERSION\$"; then
  echo "test:fuzz: installing cargo-fuzz $CARGO_FUZZ_VERSION from crates.io"
  cargo install cargo-fuzz --locked --version "$CARGO_FUZZ_VERSION" --quiet
fi
toolchain=()
if command -v rustup >/dev/null && rustup toolchain list | grep -q '^nightly'; then
  toolchain=(+nightly)
else
  export RUSTC_BOOTSTRAP=1
fi
target_dir="${MESHGATE_FUZZ_TARGET_DIR:-$HOME/.cache/meshgate/fuzz-target}"
flags=(-s none -a --target-dir "$target_dir")
cargo fmt --check
started=$SECONDS
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
if ! cargo "${toolchain[@]}" fuzz build "${flags[@]}" >"$work/build.log" 2>&1; then
  tail -60 "$work/build.log" >&2
  echo "test:fuzz: build failed" >&2
  exit 1
fi
echo "test:fuzz: built in $((SECONDS - started)) s"
failed=0
for t in $targets; do
  extra=()
  case "$t" in
    snapshot) extra=(-max_len=65536 -dict=dict/snapshot.dict) ;;
    http) extra=(-max_len=8192) ;;
  esac
  mkdir -p "$work/$t"
  log="$work/$t.log"
  if cargo "${toolchain[@]}" fuzz run "${flags[@]}" "$t" "$work/$t" "corpus/$t" -- \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 "${extra[@]}" >"$log" 2>&1; then
    echo "test:fuzz: $t: $(grep -oE 'Done [0-9]+ runs in [0-9]+ second' "$log" | tail -1)s, no crash"
  else
    failed=1
    echo "test:fuzz: $t FAILED:" >&2
    grep -vE '^#[0-9]+' "$log" | tail -40 >&2
    artifact="$(grep -oE "Test unit written to \S+" "$log" | tail -1 | cut -d' ' -f5)"
    [ -n "$artifact" ] && echo "test:fuzz: reproducer: $artifact (in dataplane/fuzz: cargo +nightly fuzz run -s none -a $t $artifact)" >&2
  fi
done
echo "test:fuzz: total $((SECONDS - started)) s"
exit "$failed"
