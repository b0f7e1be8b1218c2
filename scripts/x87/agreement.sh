#!/bin/sh
# Agreement of qvm's emulator with this host's CPU on the x87 transcendental
# instructions: builds agreement.c statically, runs it natively and under
# `qvm run --backend emu`, and prints per instruction how many cases leave a
# bit-identical FPU state (status word, tag word, registers), for the edge
# cases (in all four rounding modes) and the random operands apart.
#
# Usage: scripts/x87/agreement.sh [QVM] [random cases per instruction]
# QVM defaults to target/x86_64-unknown-linux-gnu/release/qvm (else debug).
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
qvm=${1:-}
if [ -z "$qvm" ]; then
    qvm=$root/target/x86_64-unknown-linux-gnu/release/qvm
    [ -x "$qvm" ] || qvm=$root/target/x86_64-unknown-linux-gnu/debug/qvm
fi
n=${2:-4000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
gcc -O2 -static -o "$work/agreement" "$root/scripts/x87/agreement.c"
"$work/agreement" -v "$n" >"$work/native"
"$qvm" run --backend emu "$work/agreement" -v "$n" >"$work/emu"
grep -m1 'model name' /proc/cpuinfo | sed 's/.*: /cpu: /'
# Lines are "insn index kind inputs -> state" (kind e: edge case, r:
# random); compare the state case by case.
paste -d '\n' "$work/native" "$work/emu" | awk '
    NR % 2 == 1 { native = $0; next }
    NF == 3 { next }                      # the summary lines
    {
        insn = $1; total[insn]++; kindtotal[insn, $3]++
        if ($0 == native) { same[insn]++; kindsame[insn, $3]++ }
        if (!(insn in order)) { order[insn] = ++n; names[n] = insn }
    }
    END {
        printf "%-8s %15s %15s %15s\n", "insn", "edge cases", "random cases", "all"
        for (i = 1; i <= n; i++) {
            k = names[i]
            printf "%-8s", k
            printf " %6d/%-6d%3.0f%%", kindsame[k, "e"], kindtotal[k, "e"], 100 * kindsame[k, "e"] / kindtotal[k, "e"]
            printf " %6d/%-6d%3.0f%%", kindsame[k, "r"], kindtotal[k, "r"], 100 * kindsame[k, "r"] / kindtotal[k, "r"]
            printf " %6d/%-6d%5.1f%%\n", same[k], total[k], 100 * same[k] / total[k]
        }
    }'
if [ -n "${X87_KEEP:-}" ]; then cp "$work/native" "$work/emu" "$X87_KEEP/"; fi
