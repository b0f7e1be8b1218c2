//! qvm's benchmarks live beside this crate:
//!
//! - `benches/calls.rs`: criterion benchmarks of whole in-process calls
//!   (hello world, a getppid loop, SHA-256, qsort, Rust collections,
//!   touching 256 MiB) on every backend available (`cargo bench -p
//!   qvm-benches`);
//! - `compare.sh`: the same static binaries natively, under `qvm run` and
//!   under qemu-user, interleaved, as a Markdown table of medians and ratios.
//!
//! The contracts are in `contracts/`.
