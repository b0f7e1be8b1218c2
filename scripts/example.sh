#!/usr/bin/env bash
# Try qvm: build it, compile examples/hello.c as a static ELF and run it as
# a contract call in the emulator.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/install-deps.sh build

echo "example: building qvm (release)..."
cargo build --release

echo "example: compiling examples/hello.c (gcc -static -O2)..."
mkdir -p target/examples
gcc -static -O2 -o target/examples/hello examples/hello.c

cmd=(target/x86_64-unknown-linux-gnu/release/qvm run --backend emu
    --block-hash 8c2f1d0e4b6a9753c1e8f02d4a6b8c0e1f3a5b7c9d2e4f6081a3c5e7f9b1d3e5
    --block-time 1700000000
    target/examples/hello world)
echo "example: ${cmd[*]}"
status=0
"${cmd[@]}" || status=$?
echo "example: qvm exited with status $status"
exit "$status"
