//! The native instruction counter (the oracle of issue 11) starts a
//! program as qvm does: for musl C programs, the run it single-steps on
//! Linux makes the same syscalls as the qvm call, with the same results
//! (mmap and brk addresses included: same initial stack, no vDSO, no
//! ASLR), and ends the same way. Host facts aside: pids and tids.
//! (abort() is not here: qvm ends the call at the tkill that raises
//! SIGABRT, Linux delivers it one rt_sigprocmask later, when musl's raise
//! unblocks signals; corpus.rs marks c-musl-crash-abort for it.)

mod support;

use qvm::{BackendChoice, CallSpec};
use qvm_conformance::native_count::{self, Limits};
use support::*;

/// Syscalls whose results are host facts natively (pid, tid).
const HOST_FACTS: [u64; 4] = [39, 110, 186, 218];
const SYS_MMAP: u64 = 9;
/// Linux 6.7 and later put anonymous mappings of 2 MiB or more at a 2 MiB
/// boundary (for transparent huge pages); qvm's layout does not, so their
/// addresses differ (mmap.c's 1 GiB PROT_NONE reservation): only that
/// both succeeded is compared.
const THP_SIZE: u64 = 2 << 20;

struct Case {
    source: &'static str,
    args: &'static [&'static str],
    env: &'static [&'static str],
    stdin: &'static [u8],
}

const CASES: &[Case] = &[
    Case {
        source: "tests/contracts/hello.c",
        args: &["big", "world"],
        env: &["GREETING=hi", "OTHER=x"],
        stdin: b"",
    },
    Case {
        source: "tests/contracts/c/stdin.c",
        args: &[],
        env: &[],
        stdin: b"one\ntwo\nthree\nlast line without newline",
    },
    Case {
        source: "tests/contracts/c/mmap.c",
        args: &[],
        env: &[],
        stdin: b"",
    },
    Case {
        source: "conformance/corpus/c/stderr.c",
        args: &[],
        env: &[],
        stdin: b"",
    },
    Case {
        source: "conformance/corpus/c/recursion.c",
        args: &[],
        env: &[],
        stdin: b"",
    },
    Case {
        source: "tests/contracts/c/crash_null.c",
        args: &[],
        env: &[],
        stdin: b"",
    },
];

on_every_backend! {
    fn native_count_starts_programs_as_qvm_does(backend) {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        for case in CASES {
            let stem = std::path::Path::new(case.source).file_stem().unwrap().to_str().unwrap();
            let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("native-count").join(backend.as_str()).join(stem);
            let binary = qvm_conformance::toolchain::build(C_MUSL, &root.join(case.source), &dir)
                .unwrap_or_else(|e| panic!("{}: {e} (scripts/install-deps.sh installs musl-gcc)", case.source));
            let mut spec = CallSpec::new(std::fs::read(&binary).unwrap(), stem);
            spec.call.args = case.args.iter().map(|a| a.as_bytes().to_vec()).collect();
            spec.call.env = case.env.iter().map(|e| e.as_bytes().to_vec()).collect();
            spec.call.stdin = case.stdin.to_vec();
            spec.call.trace = true;
            let choice = match backend {
                Backend::Emu => BackendChoice::Emu,
                Backend::Kvm => {
                    spec.call.gas_limit = None; // KVM cannot meter (docs/gas.md)
                    BackendChoice::Kvm
                }
            };
            let outcome = qvm::run(&spec, choice).unwrap();
            if qvm_conformance::native::host_cpu_is_qemu_tcg() {
                eprintln!(
                    "SKIPPED: {}: native count: this host's CPU is QEMU's TCG (CI's nested VM), \
                     where single steps are emulated, slow and not a CPU's",
                    case.source
                );
                continue;
            }
            let native = native_count::count(&binary, &spec, Limits::default()).unwrap();
            let calls = &native.syscalls;
            let seen = |nr: u64, result: i64| (nr, if HOST_FACTS.contains(&nr) { 0 } else { result });
            let trace = outcome.trace.as_deref().unwrap();
            let huge = |i: usize| trace.get(i).is_some_and(|e| e.nr == SYS_MMAP && e.args[1] >= THP_SIZE);
            let success = |r: i64| if r < 0 { r } else { 1 };
            let qvm_calls: Vec<(u64, i64)> = trace
                .iter()
                .enumerate()
                .map(|(i, e)| seen(e.nr, if huge(i) { success(e.result) } else { e.result }))
                .collect();
            let native_calls: Vec<(u64, i64)> = calls
                .iter()
                .enumerate()
                .map(|(i, c)| seen(c.nr, if huge(i) { success(c.result) } else { c.result }))
                .collect();
            // The exit that ends a run returns nothing: compare its number.
            let last_is_exit = |v: &[(u64, i64)]| v.last().is_some_and(|&(nr, _)| nr == 60 || nr == 231);
            let strip = |mut v: Vec<(u64, i64)>| {
                if last_is_exit(&v) {
                    if let Some(last) = v.last_mut() {
                        last.1 = 0;
                    }
                }
                v
            };
            assert_eq!(strip(qvm_calls), strip(native_calls), "{}: syscalls (number, result)", case.source);
            assert_eq!(outcome.status(), native.end.status(), "{}", case.source);
            assert_eq!(outcome.stdout, native.stdout, "{}", case.source);
            if let Some(instructions) = outcome.gas.instructions {
                assert_eq!(instructions, native.instructions, "{}: instructions", case.source);
            }
            eprintln!(
                "{}: {} instructions natively, {} syscalls",
                case.source,
                native.instructions,
                native.syscalls.len()
            );
        }
    }
}
