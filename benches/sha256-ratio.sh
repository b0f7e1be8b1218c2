#!/usr/bin/env bash
# Emulator time relative to native for a CPU-bound C contract.
#
#   benches/sha256-ratio.sh [RUNS]     # RUNS per side, default 5
#
# Compiles benches/contracts/sha256.c (SHA-256 of 16 MiB of LCG data) with
# gcc -static -O2, builds qvm (cargo build --release -p qvm), then runs the
# same binary natively and under `qvm run --backend emu`, alternately, RUNS
# times each after one untimed warm-up of each. Every run must exit 0, write
# nothing to stderr and print the same digest, which is also checked against
# sha256sum of the data. Prints a Markdown report on stdout (build output and
# progress go to stderr): median wall-clock seconds and the emu/native ratio.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

runs=${1:-5}
case "$runs" in
    '' | *[!0-9]* | 0) echo "usage: $0 [RUNS]  (RUNS: a positive integer, default 5)" >&2; exit 2 ;;
esac

die() { echo "sha256-ratio: error: $*" >&2; exit 1; }
say() { echo "sha256-ratio: $*" >&2; }

for tool in gcc cargo sha256sum awk; do
    command -v "$tool" >/dev/null || die "$tool not found"
done

out=target/bench
mkdir -p "$out"
bin=$out/sha256
say "compiling benches/contracts/sha256.c (gcc -static -O2)"
gcc -static -O2 -o "$bin" benches/contracts/sha256.c
say "building qvm (cargo build --release -p qvm)"
cargo build --release -p qvm >&2
qvm=target/release/qvm

native_cmd=("$bin")
emu_cmd=("$qvm" run --backend emu "$bin")

tmp=$(mktemp -d "${TMPDIR:-/tmp}/sha256-ratio.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# The reference digest: sha256sum of the data the program hashes.
expected=$("$bin" --dump | sha256sum | awk '{print $1}')
[ ${#expected} -eq 64 ] || die "could not compute the reference digest"

# run_once LABEL CMD...: runs CMD, checks its result, prints its wall time.
run_once() {
    local label=$1 start end status=0
    shift
    start=$(date +%s.%N)
    "$@" >"$tmp/stdout" 2>"$tmp/stderr" || status=$?
    end=$(date +%s.%N)
    [ "$status" -eq 0 ] || die "$label exited with status $status: $(head -c 500 "$tmp/stderr")"
    [ ! -s "$tmp/stderr" ] || die "$label wrote to stderr: $(head -c 500 "$tmp/stderr")"
    local digest
    digest=$(cat "$tmp/stdout")
    [ "$digest" = "$expected" ] ||
        die "$label printed '$digest', expected '$expected' (sha256sum of the data)"
    awk -v s="$start" -v e="$end" 'BEGIN { printf "%.6f\n", e - s }'
}

say "warm-up (untimed)"
run_once native "${native_cmd[@]}" >/dev/null
run_once emu "${emu_cmd[@]}" >/dev/null

: >"$tmp/native.times"
: >"$tmp/emu.times"
for i in $(seq 1 "$runs"); do
    n=$(run_once native "${native_cmd[@]}")
    e=$(run_once emu "${emu_cmd[@]}")
    echo "$n" >>"$tmp/native.times"
    echo "$e" >>"$tmp/emu.times"
    say "run $i/$runs: native ${n}s, emu ${e}s"
done

median() {
    sort -g "$1" | awk '{ v[NR] = $1 }
        END { if (NR % 2) printf "%.3f", v[(NR + 1) / 2]; else printf "%.3f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
range() { sort -g "$1" | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%.3f-%.3f", lo, hi }'; }

native_median=$(median "$tmp/native.times")
emu_median=$(median "$tmp/emu.times")
ratio=$(awk -v e="$emu_median" -v n="$native_median" 'BEGIN { printf "%.1f", e / n }')
cpu=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
commit=$(git describe --always --dirty 2>/dev/null || echo unknown)

cat <<EOF
### SHA-256 of 16 MiB, static C: qvm emulator vs native

| | median wall-clock (s) | range (s) |
|---|---:|---:|
| native | $native_median | $(range "$tmp/native.times") |
| \`qvm run --backend emu\` | $emu_median | $(range "$tmp/emu.times") |
| ratio emu/native | **${ratio}x** | |

- runs: $runs of each, interleaved, after one untimed warm-up of each; wall clock of the whole process (qvm's includes its startup)
- digest: \`$expected\` (native, emu and sha256sum agree)
- contract: \`benches/contracts/sha256.c\`, $(gcc --version | head -n 1), \`-static -O2\`
- machine: $(nproc) CPUs (nproc), ${cpu:-unknown CPU}
- qvm: commit $commit, release build
- date: $(date -u '+%Y-%m-%d %H:%M UTC')
EOF
