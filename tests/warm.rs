//! Warm equals cold: a contract loaded once and called many times gives
//! each call exactly the outcome of a cold `qvm run` of it (whole
//! `Outcome`s compared), whatever the calls before it did: markers left
//! in memory and files, odd CPU state, code written at run time, calls
//! killed out of gas, by the host's timeout, or by a fault. On every
//! backend; on KVM each cold outcome must also equal the emulator's.

mod support;

use qvm::runtime::{Runtime, RuntimeOptions};
use qvm::{BackendChoice, BlockContext, Call, CallSpec, Outcome};
use qvm_conformance::compare::outcome_difference;
use std::path::{Path, PathBuf};
use std::time::Duration;
use support::*;

/// One call of a sequence.
#[derive(Clone)]
struct Step {
    args: Vec<String>,
    stdin: Vec<u8>,
    block: BlockContext,
    gas_limit: Option<u64>,
    timeout: Option<Duration>,
}

impl Step {
    fn new(args: &[&str]) -> Self {
        Step {
            args: args.iter().map(|a| a.to_string()).collect(),
            stdin: Vec::new(),
            block: BLOCK_A,
            gas_limit: Some(10_000_000_000),
            timeout: Some(qvm_conformance::runner::CALL_TIMEOUT),
        }
    }

    fn stdin(mut self, bytes: &[u8]) -> Self {
        self.stdin = bytes.to_vec();
        self
    }

    fn block(mut self, block: BlockContext) -> Self {
        self.block = block;
        self
    }

    fn gas(mut self, limit: u64) -> Self {
        self.gas_limit = Some(limit);
        self
    }

    fn timeout(mut self, t: Duration) -> Self {
        self.timeout = Some(t);
        self
    }

    /// The call on `backend`: KVM cannot meter (docs/gas.md).
    fn call(&self, backend: Backend) -> Call {
        Call {
            args: self.args.iter().map(|a| a.as_bytes().to_vec()).collect(),
            env: vec![b"WHO=warm".to_vec()],
            stdin: self.stdin.clone(),
            block: self.block,
            trace: true,
            gas_limit: match backend {
                Backend::Emu => self.gas_limit,
                Backend::Kvm => None,
            },
            timeout: self.timeout,
        }
    }
}

const BLOCK_A: BlockContext = BlockContext {
    prev_hash: [0x11; 32],
    timestamp: 1_700_000_000,
};
const BLOCK_B: BlockContext = BlockContext {
    prev_hash: [0xe7; 32],
    timestamp: 1_234_567_890,
};

const MEMORY: u64 = 64 << 20;

fn choice(backend: Backend) -> BackendChoice {
    match backend {
        Backend::Emu => BackendChoice::Emu,
        Backend::Kvm => BackendChoice::Kvm,
    }
}

/// A cold call: the contract loaded for it alone (what `qvm run` does).
/// On KVM the emulator must agree (everything but gas).
fn cold(backend: Backend, bin: &Path, step: &Step) -> Outcome {
    let spec = spec(bin, step.call(backend));
    let outcome = qvm::run(&spec, choice(backend)).unwrap();
    if backend == Backend::Kvm {
        let emu = qvm::run(
            &self::spec(bin, step.call(Backend::Emu)),
            BackendChoice::Emu,
        )
        .unwrap();
        assert_eq!(
            outcome_difference(&emu, &outcome),
            None,
            "emu and kvm disagree on a cold call {:?}",
            step.args
        );
    }
    outcome
}

fn spec(bin: &Path, call: Call) -> CallSpec {
    let program = std::fs::read(bin).unwrap();
    let name = bin.file_name().unwrap().to_string_lossy().into_owned();
    let mut spec = CallSpec::new(program, name);
    spec.memory_limit = MEMORY;
    spec.call = call;
    spec
}

/// Runs `steps` one after another on one runtime (one loaded contract)
/// and returns their outcomes; every step whose outcome is deterministic
/// (not ended by the host's timeout) must equal its cold call's.
fn warm_equals_cold(backend: Backend, bin: &Path, steps: &[Step]) -> Vec<Outcome> {
    let mut runtime = Runtime::new(RuntimeOptions {
        backend: choice(backend),
        memory_limit: MEMORY,
        max_loaded: std::num::NonZeroUsize::MIN,
    });
    let program = std::fs::read(bin).unwrap();
    let name = bin.file_name().unwrap().to_string_lossy().into_owned();
    let contract = runtime.load(&name, program).unwrap();
    let mut outcomes = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        let warm = runtime.call(&contract, &step.call(backend)).unwrap();
        if !warm.timed_out() {
            let cold = cold(backend, bin, step);
            assert!(
                warm == cold,
                "{}: call {} {:?} warm differs from cold: {:?}\nwarm stdout: {}\ncold stdout: {}\nwarm: {:?}\ncold: {:?}",
                name,
                i + 1,
                step.args,
                outcome_difference(&cold, &warm),
                String::from_utf8_lossy(&warm.stdout),
                String::from_utf8_lossy(&cold.stdout),
                short(&warm),
                short(&cold),
            );
        }
        outcomes.push(warm);
    }
    outcomes
}

/// An outcome without its trace and output, for messages.
fn short(o: &Outcome) -> String {
    format!(
        "exit {:?} signal {:?} fault {:?} kill {:?} syscalls {} gas {:?}",
        o.exit_code, o.signal, o.fault, o.kill_reason, o.syscalls, o.gas
    )
}

fn text(o: &Outcome) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// `gcc -static` with extra flags, as a toolchain of its own.
fn build_c(source: &str, toolchain: Toolchain) -> Option<PathBuf> {
    build(toolchain, source)
}

const C_EXECSTACK: Toolchain = Toolchain {
    name: "c-glibc-execstack",
    probe: &["gcc", "--version"],
    build: &[
        "gcc",
        "-static",
        "-O2",
        "-z",
        "execstack",
        "-o",
        "{out}",
        "{src}",
    ],
    env: &[],
};

const C_NOLIBC: Toolchain = Toolchain {
    name: "c-nolibc",
    probe: &["gcc", "--version"],
    build: &[
        "gcc",
        "-static",
        "-nostdlib",
        "-nostartfiles",
        "-fno-builtin",
        "-fno-stack-protector",
        "-O2",
        "-o",
        "{out}",
        "{src}",
    ],
    env: &[],
};

on_every_backend! {
    fn a_warm_call_finds_nothing_an_earlier_call_left(backend) {
        let Some(bin) = build_c("warm/isolation.c", C_GLIBC) else { return };
        let write = Step::new(&["write", "left-by-call-1"]).block(BLOCK_B);
        let search = Step::new(&["search", "left-by-call-1"]);
        let o = warm_equals_cold(backend, &bin, &[write.clone(), search.clone(), write, search]);
        // The search works: the call that wrote the marker finds it
        // everywhere it put it.
        assert!(
            text(&o[0]).contains(
                "marker found in: heap-small heap-large brk brk-top mmap data+bss stack file\n"
            ),
            "{}",
            text(&o[0])
        );
        assert!(text(&o[0]).contains("open gave fd 3"), "{}", text(&o[0]));
        for warm in [&o[1], &o[3]] {
            let t = text(warm);
            assert!(t.contains("marker found in: nothing\n"), "{t}");
            assert!(t.contains("fd 3 at start: -1 (errno 9); file existed: 0; /tmp entries: 0"), "{t}");
        }
        // Other block, other randomness and clock: the writer's are not
        // the searcher's, and the searcher's are a cold call's (above).
        let random = |o: &Outcome| text(o).lines().find(|l| l.starts_with("getrandom")).map(String::from);
        assert_ne!(random(&o[0]), random(&o[1]));
    }
}
