#!/bin/sh
# x87 stack overflow and underflow: builds stack.c statically, runs it
# natively and under `qvm run --backend emu`, and prints per instruction how
# many of its cases (stack states x control words x condition codes) leave a
# different FPU state, memory operand or RFLAGS, then the differing lines
# (native first) when X87_SHOW is set.
#
# Usage: scripts/x87/stack.sh [QVM]
# QVM defaults to target/x86_64-unknown-linux-gnu/release/qvm (else debug).
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
qvm=${1:-}
if [ -z "$qvm" ]; then
    qvm=$root/target/x86_64-unknown-linux-gnu/release/qvm
    [ -x "$qvm" ] || qvm=$root/target/x86_64-unknown-linux-gnu/debug/qvm
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
gcc -O2 -static -o "$work/stack" "$root/scripts/x87/stack.c"
"$work/stack" >"$work/native"
"$qvm" run --backend emu "$work/stack" >"$work/emu"
grep -m1 'model name' /proc/cpuinfo | sed 's/.*: /cpu: /'
paste -d '\n' "$work/native" "$work/emu" | awk -v show="${X87_SHOW:-}" '
    NR % 2 == 1 { native = $0; next }
    {
        total++; insn = $1
        if ($0 != native) {
            differ++; count[insn]++
            if (show != "") { print "native: " native; print "emu:    " $0 }
        }
    }
    END {
        for (i in count) printf "%-14s %d cases differ\n", i, count[i]
        printf "%d of %d cases differ\n", differ, total
    }'
