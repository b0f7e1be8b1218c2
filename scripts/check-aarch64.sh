#!/usr/bin/env bash
# Checks qvm on an ARM64 Linux host without one: cross-builds qvm for
# aarch64-unknown-linux-gnu (Debian's cross compiler; unicorn's C code with
# its aarch64 TCG host backend), then runs it under qemu-user's aarch64
# emulation beside the x86-64 build and compares, byte for byte, every
# outcome document (`qvm run --json --trace`: status, output, state, gas,
# syscall trace) of
#   - examples/hello.c, and
#   - every program of the conformance corpus (114 programs in 12
#     languages: QVM_AARCH64_PROGRAMS="a b ..." runs only those).
# The ARM64 build also runs its own conformance check of those programs
# (against native Linux, golden outputs and gas, and warm calls), and the
# random instruction test (tests/random_instructions.rs) compares its
# emulator with this machine's x86-64 CPU.
#
# Prints one line per comparison and ends with `N passed, N failed`; exits 1
# when anything differs or fails. Everything goes under target/: the cross
# build in target/cross/aarch64-unknown-linux-gnu/, outcomes in target/aarch64-check/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { printf 'check-aarch64: %s\n' "$*"; }

scripts/install-deps.sh aarch64

target=aarch64-unknown-linux-gnu
command -v rustup >/dev/null || {
    say "error: rustup is needed to add the $target target" >&2
    exit 1
}
# Not piped into grep -q: under pipefail, grep quitting early can SIGPIPE
# rustup (the failure install-deps.sh once had with dpkg).
installed=$(rustup target list --installed)
grep -qx "$target" <<<"$installed" || rustup target add "$target"

# The cross toolchain, for cargo (linking), cc (blake3's C) and cmake
# (unicorn): Debian's aarch64-linux-gnu-*. Bindgen parses unicorn's headers
# as the target's, with the cross sysroot's C headers. On Linux qvm links
# statically (.cargo/config.toml), so the binary needs no ARM64 libraries
# under qemu-user.
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
export CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc
export AR_aarch64_unknown_linux_gnu=aarch64-linux-gnu-ar
export BINDGEN_EXTRA_CLANG_ARGS_aarch64_unknown_linux_gnu="--sysroot=/usr/aarch64-linux-gnu"
# Warnings are errors for this target as for macOS (scripts/check-macos.sh):
# code that only ARM64 Linux compiles (no KVM engine) stays clean. Joined
# with .cargo/config.toml's crt-static, not replacing it.
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUSTFLAGS="-D warnings"

locked=()
[ -f Cargo.lock ] && locked=(--locked)

# The dev profile, as the test suite builds: unicorn's C code is optimized
# in it too (Cargo.toml). The cross build has a target directory of its own, target/cross, so that
# it never waits for (or holds) the lock of target/ that the host's builds
# take: CI runs this beside the nested VM's build.
cross_dir=target/cross
seconds() { date +%s; }
t0=$(seconds)
say "cargo build --bin qvm --target $target --target-dir $cross_dir"
cargo build "${locked[@]}" --bin qvm --target "$target" --target-dir "$cross_dir"
t1=$(seconds)
say "cross build: $((t1 - t0)) s"
# The x86-64 binary to compare with is built into target/cross too, never
# into target/: `cargo build --bin qvm` unifies fewer features than the test
# suite's build, so it would relink target/<host>/debug/qvm, which the
# nested VM may be running at that moment (CI runs this beside it: its KVM
# tests crashed with SIGSEGV when the file changed under them).
say "cargo build --bin qvm --target-dir $cross_dir (x86-64, to compare with)"
cargo build "${locked[@]}" --bin qvm --target-dir "$cross_dir"
x86=$cross_dir/$(rustc -vV | sed -n 's/^host: //p')/debug/qvm
arm_bin=$cross_dir/$target/debug/qvm
arm=(qemu-aarch64 "$arm_bin")
case "$(od -An -tx1 -j18 -N2 "$arm_bin" | tr -d ' ')" in
    b700) ;; # e_machine EM_AARCH64 (183), little-endian
    *) say "error: $arm_bin is not an ARM64 ELF" >&2; exit 1 ;;
esac

out=target/aarch64-check
rm -rf "$out"
mkdir -p "$out/x86_64" "$out/aarch64"
passed=0
failed=0
pass() { passed=$((passed + 1)); say "PASS $*"; }
fail() { failed=$((failed + 1)); say "FAIL $*"; }

# --- examples/hello.c ------------------------------------------------------
gcc -static -O2 -o "$out/hello" examples/hello.c
hello=(run --backend emu --json --trace
    --block-hash 8c2f1d0e4b6a9753c1e8f02d4a6b8c0e1f3a5b7c9d2e4f6081a3c5e7f9b1d3e5
    --block-time 1700000000 "$out/hello" world)
"$x86" "${hello[@]}" >"$out/x86_64/hello.json" || true
"${arm[@]}" "${hello[@]}" >"$out/aarch64/hello.json" || true
if [ -s "$out/x86_64/hello.json" ] && cmp -s "$out/x86_64/hello.json" "$out/aarch64/hello.json"; then
    pass "hello: the same outcome document ($(wc -c <"$out/x86_64/hello.json") bytes)"
else
    fail "hello: outcome documents differ:"
    diff "$out/x86_64/hello.json" "$out/aarch64/hello.json" | head -20 || true
fi

# --- the conformance corpus ------------------------------------------------
# The whole corpus by default (about 6 minutes under qemu-aarch64 here);
# QVM_AARCH64_PROGRAMS="c-glibc go-hello ..." runs only those.
selection=()
for p in ${QVM_AARCH64_PROGRAMS:-}; do selection+=(--program "$p"); done
what=${QVM_AARCH64_PROGRAMS:+$((${#selection[@]} / 2)) programs}

say "x86-64 build: qvm conformance --backends emu ${what:-(the whole corpus)}"
"$x86" conformance --backends emu "${selection[@]}" --outcomes "$out/x86_64" \
    >"$out/x86_64/report.txt" 2>"$out/x86_64/progress.txt" ||
    fail "x86-64 build's conformance run: $(tail -n 3 "$out/x86_64/report.txt")"
t2=$(seconds)
say "ARM64 build under qemu-aarch64: qvm conformance --backends emu ${what:-(the whole corpus)}"
if "${arm[@]}" conformance --backends emu "${selection[@]}" --outcomes "$out/aarch64" \
    >"$out/aarch64/report.txt" 2>"$out/aarch64/progress.txt"; then
    pass "ARM64 build's own conformance run: $(tail -n 1 "$out/aarch64/report.txt")"
else
    fail "ARM64 build's own conformance run:"
    grep -A30 '^not passing' "$out/aarch64/report.txt" | head -30 || true
fi
t3=$(seconds)
say "ARM64 corpus run: $((t3 - t2)) s"

# One comparison per program: each of its cases' outcome documents.
programs=$(find "$out/x86_64" -name '*.emu.json' -printf '%f\n' |
    sed 's/\.[0-9]*\.emu\.json$//' | sort -u)
[ -n "$programs" ] || fail "no outcome documents from the x86-64 build"
for p in $programs; do
    differ=()
    n=0
    for f in "$out/x86_64/$p".*.emu.json; do
        n=$((n + 1))
        cmp -s "$f" "$out/aarch64/${f##*/}" || differ+=("${f##*/}")
    done
    if [ ${#differ[@]} -eq 0 ]; then
        pass "$p: $n outcome document(s) the same"
    else
        fail "$p: ${differ[*]} differ (diff $out/x86_64/${differ[0]} $out/aarch64/${differ[0]})"
    fi
done

# --- random instruction sequences ------------------------------------------
# tests/random_instructions.rs, cross-built: the ARM64 build's emulator
# against this machine's x86-64 CPU (the sequences run natively: qemu-user
# hands execve of an x86-64 program to the host) on thousands of random
# integer, SSE, MXCSR-flag, x87 and faulting sequences. The instruction
# counter's single steps need an x86-64 host; they are left out.
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER=qemu-aarch64
t4=$(seconds)
say "cargo test --test random_instructions --target $target (run under qemu-aarch64)"
if cargo test "${locked[@]}" --target "$target" --target-dir "$cross_dir" \
    --test random_instructions -- --nocapture >"$out/random_instructions.txt" 2>&1; then
    pass "random instructions: $(grep -m1 'random sequences ran' "$out/random_instructions.txt")"
else
    fail "random instructions (the log: $out/random_instructions.txt):"
    grep -v '^ *[0-9]*: \|^ *at ' "$out/random_instructions.txt" | grep -A12 'panicked' | head -30 || true
fi
t5=$(seconds)
say "random instructions (build and run): $((t5 - t4)) s"

say "cross build $((t1 - t0)) s; ARM64 corpus run $((t3 - t2)) s; random instructions $((t5 - t4)) s; outcomes in $out/"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
