#!/usr/bin/env bash
# The whole test suite: install every toolchain the tests need, then run
# cargo test over the workspace. (CI then runs the KVM tests in a nested VM,
# ci/kvm-in-qemu.sh, and beside it the other hosts' checks, ci/platforms.sh:
# see .ci/run.) Extra arguments go to cargo test, e.g.
#   scripts/test.sh -p qvm-common
#   scripts/test.sh -- --nocapture
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/install-deps.sh test

cmd=(cargo test --workspace)
if [ -f Cargo.lock ]; then
    cmd+=(--locked)
fi
cmd+=("$@")
echo "test: ${cmd[*]}"
# exec: cargo's summary is the last output and its status is ours.
exec "${cmd[@]}"
