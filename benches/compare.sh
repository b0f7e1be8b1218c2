#!/usr/bin/env bash
# qvm against native Linux and against qemu-user, on the same static binaries.
#
#   benches/compare.sh [RUNS]      # RUNS rounds, default 5
#
# Builds the benchmark contracts (benches/contracts, gcc -static -O2 and
# rustc with crt-static) and qvm (release), then runs every workload natively,
# under `qvm run` on each backend that works here (emu; kvm only with a real
# /dev/kvm: a nested VM's timings are not performance figures) and under
# qemu-x86_64 (Debian's qemu-user; `scripts/install-deps.sh bench` installs
# it). Runs are interleaved, round by round, after one untimed warm-up of
# each; every run must exit 0 and print what the native run printed.
#
# Prints a Markdown report on stdout (progress on stderr): the machine and
# date, median wall-clock times, ratios to native and to qemu-user, and the
# targets of issue 5 with the measured value.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

runs=${1:-5}
case "$runs" in
    '' | *[!0-9]* | 0) echo "usage: $0 [RUNS]  (RUNS: a positive integer, default 5)" >&2; exit 2 ;;
esac

die() { echo "compare: error: $*" >&2; exit 1; }
say() { echo "compare: $*" >&2; }

for tool in gcc rustc cargo awk sort; do
    command -v "$tool" >/dev/null || die "$tool not found (scripts/install-deps.sh bench installs what is missing)"
done

out=target/bench
mkdir -p "$out"
say "building the contracts into $out"
for c in sha256 qsort getppid touch; do
    gcc -static -O2 -o "$out/$c" "benches/contracts/$c.c"
done
gcc -static -O2 -o "$out/hello" tests/contracts/hello.c
gcc -O2 -o "$out/timeit" benches/tools/timeit.c
rustc -O -C target-feature=+crt-static -o "$out/collections" benches/contracts/collections.rs
say "building qvm (cargo build --release -p qvm)"
cargo build --release -q -p qvm >&2
qvm=target/x86_64-unknown-linux-gnu/release/qvm

# Runners: name and command prefix.
runners=(native emu)
if "$qvm" run --backend kvm "$out/hello" >/dev/null 2>&1; then
    if systemd-detect-virt -q 2>/dev/null; then
        say "KVM works, but inside a virtual machine: nested KVM timings are not performance figures, left out"
    else
        runners+=(kvm)
    fi
else
    say "no usable /dev/kvm here: KVM is not measured"
fi
qemu=""
if command -v qemu-x86_64 >/dev/null; then
    qemu=$(command -v qemu-x86_64)
    runners+=(qemu)
else
    say "qemu-x86_64 not found (scripts/install-deps.sh bench installs qemu-user): no qemu-user column"
fi

# Workloads: name, binary, arguments, qvm options.
workloads=(
    "hello|hello||"
    "sha256|sha256|64|"
    "qsort|qsort|1000000|"
    "collections|collections|200000|"
    "touch|touch|256|--memory 512M"
    "getppid|getppid|1000000|"
    "getppid0|getppid|0|"
)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/qvm-compare.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# command_for RUNNER BIN ARGS OPTS: sets `cmd` to the command that runs one
# workload on one runner.
command_for() {
    local runner=$1 bin=$2 args=$3 opts=$4
    # shellcheck disable=SC2206 # args and opts are word lists
    case "$runner" in
        native) cmd=("$out/$bin" $args) ;;
        emu | kvm) cmd=("$qvm" run --backend "$runner" $opts "$out/$bin" $args) ;;
        qemu) cmd=("$qemu" "$out/$bin" $args) ;;
    esac
}

# time_one RUNNER WORKLOAD: runs it once, checks it, prints seconds. The
# clock is in benches/tools/timeit.c, around the process alone: timing
# from here would add this shell's fork.
time_one() {
    local runner=$1 spec=$2 name bin args opts secs status=0
    local -a cmd
    IFS='|' read -r name bin args opts <<<"$spec"
    command_for "$runner" "$bin" "$args" "$opts"
    secs=$("$out/timeit" "$tmp/out" "$tmp/err" "${cmd[@]}") || status=$?
    [ "$status" -eq 0 ] || die "$name on $runner exited with $status: $(head -c 300 "$tmp/err")"
    if [ -f "$tmp/expect.$name" ]; then
        cmp -s "$tmp/out" "$tmp/expect.$name" ||
            die "$name on $runner printed $(head -c 200 "$tmp/out"), native printed $(head -c 200 "$tmp/expect.$name")"
    else
        cp "$tmp/out" "$tmp/expect.$name"
    fi
    echo "$secs"
}

say "warm-up"
for spec in "${workloads[@]}"; do
    for r in "${runners[@]}"; do time_one "$r" "$spec" >/dev/null; done
done
for round in $(seq 1 "$runs"); do
    say "round $round of $runs"
    for spec in "${workloads[@]}"; do
        name=${spec%%|*}
        for r in "${runners[@]}"; do
            time_one "$r" "$spec" >>"$tmp/times.$name.$r"
        done
    done
done

median() { sort -g "$1" | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
m() { median "$tmp/times.$1.$2"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
secs() { awk -v s="$1" 'BEGIN { if (s < 0.01) printf "%.2f ms", s * 1000; else if (s < 1) printf "%.0f ms", s * 1000; else printf "%.2f s", s }'; }
has() { [[ " ${runners[*]} " == *" $1 "* ]]; }

cpu=$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)
echo "## qvm against native and qemu-user"
echo
echo "$(date -u +%F), $cpu, $(nproc) cores, Linux $(uname -r), $runs interleaved rounds, medians of wall-clock time of the whole process."
echo "qvm $(git rev-parse --short HEAD 2>/dev/null || echo '?') (release)$([ -n "$qemu" ] && echo ", $("$qemu" --version | head -1)")."
echo "Command: \`benches/compare.sh $runs\`."
echo
header="| workload | native |"
rule="|---|---:|"
for r in "${runners[@]:1}"; do header+=" $r |"; rule+="---:|"; done
for r in "${runners[@]:1}"; do header+=" $r / native |"; rule+="---:|"; done
if has qemu; then
    for r in "${runners[@]:1}"; do [ "$r" = qemu ] || { header+=" $r / qemu |"; rule+="---:|"; }; done
fi
echo "$header"
echo "$rule"
declare -A label=(
    [hello]="hello world (start, run, exit)"
    [sha256]="SHA-256 of 64 MiB"
    [qsort]="qsort of 1M u64"
    [collections]="Rust collections (200k keys)"
    [touch]="touch 256 MiB in 4 KiB steps"
)
for name in hello sha256 qsort collections touch; do
    row="| ${label[$name]} | $(secs "$(m "$name" native)") |"
    for r in "${runners[@]:1}"; do row+=" $(secs "$(m "$name" "$r")") |"; done
    for r in "${runners[@]:1}"; do row+=" $(ratio "$(m "$name" "$r")" "$(m "$name" native)") |"; done
    if has qemu; then
        for r in "${runners[@]:1}"; do [ "$r" = qemu ] || row+=" $(ratio "$(m "$name" "$r")" "$(m "$name" qemu)") |"; done
    fi
    echo "$row"
done
# Per syscall: (t(1M calls) - t(0 calls)) / 1M, and what the runner adds to native.
per_call() { awk -v a="$(m getppid "$1")" -v b="$(m getppid0 "$1")" 'BEGIN { printf "%.3f", (a - b) / 1e6 * 1e6 }'; }
echo
echo "| syscall round trip (getppid) | per call | added to native |"
echo "|---|---:|---:|"
native_call=$(per_call native)
for r in "${runners[@]}"; do
    call=$(per_call "$r")
    echo "| $r | $call us | $(awk -v a="$call" -v b="$native_call" 'BEGIN { printf "%+.3f us", a - b }') |"
done
echo
echo "Targets (issue 5), emulator:"
echo
emu_call=$(per_call emu)
added=$(awk -v a="$emu_call" -v b="$native_call" 'BEGIN { printf "%.3f", a - b }')
check() { awk -v v="$2" -v t="$3" -v what="$1" -v unit="$4" 'BEGIN { printf "- %s: %s%s (target <= %s%s) %s\n", what, v, unit, t, unit, (v <= t ? "met" : "NOT met") }'; }
if has qemu; then
    check "SHA-256, emu / qemu-user" "$(ratio "$(m sha256 emu)" "$(m sha256 qemu)")" 1.2 ""
    check "qsort, emu / qemu-user" "$(ratio "$(m qsort emu)" "$(m qsort qemu)")" 1.2 ""
fi
check "cost added per syscall" "$added" 0.3 " us"
check "hello world, whole process" "$(awk -v s="$(m hello emu)" 'BEGIN { printf "%.2f", s * 1000 }')" 5 " ms"
check "touch 256 MiB, emu / native" "$(ratio "$(m touch emu)" "$(m touch native)")" 1.3 ""
