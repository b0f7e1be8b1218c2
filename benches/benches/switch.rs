//! What a thread switch costs on the emulator (docs/threads.md): a futex
//! ping-pong between two threads, each round trip two switches (a wake and
//! a wait each way), and a goroutine ping-pong over unbuffered channels
//! (switches inside Go's scheduler, which parks and wakes its threads with
//! futexes). Each call is timed in CPU time of the calling thread;
//! the cost per switch is the difference between a long and a short run
//! divided by the extra switches, so start-up and thread creation cancel.
//!
//!   cargo bench -p qvm-benches --bench switch [-- ROUNDS]   # default 5

mod support;

use std::time::Duration;

use qvm::{BackendChoice, CallSpec};
use qvm_conformance::toolchain::{C_GLIBC, C_MUSL, GO};
use support::{contract, median, thread_cpu_time};

fn call(program: &[u8], round_trips: u64) -> Duration {
    let mut spec = CallSpec::new(program.to_vec(), "pingpong");
    spec.call.args = vec![round_trips.to_string().into_bytes()];
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
