//! Warm calls (issue 13): a contract loaded once and called many times.
//! Prints, for each workload and backend, the cold call (load + first
//! call) and the warm calls' latency, the targets with the measured value,
//! and the host memory a loaded contract keeps.
//!
//!   cargo bench -p qvm-benches --bench warm [-- CALLS]   # default 2000
//!   cargo bench -p qvm-benches --bench warm -- corpus [CALLS]
//!
//! `corpus` instead times every conformance-corpus program's first case,
//! cold and warm (CALLS warm calls each, default 20; 3 for programs whose
//! cold call takes over a second).
//!
//! Targets (docs/performance.md): a warm hello-world call on the emulator
//! at most 200 us at p50; a warm call of SHA-256 over 16 KiB within 1.5x
//! of its cold call's run part. KVM rows appear only where a call on
//! /dev/kvm works and `QVM_BENCH_NO_KVM` is unset (a nested VM's timings
//! are not performance figures).

mod support;

use std::num::NonZeroUsize;
use std::time::Duration;

use qvm::bench::{bench, BenchReport};
use qvm::runtime::{Runtime, RuntimeOptions};
use qvm::{BackendChoice, Call};
use qvm_conformance::toolchain::{C_GLIBC, RUST};
use support::contract;

struct Workload {
    name: &'static str,
    program: Vec<u8>,
    args: &'static [&'static str],
}

fn call_of(w: &Workload, gas: bool) -> Call {
    Call {
        args: w.args.iter().map(|a| a.as_bytes().to_vec()).collect(),
        gas_limit: if gas { Call::default().gas_limit } else { None },
        ..Call::default()
    }
}

fn options(backend: BackendChoice, max_loaded: usize) -> RuntimeOptions {
    RuntimeOptions {
        backend,
        max_loaded: NonZeroUsize::new(max_loaded).unwrap_or(NonZeroUsize::MIN),
        ..RuntimeOptions::default()
    }
}

fn run(w: &Workload, backend: BackendChoice, calls: u64) -> BenchReport {
    let report = bench(
        options(backend, 1),
        w.name,
        w.program.clone().into(),
        &call_of(w, backend == BackendChoice::Emu),
        calls,
        &mut |_| {},
    )
    .unwrap_or_else(|e| panic!("{}: {e}", w.name));
    assert_eq!(report.cold_outcome.exit_code, Some(0), "{}", w.name);
    assert!(
        report.difference.is_none(),
        "{}: {:?}",
        w.name,
        report.difference
    );
    report
}

/// Resident and proportional memory of this process, from the kernel.
fn resident() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/smaps_rollup").unwrap_or_default();
    let field = |name: &str| -> u64 {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
            * 1024
    };
    (field("Rss:"), field("Pss:"))
}

/// Host memory each loaded contract keeps: `n` copies loaded (distinct
/// names), each called `calls` times, over the memory before.
fn memory_per_contract(w: &Workload, n: usize, calls: usize, cap: usize) -> (u64, usize) {
    let mut rt = Runtime::new(options(BackendChoice::Emu, cap));
    let call = call_of(w, true);
    let before = resident().0;
    for i in 0..n {
        let c = rt
            .load(&format!("{}-{i}", w.name), w.program.clone())
            .expect("load");
        for _ in 0..calls {
            let o = rt.call(&c, &call).expect("call");
            assert_eq!(o.exit_code, Some(0));
        }
    }
    let after = resident().0;
    (after.saturating_sub(before) / n as u64, rt.loaded())
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// Cold and warm latency of every corpus program's first case.
fn corpus(calls: u64) {
    use qvm_conformance::corpus::programs;
    use qvm_conformance::runner::{Paths, BLOCK};
    let paths = Paths::of_checkout();
    println!(
        "| program | language | cold (load + first call) | warm p50 | warm calls | warm / cold |"
    );
    println!("|---|---|---:|---:|---:|---:|");
    for p in programs() {
        let dir = paths.cache.join(p.name);
        let bytes =
            qvm_conformance::toolchain::build(p.toolchain, &paths.root.join(p.source), &dir)
                .ok()
                .and_then(|b| std::fs::read(b).ok());
        let (Some(bytes), Some(case)) = (bytes, p.cases.first()) else {
            println!("| {} | {} | not built here | | | |", p.name, p.language);
            continue;
        };
        let call = Call {
            args: case.args.iter().map(|a| a.as_bytes().to_vec()).collect(),
            env: case
                .env
                .iter()
                .map(|(k, v)| format!("{k}={v}").into_bytes())
                .collect(),
            stdin: case.stdin.bytes(),
            block: BLOCK,
            ..Call::default()
        };
        // One cold call first, to size the run.
        let probe = bench(
            options(BackendChoice::Emu, 1),
            p.name,
            bytes.clone().into(),
            &call,
            0,
            &mut |_| {},
        );
        let Ok(probe) = probe else {
            println!("| {} | {} | error | | | |", p.name, p.language);
            continue;
        };
        let n = if probe.cold() > Duration::from_secs(1) {
            calls.min(3)
        } else {
            calls
        };
        let r = bench(
            options(BackendChoice::Emu, 1),
            p.name,
            bytes.into(),
            &call,
            n,
            &mut |_| {},
        )
        .unwrap_or(probe);
        let (warm, ratio) = match r.latency() {
            Some(l) => (
                format!("{:.2} ms", l.p50 / 1e3),
                format!("{:.3}", l.p50 / us(r.cold())),
            ),
            None => ("-".into(), "-".into()),
        };
        let agree = if r.difference.is_some() {
            " (differs!)"
        } else {
            ""
        };
        println!(
            "| {} | {} | {:.2} ms | {warm}{agree} | {} | {ratio} |",
            p.name,
            p.language,
            us(r.cold()) / 1e3,
            r.warm.len()
        );
    }
}

fn main() {
    let words: Vec<String> = std::env::args().skip(1).collect();
    let number = words.iter().find_map(|a| a.parse().ok());
    if words.iter().any(|w| w == "corpus") {
        corpus(number.unwrap_or(20));
        return;
    }
    let calls: u64 = number.unwrap_or(2000);
    let workloads = [
        Workload {
            name: "hello (C, glibc)",
            program: contract(C_GLIBC, "tests/contracts/hello.c"),
            args: &["world"],
        },
        Workload {
            name: "SHA-256 of 16 KiB (C, glibc)",
            program: contract(C_GLIBC, "benches/contracts/sha256.c"),
            args: &["16K"],
        },
        Workload {
            name: "collections (Rust)",
            program: contract(RUST, "benches/contracts/collections.rs"),
            args: &["1000"],
        },
    ];
    let kvm = std::env::var_os("QVM_BENCH_NO_KVM").is_none() && {
        let mut rt = Runtime::new(options(BackendChoice::Kvm, 1));
        rt.load("hello", workloads[0].program.clone())
            .and_then(|c| {
                rt.call(
                    &c,
                    &Call {
                        gas_limit: None,
                        ..Call::default()
                    },
                )
            })
            .is_ok_and(|o| o.exit_code == Some(0))
    };
    let mut backends = vec![BackendChoice::Emu];
    if kvm {
        backends.push(BackendChoice::Kvm);
    } else {
        eprintln!("qvm-benches: KVM is not usable here; the emulator only");
    }
    println!("{calls} warm calls per row, after one cold call (load + first call).\n");
    println!("| workload | backend | cold | warm p50 | p90 | p99 | calls/s | warm parts (start / prepare / run / restore) | warm p50 / cold run part |");
    println!("|---|---|---|---|---|---|---|---|---|");
    let mut hello_p50 = None;
    let mut sha_ratio = None;
    for w in &workloads {
        for &backend in &backends {
            let r = run(w, backend, calls);
            let l = r.latency().expect("warm calls ran");
            let p = r.warm_parts().expect("warm calls ran");
            let ratio = r.warm_over_cold_run().unwrap_or(0.0);
            println!(
                "| {} | {} | {:.2} ms | {:.1} us | {:.1} us | {:.1} us | {:.0} | {:.1} / {:.1} / {:.1} / {:.1} us | {:.2} |",
                w.name,
                r.backend,
                us(r.cold()) / 1e3,
                l.p50,
                l.p90,
                l.p99,
                r.calls_per_second(),
                p.start,
                p.prepare,
                p.run,
                p.restore,
                ratio
            );
            if backend == BackendChoice::Emu {
                if w.args == ["world"] {
                    hello_p50 = Some(l.p50);
                }
                if w.args == ["16K"] {
                    sha_ratio = Some(ratio);
                }
            }
        }
    }
    println!("\n| target | measured | met |");
    println!("|---|---|---|");
    if let Some(p50) = hello_p50 {
        println!(
            "| warm hello world on the emulator, p50 <= 200 us | {p50:.1} us | {} |",
            if p50 <= 200.0 { "yes" } else { "no" }
        );
    }
    if let Some(r) = sha_ratio {
        println!(
            "| warm SHA-256 16 KiB within 1.5x of its cold call's run part | {r:.2}x | {} |",
            if r <= 1.5 { "yes" } else { "no" }
        );
    }
    println!("\nHost memory per loaded contract (emulator; resident set growth over 32 contracts, each called 10 times):\n");
    println!("| workload | per loaded contract | with a cap of 8 loaded: per contract called | loaded at the end |");
    println!("|---|---|---|---|");
    for w in &workloads {
        let (per, _) = memory_per_contract(w, 32, 10, 64);
        let (capped, loaded) = memory_per_contract(w, 32, 10, 8);
        println!(
            "| {} | {:.1} MiB | {:.1} MiB | {loaded} |",
            w.name,
            per as f64 / (1 << 20) as f64,
            capped as f64 / (1 << 20) as f64
        );
    }
}
