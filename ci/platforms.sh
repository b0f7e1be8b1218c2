#!/usr/bin/env bash
# The other hosts' checks (issue 15): `cargo check` of the workspace for
# macOS, Intel and Apple Silicon (scripts/check-macos.sh), and the ARM64
# Linux cross-build run under qemu-user against the x86-64 build
# (scripts/check-aarch64.sh). Ends with `N passed, N failed` (each macOS
# target is one check; check-aarch64.sh counts its comparisons).
#
# .ci/run starts it beside the nested VM, which keeps one core busy.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

passed=0
failed=0
for t in x86_64-apple-darwin aarch64-apple-darwin; do
    if QVM_MACOS_TARGETS=$t scripts/check-macos.sh; then
        passed=$((passed + 1))
        echo "platforms: PASS cargo check for $t"
    else
        failed=$((failed + 1))
        echo "platforms: FAIL cargo check for $t"
    fi
done

log=$(mktemp)
scripts/check-aarch64.sh 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
read -r p f < <(tail -n 1 "$log" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p')
rm -f "$log"
if [ -z "${p:-}" ]; then
    echo "platforms: FAIL scripts/check-aarch64.sh ended without its summary (status $status)"
    p=0 f=1
elif [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then
    f=1
fi
passed=$((passed + p))
failed=$((failed + f))
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
