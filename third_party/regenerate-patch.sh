#!/usr/bin/env bash
# Regenerates third_party/unicorn-engine-sys.patch: the published crate
# unicorn-engine-sys 2.1.5 against qvm's copy, without the targets qvm
# prunes (their sources are removed, not patched). Cargo fetches the
# published crate into its registry through a throwaway project.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

version=2.1.5
work=$(mktemp -d "${TMPDIR:-/tmp}/qvm-unicorn-patch.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/src"
cat >"$work/Cargo.toml" <<TOML
[package]
name = "fetch-unicorn"
version = "0.0.0"
edition = "2021"
[dependencies]
unicorn-engine-sys = { version = "=$version", default-features = false }
TOML
echo 'fn main() {}' >"$work/src/main.rs"
(cd "$work" && cargo fetch --quiet)
published=$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/unicorn-engine-sys-$version | head -n 1)
[ -d "$published" ] || { echo "regenerate-patch: cannot find the published crate" >&2; exit 1; }

# Compare only what qvm keeps: the pruned targets and cargo's metadata
# files are left out.
pruned='^qemu/target/(arm|aarch64|m68k|mips|ppc|riscv|s390x|sparc|tricore)/'
(cd unicorn-engine-sys && find . -type f | sed 's|^\./||' | sort) >"$work/ours"
(cd "$published" && find . -type f | sed 's|^\./||' | grep -Ev "$pruned" | sort) >"$work/theirs"
sort -u "$work/ours" "$work/theirs" | grep -Ev '^(\.cargo_vcs_info\.json|\.cargo-ok|Cargo\.toml\.orig|Cargo\.lock)$' >"$work/files"

out=unicorn-engine-sys.patch
: >"$out"
while read -r f; do
    a="$published/$f"; b="unicorn-engine-sys/$f"
    [ -e "$a" ] || a=/dev/null
    [ -e "$b" ] || b=/dev/null
    diff -u --label "a/$f" --label "b/$f" "$a" "$b" >>"$out" || true
done <"$work/files"
echo "regenerate-patch: $(grep -c '^+++ ' "$out") files differ; wrote third_party/$out"
