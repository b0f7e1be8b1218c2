//! What the benchmarks share: building a contract once, the calling
//! thread's CPU time, a median.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use qvm_conformance::toolchain::{self, Toolchain};

/// The workspace root (sources are relative to it).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Builds a contract (cached under target/bench-contracts) and reads it.
pub fn contract(tc: Toolchain, source: &str) -> Vec<u8> {
    let dir = root().join("target/bench-contracts").join(tc.name);
    let bin = toolchain::build(tc, &root().join(source), &dir)
        .unwrap_or_else(|e| panic!("building {source}: {e}"));
    std::fs::read(&bin).unwrap_or_else(|e| panic!("reading {}: {e}", bin.display()))
}

/// CPU time this thread has used: the emulator runs on the calling
/// thread, and other processes on a busy host disturb it less than
/// wall-clock time.
pub fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid clock id and a pointer to a local timespec.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// The median of `v` (the upper one for an even count).
pub fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}
