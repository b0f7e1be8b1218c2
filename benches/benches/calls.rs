//! Whole in-process contract calls on every backend available here:
//! load, run to exit, collect the outcome (`qvm::run`). Contracts are
//! built from `benches/contracts` and `tests/contracts` with the same
//! toolchains as the tests.
//!
//!   cargo bench -p qvm-benches            # all
//!   cargo bench -p qvm-benches -- sha256  # one group
//!
//! `benches/compare.sh` measures whole processes against native Linux and
//! qemu-user; these benchmarks isolate qvm's own cost per call.

mod support;

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use qvm::{BackendChoice, CallSpec};
use qvm_conformance::toolchain::{Toolchain, C_GLIBC, RUST};
use support::contract;

fn spec(program: &[u8], name: &str, args: &[&str], memory: u64) -> CallSpec {
    let mut spec = CallSpec::new(program.to_vec(), name);
    spec.call.args = args.iter().map(|a| a.as_bytes().to_vec()).collect();
    spec.memory_limit = memory;
    spec
}

/// The backends that work here: the emulator, and KVM when a call on it
/// succeeds (never on these machines' kvm-pvm; a nested VM's KVM is not a
/// performance figure either, so it is left out when `QVM_BENCH_NO_KVM` is
/// set).
fn backends(hello: &CallSpec) -> Vec<(&'static str, BackendChoice)> {
    let mut out = vec![("emu", BackendChoice::Emu)];
    let kvm_ok = std::env::var_os("QVM_BENCH_NO_KVM").is_none()
        && qvm::run(hello, BackendChoice::Kvm).is_ok_and(|o| o.exit_code == Some(0));
    if kvm_ok {
        out.push(("kvm", BackendChoice::Kvm));
    } else {
        eprintln!("qvm-benches: KVM is not usable here; benchmarking the emulator only");
    }
    out
}

/// One benchmark group: `name` on every backend, checking each call ran
/// to exit status 0.
fn group(
    c: &mut Criterion,
    name: &str,
    spec: &CallSpec,
    backends: &[(&'static str, BackendChoice)],
    configure: impl Fn(&mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>),
) {
    let mut g = c.benchmark_group(name);
    configure(&mut g);
    for &(backend, choice) in backends {
        g.bench_with_input(BenchmarkId::from_parameter(backend), spec, |b, spec| {
            b.iter(|| {
                let outcome = qvm::run(spec, choice).expect("call");
                assert_eq!(outcome.exit_code, Some(0), "{name} on {backend}");
                outcome
            })
        });
    }
    g.finish();
}

fn benchmarks(c: &mut Criterion) {
    const MIB: u64 = 1 << 20;
    let hello = spec(
        &contract(C_GLIBC, "tests/contracts/hello.c"),
        "hello",
        &[],
        256 * MIB,
    );
    let backends = backends(&hello);
    let slow = |g: &mut criterion::BenchmarkGroup<'_, _>| {
        g.sample_size(10).measurement_time(Duration::from_secs(20));
    };

    group(c, "hello", &hello, &backends, |_| {});

    const CALLS: u64 = 100_000;
    let getppid = contract(C_GLIBC, "benches/contracts/getppid.c");
    let syscalls = spec(&getppid, "getppid", &[&CALLS.to_string()], 256 * MIB);
    group(c, "getppid", &syscalls, &backends, |g| {
        g.throughput(Throughput::Elements(CALLS));
    });

    // Longer workloads: ten samples each.
    let workloads: [(&str, Toolchain, &str, &str, u64); 4] = [
        (
            "sha256-16MiB",
            C_GLIBC,
            "benches/contracts/sha256.c",
            "16",
            256 * MIB,
        ),
        (
            "qsort-1M",
            C_GLIBC,
            "benches/contracts/qsort.c",
            "1000000",
            256 * MIB,
        ),
        (
            "rust-collections",
            RUST,
            "benches/contracts/collections.rs",
            "200000",
            256 * MIB,
        ),
        (
            "touch-256MiB",
            C_GLIBC,
            "benches/contracts/touch.c",
            "256",
            512 * MIB,
        ),
    ];
    for (name, tc, source, arg, memory) in workloads {
        let call = spec(&contract(tc, source), name, &[arg], memory);
        group(c, name, &call, &backends, slow);
    }
}

criterion_group!(benches, benchmarks);
criterion_main!(benches);
