//! The conformance corpus: which programs, built how, run with which
//! inputs, checked against what.
//!
//! Every language implements the same contract (`corpus/<lang>/main.*`):
//! arguments, environment, stdin, a growing heap array, the QVM protocol
//! and an exit status, so their outputs agree line for line. Behaviour
//! programs in C (glibc and musl: the end-to-end tests' programs and
//! `corpus/c/*.c`) and Rust (`corpus/rust/*.rs`) join them: big output,
//! stderr, heap churn, memory syscalls, brk, the memory limit, deep
//! recursion, floating point, strings, sorting and crashes. Programs whose
//! output depends on the block context are checked against golden files.

use crate::toolchain::{self, Toolchain};

/// What a program's output is checked against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Oracle {
    /// A plain run on this Linux host.
    Native,
    /// `corpus/golden/<name>.stdout`, for output that depends on the block
    /// context (randomness, time).
    Golden,
}

/// Standard input of a case, generated so the corpus needs no data files.
#[derive(Clone, Copy, Debug)]
pub enum Stdin {
    Empty,
    /// `n` short lines.
    Lines(usize),
    /// `n` bytes of text without a final newline.
    Big(usize),
}

impl Stdin {
    pub fn bytes(self) -> Vec<u8> {
        match self {
            Stdin::Empty => Vec::new(),
            Stdin::Lines(n) => (0..n)
                .flat_map(|i| format!("line {i}\n").into_bytes())
                .collect(),
            Stdin::Big(n) => (0..n)
                .map(|i| {
                    if i % 97 == 96 {
                        b'\n'
                    } else {
                        b'a' + (i % 26) as u8
                    }
                })
                .collect(),
        }
    }
}

/// One run of a program.
#[derive(Clone, Copy, Debug)]
pub struct Case {
    pub args: &'static [&'static str],
    pub env: &'static [(&'static str, &'static str)],
    pub stdin: Stdin,
}

/// Whether a program runs natively the very instructions it runs under qvm,
/// so that the native instruction count (`native_count`) is an oracle for
/// its `gas.instructions`. It does when nothing it observes differs
/// between Linux and qvm in a way that steers its control flow: no
/// CPUID-dependent code paths (glibc picks its string functions by CPUID),
/// no clock or randomness in control flow, no host path or pid it prints.
/// Decided per program from its source and toolchain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NativeStream {
    /// The same instruction stream.
    Same,
    /// The same, but it runs about this many instructions (its first
    /// case; measured with the native counter, or estimated with
    /// `valgrind --tool=lackey --basic-counts=yes`, which counts a REP
    /// string instruction once): beyond the runner's default single-step
    /// budget (single steps run at 20,000 to 40,000 a second on this
    /// project's machines).
    SameButLong(u64),
    /// Not the same, and why.
    Differs(&'static str),
}

/// Why glibc programs (and every language runtime on glibc) differ.
const GLIBC_IFUNCS: &str = "glibc picks its string and memory functions by CPUID at start-up (ifuncs): the host's CPU is not qvm's profile";
/// Why the output of the block-context programs differs.
const BLOCK_CONTEXT: &str = "reads the clock and randomness, which steer its formatting";
const LIMITS_DIFFER: &str =
    "allocates until refused: qvm's memory limit and Linux's RLIMIT_AS refuse at different points";
const X87_HAZARD: &str = "x87 transcendental results differ in their last bits between CPUs and the emulator (a hazard), and printing them takes other paths";
const EXE_PATH: &str = "Free Pascal's RTL reads /proc/self/exe (the host path natively, /contract/NAME under qvm) and copies it";

/// A program of the corpus, built with one toolchain.
#[derive(Clone, Copy, Debug)]
pub struct Program {
    /// Unique name in reports.
    pub name: &'static str,
    pub language: &'static str,
    pub toolchain: Toolchain,
    /// Source path relative to the workspace root.
    pub source: &'static str,
    pub cases: &'static [Case],
    pub oracle: Oracle,
    /// Whether the native instruction count is an oracle for it.
    pub native_stream: NativeStream,
}

/// Sources that check floating-point details (exception flags, traps,
/// x87 results) which QEMU's TCG gets wrong. In CI's nested VM the "host
/// CPU", and so KVM inside it, is QEMU 7.2's TCG: there neither the native
/// run nor KVM is a valid oracle for these programs, which are judged on
/// real hardware only (`Program::needs_real_fpu`).
const REAL_FPU_SOURCES: &[&str] = &[
    "conformance/corpus/c/fp_flags.c",
    "conformance/corpus/c/fp_libm.c",
    "conformance/corpus/c/fp_trap.c",
    "conformance/corpus/c/long_double_libm.c",
];

/// Sources that execute the SHA extensions, a hazard of the CPU profile
/// (docs/cpu-profile.md): a host CPU without them (QEMU 7.2's TCG in CI's
/// nested VM, Intel servers before Ice Lake) raises #UD natively and under
/// KVM. There only the emulator runs them, judged by the program's own
/// known-answer checks (`Program::needs_host_sha`).
const SHA_SOURCES: &[&str] = &["conformance/corpus/c/sha_ni.c"];

impl Program {
    /// Whether only a real CPU can judge this program (`REAL_FPU_SOURCES`).
    pub fn needs_real_fpu(&self) -> bool {
        REAL_FPU_SOURCES.contains(&self.source)
    }

    /// Whether this program executes SHA instructions (`SHA_SOURCES`).
    pub fn needs_host_sha(&self) -> bool {
        SHA_SOURCES.contains(&self.source)
    }
}

/// The cases every language program runs.
const LANGUAGE_CASES: &[Case] = &[
    Case {
        args: &["3", "alpha", "two words"],
        env: &[("DB_COUNTER", "41")],
        stdin: Stdin::Empty,
    },
    Case {
        args: &["0"],
        env: &[],
        stdin: Stdin::Big(3 << 20),
    },
    Case {
        args: &["7"],
        env: &[],
        stdin: Stdin::Lines(5),
    },
];

const ONCE: &[Case] = &[Case {
    args: &[],
    env: &[],
    stdin: Stdin::Empty,
}];
const WITH_STDIN: &[Case] = &[Case {
    args: &[],
    env: &[],
    stdin: Stdin::Lines(300),
}];

macro_rules! lang {
    ($name:expr, $language:expr, $tc:expr, $src:expr, $stream:expr) => {
        Program {
            name: $name,
            language: $language,
            toolchain: $tc,
            source: $src,
            cases: LANGUAGE_CASES,
            oracle: Oracle::Native,
            native_stream: $stream,
        }
    };
}

macro_rules! c_program {
    ($name:expr, $tc:expr, $src:expr, $cases:expr, $oracle:expr, $stream:expr) => {
        Program {
            name: $name,
            language: "C",
            toolchain: $tc,
            source: $src,
            cases: $cases,
            oracle: $oracle,
            native_stream: $stream,
        }
    };
}

/// The whole corpus.
pub fn programs() -> Vec<Program> {
    use toolchain::*;
    let mut out = vec![
        lang!(
            "c-glibc",
            "C",
            C_GLIBC,
            "conformance/corpus/c/main.c",
            NativeStream::Differs(GLIBC_IFUNCS)
        ),
        lang!(
            "c-glibc-static-pie",
            "C",
            C_GLIBC_PIE,
            "conformance/corpus/c/main.c",
            NativeStream::Differs(GLIBC_IFUNCS)
        ),
        lang!(
            "c-musl",
            "C",
            C_MUSL,
            "conformance/corpus/c/main.c",
            NativeStream::SameButLong(20_600_000)
        ),
        lang!(
            "cpp",
            "C++",
            CPP,
            "conformance/corpus/cpp/main.cpp",
            NativeStream::Differs(GLIBC_IFUNCS)
        ),
        lang!(
            "rust-static-pie",
            "Rust",
            RUST,
            "conformance/corpus/rust/main.rs",
            NativeStream::Differs(GLIBC_IFUNCS)
        ),
        lang!(
            "rust-static",
            "Rust",
            RUST_NOPIE,
            "conformance/corpus/rust/main.rs",
            NativeStream::Differs(GLIBC_IFUNCS)
        ),
        lang!(
            "zig",
            "Zig",
            ZIG,
            "conformance/corpus/zig/main.zig",
            // Zig's start-up counts CPUs over the bytes sched_getaffinity
            // returns: the host kernel's mask size (32 bytes here) against
            // qvm's 8, 96 instructions apart (the oracle, 2026-12-02; the
            // rest of its 3.47 million agreed up to that stretch).
            NativeStream::Differs(
                "sched_getaffinity returns the host kernel's mask size (32 bytes here, qvm 8), \
                 and Zig's start-up loops over it",
            )
        ),
        lang!(
            "fortran",
            "Fortran",
            FORTRAN,
            "conformance/corpus/fortran/main.f90",
            NativeStream::Differs(GLIBC_IFUNCS)
        ),
        lang!(
            "pascal",
            "Free Pascal",
            PASCAL,
            "conformance/corpus/pascal/main.pas",
            NativeStream::Differs(EXE_PATH)
        ),
        lang!(
            "ada",
            "Ada",
            ADA,
            "conformance/corpus/ada/main.adb",
            NativeStream::Differs(GLIBC_IFUNCS)
        ),
        lang!(
            "d",
            "D",
            D,
            "conformance/corpus/d/main.d",
            NativeStream::Differs(GLIBC_IFUNCS)
        ),
        lang!(
            "nim",
            "Nim",
            NIM,
            "conformance/corpus/nim/main.nim",
            NativeStream::Differs(GLIBC_IFUNCS)
        ),
        lang!(
            "ocaml",
            "OCaml",
            OCAML,
            "conformance/corpus/ocaml/main.ml",
            NativeStream::Differs(GLIBC_IFUNCS)
        ),
        lang!(
            "haskell",
            "Haskell",
            HASKELL,
            "conformance/corpus/haskell/main.hs",
            NativeStream::Differs(GLIBC_IFUNCS)
        ),
    ];
    for (libc, tc) in [("glibc", C_GLIBC), ("musl", C_MUSL)] {
        out.extend(c_behaviour(libc, tc));
    }
    out.extend(rust_behaviour());
    out.extend(
        threaded_programs()
            .into_iter()
            .filter(|p| not_yet(p.name).is_none()),
    );
    out
}

/// Threaded-corpus programs qvm does not run yet, and why: they stay out
/// of [`programs`] (the threaded-native test still runs them natively).
pub const NOT_YET: &[(&str, &str)] = &[];

/// Why qvm does not run `name` yet, if it does not.
pub fn not_yet(name: &str) -> Option<&'static str> {
    NOT_YET
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, why)| *why)
}

/// A program run once with one argument and empty stdin.
macro_rules! with_arg {
    ($arg:expr) => {
        &[Case {
            args: &[$arg],
            env: &[],
            stdin: Stdin::Empty,
        }]
    };
}

/// The C behaviour programs, built against one libc.
fn c_behaviour(libc: &str, tc: Toolchain) -> Vec<Program> {
    // `musl` says whether the musl build runs the same instructions
    // natively; every glibc build differs.
    let c = |name: &str, file: &'static str, cases, oracle, musl| {
        // Program names live for the whole run; leaking a few dozen short
        // strings once is simpler than threading owned names through.
        let name: &'static str = Box::leak(format!("c-{libc}-{name}").into_boxed_str());
        let stream = if libc == "glibc" {
            NativeStream::Differs(GLIBC_IFUNCS)
        } else {
            musl
        };
        c_program!(name, tc, file, cases, oracle, stream)
    };
    let native = |name, file, musl| c(name, file, ONCE, Oracle::Native, musl);
    use NativeStream::{Differs, Same, SameButLong};
    vec![
        native("sort", "tests/contracts/c/sort.c", SameButLong(420_600_000)),
        native(
            "strings",
            "conformance/corpus/c/strings.c",
            SameButLong(8_800_000),
        ),
        native("math", "tests/contracts/c/math.c", Same), // 984,517
        native(
            "malloc",
            "tests/contracts/c/malloc.c",
            SameButLong(1_748_000_000),
        ),
        c(
            "stdin",
            "tests/contracts/c/stdin.c",
            WITH_STDIN,
            Oracle::Native,
            Same,
        ),
        native(
            "big-output",
            "tests/contracts/c/bigout.c",
            SameButLong(161_800_000),
        ),
        native("stderr", "conformance/corpus/c/stderr.c", Same),
        native("memory-syscalls", "tests/contracts/c/mmap.c", Same),
        // memset of 32 MiB: 4.2 million `rep stosq` iterations.
        native("brk", "conformance/corpus/c/brk.c", SameButLong(4_242_179)),
        native(
            "memory-limit",
            "conformance/corpus/c/memory_limit.c",
            Differs(LIMITS_DIFFER),
        ),
        native("recursion", "conformance/corpus/c/recursion.c", Same),
        native("crash-null", "tests/contracts/c/crash_null.c", Same),
        native("crash-divide", "tests/contracts/c/crash_div.c", Same),
        native("crash-write-text", "tests/contracts/c/crash_text.c", Same),
        native("crash-ud2", "conformance/corpus/c/crash_ud2.c", Same),
        native("crash-abort", "tests/contracts/c/crash_abort.c", Same),
        native(
            "crash-stack-overflow",
            "conformance/corpus/c/crash_stack.c",
            Same,
        ),
        native("exit-code", "tests/contracts/c/exit_code.c", Same),
        // Floating point as the CPU does it: exception flags of every SSE
        // and x87 class, conversions, remainders, traps.
        native(
            "fp-flags",
            "conformance/corpus/c/fp_flags.c",
            SameButLong(496_000_000),
        ),
        native(
            "fp-libm",
            "conformance/corpus/c/fp_libm.c",
            SameButLong(41_700_000),
        ),
        // SHA-1 and SHA-256 with the SHA extensions (a hazard).
        // More than 20 million (a count stopped there): the million-'a'
        // vector also goes through the C implementation.
        native(
            "sha-ni",
            "conformance/corpus/c/sha_ni.c",
            SameButLong(20_000_000),
        ),
        native(
            "long-double-libm",
            "conformance/corpus/c/long_double_libm.c",
            Differs(X87_HAZARD),
        ),
        c(
            "fp-trap-sse-masked",
            "conformance/corpus/c/fp_trap.c",
            with_arg!("sse-masked"),
            Oracle::Native,
            Same,
        ),
        c(
            "fp-trap-sse-divide-by-zero",
            "conformance/corpus/c/fp_trap.c",
            with_arg!("sse-divide-by-zero"),
            Oracle::Native,
            Same,
        ),
        c(
            "fp-trap-sse-inexact",
            "conformance/corpus/c/fp_trap.c",
            with_arg!("sse-inexact"),
            Oracle::Native,
            Same,
        ),
        c(
            "fp-trap-sse-denormal",
            "conformance/corpus/c/fp_trap.c",
            with_arg!("sse-denormal"),
            Oracle::Native,
            Same,
        ),
        c(
            "fp-trap-sse-flag-set-before-unmask",
            "conformance/corpus/c/fp_trap.c",
            with_arg!("sse-flag-set-before-unmask"),
            Oracle::Native,
            Same,
        ),
        c(
            "fp-trap-x87-divide-by-zero",
            "conformance/corpus/c/fp_trap.c",
            with_arg!("x87-divide-by-zero"),
            Oracle::Native,
            Same,
        ),
        c(
            "fp-trap-x87-fwait",
            "conformance/corpus/c/fp_trap.c",
            with_arg!("x87-fwait"),
            Oracle::Native,
            Same,
        ),
        c(
            "fp-trap-x87-fldcw-unmasks",
            "conformance/corpus/c/fp_trap.c",
            with_arg!("x87-fldcw-unmasks"),
            Oracle::Native,
            Same,
        ),
        c(
            "fp-trap-ldmxcsr-reserved",
            "conformance/corpus/c/fp_trap.c",
            with_arg!("ldmxcsr-reserved"),
            Oracle::Native,
            Same,
        ),
        c(
            "fp-trap-fxrstor-reserved",
            "conformance/corpus/c/fp_trap.c",
            with_arg!("fxrstor-reserved"),
            Oracle::Native,
            Same,
        ),
        c(
            "entropy-and-time",
            "tests/contracts/c/entropy.c",
            ONCE,
            Oracle::Golden,
            Differs(BLOCK_CONTEXT),
        ),
    ]
}

/// The Rust behaviour programs (`corpus/rust/*.rs` beside the language
/// contract), static-pie, rustc's default. The crash program takes the way
/// to die as its argument.
fn rust_behaviour() -> Vec<Program> {
    let rust = |name, file, cases, oracle| Program {
        name,
        language: "Rust",
        toolchain: toolchain::RUST,
        source: file,
        cases,
        oracle,
        native_stream: NativeStream::Differs(GLIBC_IFUNCS),
    };
    let native = |name, file| rust(name, file, ONCE, Oracle::Native);
    let crash = |name, cases| {
        rust(
            name,
            "conformance/corpus/rust/crash.rs",
            cases,
            Oracle::Native,
        )
    };
    vec![
        native("rust-sort", "conformance/corpus/rust/sort.rs"),
        native("rust-strings", "conformance/corpus/rust/strings.rs"),
        native("rust-math", "conformance/corpus/rust/math.rs"),
        native("rust-malloc", "conformance/corpus/rust/malloc.rs"),
        native("rust-big-output", "conformance/corpus/rust/big_output.rs"),
        native("rust-stderr", "conformance/corpus/rust/stderr.rs"),
        native(
            "rust-memory-syscalls",
            "conformance/corpus/rust/memory_syscalls.rs",
        ),
        native(
            "rust-memory-limit",
            "conformance/corpus/rust/memory_limit.rs",
        ),
        native("rust-recursion", "conformance/corpus/rust/recursion.rs"),
        crash("rust-crash-null", with_arg!("null")),
        crash("rust-crash-divide", with_arg!("divide")),
        crash("rust-crash-write-text", with_arg!("write-text")),
        crash("rust-crash-ud2", with_arg!("ud2")),
        crash("rust-crash-abort", with_arg!("abort")),
        crash("rust-crash-stack-overflow", with_arg!("stack-overflow")),
        crash("rust-crash-panic", with_arg!("panic")),
        rust(
            "rust-entropy-and-time",
            "conformance/corpus/rust/entropy.rs",
            ONCE,
            Oracle::Golden,
        ),
    ]
}

/// Why a threaded program's native instruction stream is not qvm's.
const THREAD_SCHEDULE: &str = "threads: the host interleaves them by wall-clock time on several CPUs, qvm by instruction counts on one, so each thread runs other instructions (lock retries, futex waits, spins)";
/// Why a program that prints the host's pid differs.
const HOST_PID: &str = "formats the host's pid into a file name: its digits steer snprintf";
/// Why the signal programs' native counts are no oracle yet.
const HANDLERS_UNCOUNTED: &str = "its signal handlers run natively, and the native counter compares a run only up to its first signal (qvm ran no handlers when it was written)";

/// Programs that start threads, take signals or create files: issue 12's
/// corpus (Go, the 12th language, std::thread in Rust and C++, pthreads
/// on glibc and musl, GHC's threaded runtime, signal handlers, /tmp and
/// /dev/shm). Not in [`programs`] until qvm's kernel runs them;
/// `tests/threaded_native.rs` runs each natively meanwhile.
pub fn threaded_programs() -> Vec<Program> {
    use toolchain::*;
    const SPIN_CASES: &[Case] = &[
        ONCE[0],
        // One P: only sysmon's preemption (SIGURG) lets main run.
        Case {
            args: &[],
            env: &[("GOMAXPROCS", "1")],
            stdin: Stdin::Empty,
        },
    ];
    let program = |name, language, toolchain, source, cases, oracle, reason| Program {
        name,
        language,
        toolchain,
        source,
        cases,
        oracle,
        native_stream: NativeStream::Differs(reason),
    };
    let go =
        |name, file, cases, oracle| program(name, "Go", GO, file, cases, oracle, THREAD_SCHEDULE);
    let threaded = |name, language, tc, file| {
        program(
            name,
            language,
            tc,
            file,
            ONCE,
            Oracle::Native,
            THREAD_SCHEDULE,
        )
    };
    let mut out = vec![
        go(
            "go-hello",
            "conformance/corpus/go/hello.go",
            ONCE,
            Oracle::Native,
        ),
        go(
            "go-goroutines",
            "conformance/corpus/go/goroutines.go",
            ONCE,
            Oracle::Native,
        ),
        go("go-gc", "conformance/corpus/go/gc.go", ONCE, Oracle::Native),
        go(
            "go-recover",
            "conformance/corpus/go/recover.go",
            ONCE,
            Oracle::Native,
        ),
        go(
            "go-spin",
            "conformance/corpus/go/spin.go",
            SPIN_CASES,
            Oracle::Native,
        ),
        go(
            "go-rand",
            "conformance/corpus/go/rand.go",
            ONCE,
            Oracle::Golden,
        ),
        threaded(
            "rust-threads",
            "Rust",
            RUST,
            "conformance/corpus/rust/threads.rs",
        ),
        threaded(
            "cpp-threads",
            "C++",
            CPP,
            "conformance/corpus/cpp/threads.cpp",
        ),
        threaded(
            "haskell-threaded",
            "Haskell",
            HASKELL_THREADED,
            "conformance/corpus/haskell/threaded.hs",
        ),
    ];
    for (libc, tc) in [("glibc", C_GLIBC), ("musl", C_MUSL)] {
        let name = |what: &str| -> &'static str {
            // Leaked once per run, as in c_behaviour.
            Box::leak(format!("c-{libc}-{what}").into_boxed_str())
        };
        let single = |reason| {
            if libc == "glibc" {
                GLIBC_IFUNCS
            } else {
                reason
            }
        };
        out.extend([
            threaded(name("pthreads"), "C", tc, "conformance/corpus/c/pthreads.c"),
            threaded(name("sem-open"), "C", tc, "conformance/corpus/c/sem_open.c"),
            program(
                name("signals"),
                "C",
                tc,
                "conformance/corpus/c/signals.c",
                ONCE,
                Oracle::Native,
                single(HANDLERS_UNCOUNTED),
            ),
            program(
                name("tmpfiles"),
                "C",
                tc,
                "conformance/corpus/c/tmpfiles.c",
                ONCE,
                Oracle::Native,
                single(HOST_PID),
            ),
        ]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_sources_exist() {
        let progs = programs();
        let mut names: Vec<_> = progs.iter().map(|p| p.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), progs.len());
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
        for p in &progs {
            assert!(
                std::path::Path::new(root).join(p.source).exists(),
                "{}",
                p.source
            );
        }
        let languages: std::collections::BTreeSet<_> = progs.iter().map(|p| p.language).collect();
        assert!(languages.len() >= 11, "{languages:?}");
    }

    /// Only toolchains without CPUID-dependent start-up (musl C, Zig) may
    /// claim the native instruction stream; every glibc build differs.
    #[test]
    fn native_streams_follow_the_toolchain() {
        for p in programs() {
            let claims = !matches!(p.native_stream, NativeStream::Differs(_));
            let cpuid_free = ["c-musl", "zig"].contains(&p.toolchain.name);
            assert!(!claims || cpuid_free, "{} ({})", p.name, p.toolchain.name);
            if p.oracle == Oracle::Golden {
                assert!(!claims, "{}", p.name);
            }
        }
        let same = programs()
            .iter()
            .filter(|p| p.native_stream == NativeStream::Same)
            .count();
        assert!(same >= 20, "{same}");
    }

    /// The threaded corpus joins the main one but for what qvm does not
    /// run yet, names no program twice, and only its randomness program
    /// needs a golden file.
    #[test]
    fn threaded_programs_join_the_corpus() {
        let main: std::collections::BTreeSet<_> = programs().iter().map(|p| p.name).collect();
        let threaded = threaded_programs();
        let mut names: Vec<_> = threaded.iter().map(|p| p.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), threaded.len());
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
        for p in &threaded {
            assert_eq!(
                main.contains(p.name),
                not_yet(p.name).is_none(),
                "{}",
                p.name
            );
            assert!(
                std::path::Path::new(root).join(p.source).exists(),
                "{}",
                p.source
            );
            // No native instruction stream is claimed for any of them.
            assert!(
                matches!(p.native_stream, NativeStream::Differs(_)),
                "{}",
                p.name
            );
        }
        let golden: Vec<_> = threaded
            .iter()
            .filter(|p| p.oracle == Oracle::Golden)
            .map(|p| p.name)
            .collect();
        assert_eq!(golden, ["go-rand"]);
        assert!(threaded.iter().any(|p| p.language == "Go"));
    }

    #[test]
    fn generated_stdin() {
        assert_eq!(Stdin::Lines(2).bytes(), b"line 0\nline 1\n");
        let big = Stdin::Big(1000).bytes();
        assert_eq!(big.len(), 1000);
        assert_ne!(big.last(), Some(&b'\n'));
    }
}
