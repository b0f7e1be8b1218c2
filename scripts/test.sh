#!/usr/bin/env bash
# The whole test suite: install every toolchain the tests need, check that
# the workspace compiles for macOS (scripts/check-macos.sh), then run cargo
# test over the workspace. Extra arguments go to cargo test, e.g.
#   scripts/test.sh -p qvm-common
#   scripts/test.sh -- --nocapture
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/install-deps.sh test
scripts/check-macos.sh

cmd=(cargo test --workspace)
if [ -f Cargo.lock ]; then
    cmd+=(--locked)
fi
cmd+=("$@")
echo "test: ${cmd[*]}"
# exec: cargo's summary is the last output and its status is ours.
exec "${cmd[@]}"
