#!/usr/bin/env bash
# qvm's peak host memory under hostile contracts (issue 11): each bomb once,
# under /usr/bin/time, on the emulator with a release build.
#
#   benches/host-memory.sh
#
# Builds qvm (release) and the bombs (tests/contracts/c: code_bomb.c,
# output_bomb.c, and a getppid loop), runs each, and prints a Markdown table
# on stdout: the call, its memory limit, qvm's exit status, wall-clock time,
# peak resident memory (time's %M) and the documented bound: the memory
# limit plus 192 MiB.
# docs/performance.md ("Host memory under hostile contracts") holds a run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

die() { echo "host-memory: error: $*" >&2; exit 1; }
[ -x /usr/bin/time ] || die "/usr/bin/time not found (Debian package time)"
command -v gcc >/dev/null || die "gcc not found"

cargo build --release --quiet
qvm=target/x86_64-unknown-linux-gnu/release/qvm
work=target/host-memory
mkdir -p "$work"
gcc -static -O2 -o "$work/code_bomb" tests/contracts/c/code_bomb.c
gcc -static -O2 -o "$work/output_bomb" tests/contracts/c/output_bomb.c
printf '#include <unistd.h>\n#include <sys/syscall.h>\nint main(void){for(;;) syscall(SYS_getppid);}\n' \
    > "$work/syscall_loop.c"
gcc -static -O2 -o "$work/syscall_loop" "$work/syscall_loop.c"

echo "| call | memory limit | status | time | peak host memory | bound: limit + 192 MiB |"
echo "|---|---:|---:|---:|---:|---:|"
# label, limit in MiB, then the arguments of `qvm run --backend emu`.
bomb() {
    local label=$1 limit=$2
    shift 2
    /usr/bin/time -o "$work/time.txt" -f '%x %e %M' "$qvm" run --backend emu --memory "${limit}M" \
        "$@" >/dev/null 2>/dev/null || true
    local out
    out=$(tail -n 1 "$work/time.txt")
    read -r status secs kib <<<"$out"
    printf '| %s | %s MiB | %s | %s s | %s MiB | %s MiB |\n' "$label" "$limit" "$status" "$secs" \
        "$((kib / 1024))" "$((limit + 192))"
}
bomb '`--json --trace`, getppid loop, `--timeout 6`' 256 --json --trace --timeout 6 "$work/syscall_loop"
bomb 'contract `/dev/zero`' 256 /dev/zero
bomb '`--stdin /dev/zero`' 256 --stdin /dev/zero "$work/syscall_loop"
bomb '64 MiB of generated code, run once' 256 "$work/code_bomb" 64
bomb '128 MiB of generated code, run once' 512 "$work/code_bomb" 128
bomb '64 MiB of NULs on stdout and on stderr, `--json`' 256 --json "$work/output_bomb"
bomb 'the same, passed through' 256 "$work/output_bomb"
