#!/usr/bin/env bash
# Install what qvm needs on Debian 12 / Ubuntu (Rust itself must already be
# installed). Idempotent: only what is missing gets installed.
#
#   scripts/install-deps.sh build   # building qvm
#   scripts/install-deps.sh test    # building + every contract toolchain
#   scripts/install-deps.sh bench   # building + what benches/compare.sh runs (qemu-user)
#   scripts/install-deps.sh aarch64 # building + the ARM64 cross compiler and qemu-user
#                                   # (scripts/check-aarch64.sh)
set -euo pipefail

build_pkgs=(cmake libclang-dev clang pkg-config build-essential musl-tools)
test_pkgs=(time g++ musl-tools gfortran fp-compiler gnat ldc nim ocaml-nox ghc golang-go python3-pip)
bench_pkgs=(qemu-user)
aarch64_pkgs=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user)

say() { printf 'install-deps: %s\n' "$*"; }

log=""
# fail MESSAGE: report a failed step, with the log's tail, and exit 1.
fail() {
    printf 'install-deps: error: %s\n' "$1" >&2
    if [ -n "$log" ] && [ -s "$log" ]; then
        printf 'install-deps: last lines of %s:\n' "$log" >&2
        tail -n 25 "$log" | sed 's/^/    /' >&2
    fi
    exit 1
}

# logged CMD...: run CMD as is, its output appended to the log.
logged() {
    if [ -z "$log" ]; then
        log=$(mktemp "${TMPDIR:-/tmp}/qvm-install-deps.XXXXXX") ||
            fail "cannot create a log file in ${TMPDIR:-/tmp}"
    fi
    printf '+ %s\n' "$*" >>"$log"
    "$@" </dev/null >>"$log" 2>&1
}

# as_root CMD...: run CMD as root, through sudo when not root already.
as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    else
        sudo "$@"
    fi
}

# installed PKG: dpkg has PKG fully installed. No pipe into `grep -q`: under
# pipefail, grep quitting early can SIGPIPE dpkg (ghc's stanza is 5.6 KB) and
# make an installed package look missing.
installed() {
    local status
    status=$(dpkg-query -W -f='${db:Status-Status}\n' "$1" 2>/dev/null) || return 1
    [[ $'\n'"$status"$'\n' == *$'\n'installed$'\n'* ]]
}

case "${1:-}" in
    build) pkgs=("${build_pkgs[@]}") ;;
    test) pkgs=("${build_pkgs[@]}" "${test_pkgs[@]}") ;;
    bench) pkgs=("${build_pkgs[@]}" "${bench_pkgs[@]}") ;;
    aarch64) pkgs=("${build_pkgs[@]}" "${aarch64_pkgs[@]}") ;;
    *)
        echo "usage: $0 build|test|bench|aarch64" >&2
        exit 2
        ;;
esac
level=$1

command -v cargo >/dev/null ||
    say "note: cargo is not on PATH; install Rust (https://rustup.rs) to build qvm"

# --- apt packages -----------------------------------------------------------
missing=()
for p in "${pkgs[@]}"; do
    case " ${missing[*]-} " in *" $p "*) continue ;; esac
    installed "$p" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
    say "apt packages for '$level': all present"
else
    if ! command -v apt-get >/dev/null || ! command -v dpkg >/dev/null; then
        fail "apt-get/dpkg not found (Debian/Ubuntu only); install by hand: ${missing[*]}"
    fi
    if [ "$(id -u)" -ne 0 ] && ! command -v sudo >/dev/null; then
        fail "not root and sudo not found; as root run: apt-get install ${missing[*]}"
    fi
    say "updating apt package lists"
    logged as_root apt-get update || fail "apt-get update failed"
    say "installing ${missing[*]}"
    logged as_root env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y --no-install-recommends "${missing[@]}" ||
        fail "apt-get install failed (on Ubuntu, is the 'universe' component enabled?)"
    for p in "${missing[@]}"; do
        installed "$p" || fail "package $p is still not installed after apt-get install"
    done
fi

# --- Zig, from PyPI (test only) ---------------------------------------------
if [ "$level" = test ]; then
    if zig_version=$(python3 -m ziglang version 2>/dev/null); then
        say "zig $zig_version present (python3 -m ziglang)"
    else
        command -v python3 >/dev/null || fail "python3 not found"
        say "installing zig from PyPI (python3 -m pip install ziglang)"
        pip_install=(python3 -m pip install --disable-pip-version-check ziglang)
        if ! out=$("${pip_install[@]}" </dev/null 2>&1); then
            logged printf '%s\n' "$out"
            case "$out" in
                *externally-managed-environment*)
                    say "system python is externally managed; retrying with --break-system-packages"
                    logged "${pip_install[@]}" --break-system-packages ||
                        fail "pip install ziglang failed"
                    ;;
                *) fail "pip install ziglang failed" ;;
            esac
        fi
        python3 -m ziglang version >/dev/null 2>&1 ||
            fail "ziglang installed but 'python3 -m ziglang version' still fails"
    fi
fi

[ -z "$log" ] || rm -f "$log"
say "done ($level)"
