//! What a thread switch costs on the emulator (docs/threads.md): a futex
//! ping-pong between two threads, each round trip two switches (a wake and
//! a wait each way), and a goroutine ping-pong over unbuffered channels
//! (switches inside Go's scheduler, which parks and wakes its threads with
//! futexes). Each call is timed in CPU time of the calling thread;
//! the cost per switch is the difference between a long and a short run
//! divided by the extra switches, so start-up and thread creation cancel.
//!
//!   cargo bench -p qvm-benches --bench switch [-- ROUNDS]   # default 5

use std::path::{Path, PathBuf};
use std::time::Duration;

use qvm::{BackendChoice, CallSpec};
use qvm_conformance::toolchain::{self, Toolchain, C_GLIBC, C_MUSL, GO};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn contract(tc: Toolchain, source: &str) -> Vec<u8> {
    let dir = root().join("target/bench-contracts").join(tc.name);
    let bin = toolchain::build(tc, &root().join(source), &dir)
        .unwrap_or_else(|e| panic!("building {source}: {e}"));
    std::fs::read(&bin).unwrap_or_else(|e| panic!("reading {}: {e}", bin.display()))
}

/// CPU time this thread has used.
fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid clock id and a pointer to a local timespec.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

fn call(program: &[u8], round_trips: u64) -> Duration {
    let mut spec = CallSpec::new(program.to_vec(), "pingpong");
    spec.args = vec![round_trips.to_string().into_bytes()];
    let t = thread_cpu_time();
    let o = qvm::run(&spec, BackendChoice::Emu).expect("call");
    let d = thread_cpu_time() - t;
    assert_eq!(
        o.exit_code,
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    d
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let rounds: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(5);
    let (short, long) = (100u64, 20_100u64);
    println!("| workload | switches | median CPU time | per switch |");
    println!("|---|---|---|---|");
    for (name, tc, source) in [
        (
            "futex ping-pong, glibc",
            C_GLIBC,
            "benches/contracts/futex_pingpong.c",
        ),
        (
            "futex ping-pong, musl",
            C_MUSL,
            "benches/contracts/futex_pingpong.c",
        ),
        (
            "goroutine ping-pong, Go",
            GO,
            "benches/contracts/pingpong.go",
        ),
    ] {
        let program = contract(tc, source);
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for _ in 0..rounds {
            a.push(call(&program, short));
            b.push(call(&program, long));
        }
        let (a, b) = (median(a), median(b));
        let switches = 2 * (long - short);
        let per = b.saturating_sub(a).as_nanos() / u128::from(switches);
        println!(
            "| {name} | {switches} | {b:.2?} (vs {a:.2?} for {}) | {:.2} us |",
            2 * short,
            per as f64 / 1000.0
        );
    }
}
