//! What exact instruction counting costs the emulator (docs/gas.md): the
//! same build, translated code with the counter and without it
//! (`EmuEngine::without_metering`), runs interleaved round by round so a
//! noisy host shifts both alike. Each call is timed in CPU time of the
//! calling thread (the emulator runs on it), which other processes on a
//! busy host disturb less than wall-clock time. Prints the medians and
//! their ratio.
//!
//!   cargo bench -p qvm-benches --bench metering [-- ROUNDS]   # default 7

mod support;

use std::time::Duration;

use qvm::{BackendChoice, CallSpec};
use qvm_conformance::toolchain::C_GLIBC;
use support::{contract, median, thread_cpu_time};

fn counted(spec: &CallSpec) -> Duration {
    let t = thread_cpu_time();
    let o = qvm::run(spec, BackendChoice::Emu).expect("call");
    let d = thread_cpu_time() - t;
    assert_eq!(o.exit_code, Some(0));
    d
}

fn uncounted(spec: &CallSpec) -> Duration {
    let t = thread_cpu_time();
    let process = qvm_common::call::Process::new(spec).expect("load");
    let mut engine = qvm_engine_emu::EmuEngine::new(process.memory().clone())
        .and_then(|e| e.without_metering())
        .expect("engine");
    let o = process.run(&mut engine).expect("call");
    let d = thread_cpu_time() - t;
    assert_eq!(o.exit_code, Some(0));
    d
}

fn main() {
    let rounds: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(7);
    println!("| workload | counted (median CPU time) | uncounted (median CPU time) | overhead |");
    println!("|---|---|---|---|");
    for (name, source, arg) in [
        ("sha256 16 MiB", "benches/contracts/sha256.c", "16"),
        ("qsort 1M", "benches/contracts/qsort.c", "1000000"),
        ("hello", "tests/contracts/hello.c", ""),
    ] {
        let mut spec = CallSpec::new(contract(C_GLIBC, source), "bench");
        if !arg.is_empty() {
            spec.call.args = vec![arg.as_bytes().to_vec()];
        }
        let mut unmetered = spec.clone();
        unmetered.call.gas_limit = None;
        // One untimed warm-up of each.
        counted(&spec);
        uncounted(&unmetered);
        let (mut on, mut off) = (Vec::new(), Vec::new());
        for round in 0..rounds {
            eprintln!("metering: {name}: round {}/{rounds}", round + 1);
            if round % 2 == 0 {
                on.push(counted(&spec));
                off.push(uncounted(&unmetered));
            } else {
                off.push(uncounted(&unmetered));
                on.push(counted(&spec));
            }
        }
        let (on, off) = (median(on), median(off));
        println!(
            "| {name} | {:.1} ms | {:.1} ms | {:+.1}% |",
            on.as_secs_f64() * 1e3,
            off.as_secs_f64() * 1e3,
            (on.as_secs_f64() / off.as_secs_f64() - 1.0) * 100.0
        );
    }
}
