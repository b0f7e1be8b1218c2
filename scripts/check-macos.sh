#!/usr/bin/env bash
# Checks that qvm builds for macOS, Intel and Apple Silicon: `cargo check`
# of the whole workspace (tests and benches too) for x86_64-apple-darwin and
# aarch64-apple-darwin, warnings denied. A check, not a build: no Apple SDK
# is needed. QVM_CHECK_ONLY=1 tells the carried unicorn-engine-sys not to
# build its C library (and to make its bindings from this host's headers);
# blake3 uses its pure-Rust code off Linux (common/Cargo.toml). Nothing is
# linked or run, so this says the code compiles there, not that it works.
#
# Installs the two Rust targets (rust-std only) with rustup if missing.
# Measured on this project's 2-core machine (one core busy elsewhere,
# 2026-12-02): 3 min 20 s from an empty target directory, 17 s after a
# change to common/, under a second when nothing changed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# QVM_MACOS_TARGETS="..." checks only these (ci/platforms.sh: one at a time).
read -r -a targets <<<"${QVM_MACOS_TARGETS:-x86_64-apple-darwin aarch64-apple-darwin}"

command -v rustup >/dev/null || {
    echo "check-macos: error: rustup is needed to add the macOS targets" >&2
    exit 1
}
installed=$(rustup target list --installed)
for t in "${targets[@]}"; do
    grep -qx "$t" <<<"$installed" || rustup target add "$t"
done

locked=()
[ -f Cargo.lock ] && locked=(--locked)
for t in "${targets[@]}"; do
    echo "check-macos: cargo check --workspace --all-targets --target $t"
    # target/cross: a target directory of its own, so the check never
    # waits for the lock of target/ (CI runs it beside the nested VM's build).
    QVM_CHECK_ONLY=1 RUSTFLAGS="-D warnings" \
        cargo check --workspace --all-targets "${locked[@]}" --target "$t" --target-dir target/cross
done
echo "check-macos: ok"
